"""Migration 0006 on a database that already has workers, clocks and assignments (as the
non-superuser owner a deployment migrates with): every assignment becomes USER, every stored
profile gains ``"cards": []`` in its sorted place, so the profile a clock receives is exactly
``canonical({**profile, "clock_role": ...})`` and the roster digests agree."""

import json
import uuid

import asyncpg
from punchcard_device_sync.domain.model import ClockRole, WorkerFacts, canonical, clock_profile
from punchcard_kit.migrations import upgrade_async

from tests.support.databases import admin_url, drop_database, new_database

PACKAGE = "punchcard_device_sync"


async def test_existing_profiles_gain_cards_and_assignments_are_users():
    url = await new_database("device-sync")
    try:
        await upgrade_async(url, PACKAGE, "0003_owner_roles")
        tenant, clock, worker = (str(uuid.uuid4()) for _ in range(3))
        facts = WorkerFacts(worker, "E1", 'Zoë "Z" Ünal', "Active", pin_set=True)
        before = {k: v for k, v in facts.profile().items() if k != "cards"}  # as 0002 stored it
        conn = await asyncpg.connect(admin_url(url))
        try:
            await conn.execute(
                "INSERT INTO clocks (id, tenant_id, serial_number, name, time_zone)"
                " VALUES ($1, $2, 'SN', 'Door', 'UTC')",
                clock,
                tenant,
            )
            await conn.execute(
                "INSERT INTO workers (id, tenant_id, employee_id, display_name, status, profile)"
                " VALUES ($1, $2, 'E1', $3, 'Active', $4)",
                worker,
                tenant,
                facts.display_name,
                canonical(before),
            )
            await conn.execute(
                "INSERT INTO assignments (clock_id, worker_id, tenant_id, direct)"
                " VALUES ($1, $2, $3, true)",
                clock,
                worker,
                tenant,
            )
        finally:
            await conn.close()

        await upgrade_async(url, PACKAGE, "head")

        conn = await asyncpg.connect(admin_url(url))
        try:
            profile = await conn.fetchval("SELECT profile FROM workers WHERE id = $1", worker)
            role = await conn.fetchval(
                "SELECT clock_role FROM assignments WHERE worker_id = $1", worker
            )
            cards = await conn.fetchval("SELECT cards FROM workers WHERE id = $1", worker)
            forced = await conn.fetchval(
                "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'workers'"
            )
        finally:
            await conn.close()
        assert profile == canonical(facts.profile())
        assert json.loads(profile)["cards"] == []
        assert role == "USER" and cards == []
        assert forced is True  # row-level security is forced again
        on_clock = clock_profile(profile, ClockRole.USER)
        assert on_clock == canonical({**facts.profile(), "clock_role": "USER"})
    finally:
        await drop_database(url)
