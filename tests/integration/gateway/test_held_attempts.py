"""Kiosk attempts held until their outcome, on real PostgreSQL (a database of this module's own,
migrated like the gateway's, so no running reconciler touches it):

- the claim holds the attempt's outbox record byte for byte, in the claim's transaction;
- the due attempts of every tenant are found, ids only; each tenant's held rows stay invisible
  to another tenant (RLS);
- republishing puts the same record (same event id) in the outbox again, once per look even when
  two replicas try;
- the outcome deletes the held copy; giving up deletes it too, and the claim counts as
  abandoned;
- the stats count held attempts, the oldest arrival and the abandoned claims."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from punchcard.v1 import punch_pb2
from punchcard_gateway.adapters.postgres import PostgresKioskAttempts
from punchcard_gateway.domain.kiosk import Claim, RepublishPolicy
from punchcard_kit.db import create_pool
from punchcard_kit.messaging import new_envelope
from punchcard_kit.migrations import upgrade_async

from tests.support.databases import admin_url, drop_database, new_database, role_of

DUE_AT_ONCE = RepublishPolicy(
    after=timedelta(0), max_interval=timedelta(hours=6), hold=timedelta(days=7)
)
LATER = RepublishPolicy(
    after=timedelta(minutes=5), max_interval=timedelta(hours=6), hold=timedelta(days=7)
)


HELD_CAP = 100_000  # what the gauges count at most (migration 0009)


@pytest.fixture(scope="module")
async def dsn():
    """The gateway's database, owned by its own non-superuser login role (as production)."""
    dsn = await new_database("gateway", "gw_held_test")
    await upgrade_async(dsn, "punchcard_gateway")
    yield dsn
    await drop_database(dsn)


@pytest.fixture
async def pool(dsn):
    pool = await create_pool(dsn, min_size=1, max_size=4)
    yield pool
    await pool.close()


def claim_of(tenant_id: str, received_at: datetime | None = None) -> Claim:
    return Claim(
        tenant_id=tenant_id,
        attempt_id=str(uuid.uuid4()),
        clock_id="clock-1",
        method="FACE",
        fingerprint=hashlib.sha256(uuid.uuid4().bytes).digest(),
        received_at=received_at or datetime.now(UTC),
    )


def event_of(claim: Claim):
    from google.protobuf import wrappers_pb2

    envelope = new_envelope(
        wrappers_pb2.BytesValue(value=b"\xff\xd8\xff a frame"),
        tenant_id=claim.tenant_id,
        producer="gateway",
        correlation_id=claim.attempt_id,
    )
    return ("punchcard.kiosk.face-attempts.v1", f"{claim.tenant_id}/clock-1", envelope)


async def outbox_for(dsn: str, event_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(
            "SELECT topic, key, value, headers FROM outbox WHERE event_id = $1 ORDER BY id",
            uuid.UUID(event_id),
        )
    finally:
        await conn.close()


async def test_a_claim_holds_its_record_and_republishing_repeats_it_exactly(dsn, pool):
    store = PostgresKioskAttempts(pool, DUE_AT_ONCE)
    tenant = str(uuid.uuid4())
    claim = claim_of(tenant)
    event = event_of(claim)
    assert await store.claim(claim, [event]) is None
    [first] = await outbox_for(dsn, event[2].event_id)

    assert (tenant, claim.attempt_id) in await store.due(1000)
    held = await store.held(tenant, claim.attempt_id)
    assert held is not None and held.published == 1 and held.clock_id == "clock-1"

    later = datetime.now(UTC) + timedelta(minutes=5)
    assert await store.republish(tenant, claim.attempt_id, 1, later)
    # A second replica that read the attempt before the republish finds it published already.
    assert not await store.republish(tenant, claim.attempt_id, 1, later)
    rows = await outbox_for(dsn, event[2].event_id)
    assert len(rows) == 2 and dict(rows[1]) == dict(first)  # the same record, byte for byte
    assert (tenant, claim.attempt_id) not in await store.due(1000)  # next look is later
    assert (await store.held(tenant, claim.attempt_id)).published == 2

    # The outcome deletes the held copy.
    await store.save_outcome(tenant, claim.attempt_id, punch_pb2.PunchRecorded(attempt_id="x"))
    assert await store.held(tenant, claim.attempt_id) is None
    # ... and is kept with the claim; the first outcome stays.
    await store.save_outcome(tenant, claim.attempt_id, punch_pb2.PunchRecorded(attempt_id="y"))
    assert (await store.get(tenant, claim.attempt_id)).outcome.attempt_id == "x"
    conn = await asyncpg.connect(admin_url(dsn))
    try:
        left = await conn.fetchval(
            "SELECT count(*) FROM kiosk_held_attempts WHERE attempt_id = $1",
            uuid.UUID(claim.attempt_id),
        )
    finally:
        await conn.close()
    assert left == 0


async def test_due_attempts_of_every_tenant_but_each_tenant_sees_only_its_own(dsn, pool):
    store = PostgresKioskAttempts(pool, DUE_AT_ONCE)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    claim_a, claim_b = claim_of(a), claim_of(b)
    for claim in (claim_a, claim_b):
        assert await store.claim(claim, [event_of(claim)]) is None
    due = await store.due(1000)
    assert (a, claim_a.attempt_id) in due and (b, claim_b.attempt_id) in due
    assert await store.held(b, claim_a.attempt_id) is None  # another tenant's: invisible

    conn = await asyncpg.connect(admin_url(dsn))
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)",
                await role_of(conn),
                b,
            )
            seen = {r[0] for r in await conn.fetch("SELECT tenant_id FROM kiosk_held_attempts")}
        assert seen == {uuid.UUID(b)}
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('role', $1, true), set_config('app.tenant_id', '', true)",
                await role_of(conn),
            )
            assert await conn.fetchval("SELECT count(*) FROM kiosk_held_attempts") == 0
    finally:
        await conn.close()


async def test_an_attempt_not_yet_due_is_not_listed(pool):
    store = PostgresKioskAttempts(pool, LATER)
    tenant = str(uuid.uuid4())
    claim = claim_of(tenant)
    assert await store.claim(claim, [event_of(claim)]) is None
    assert (tenant, claim.attempt_id) not in await store.due(1000)


async def test_giving_up_deletes_the_copy_and_the_claim_counts_as_abandoned(dsn):
    # A database of this test's own, so the counts are exact.
    own = await new_database("gateway", "gw_held_stats")
    await upgrade_async(own, "punchcard_gateway")
    pool = await create_pool(own, min_size=1, max_size=2)
    try:
        store = PostgresKioskAttempts(pool, DUE_AT_ONCE)
        assert await store.held_stats() == (0, None, 0)
        tenant = str(uuid.uuid4())
        old = claim_of(tenant, datetime.now(UTC) - timedelta(hours=3))
        new = claim_of(tenant)
        for claim in (old, new):
            assert await store.claim(claim, [event_of(claim)]) is None
        held, oldest, abandoned = await store.held_stats()
        assert (held, abandoned) == (2, 0) and oldest == old.received_at
        assert await store.give_up(tenant, old.attempt_id)
        assert not await store.give_up(tenant, old.attempt_id)
        assert await store.held_stats() == (1, new.received_at, 1)
    finally:
        await pool.close()
        await drop_database(own)


async def test_pruning_a_claim_deletes_its_held_copy_too(dsn, pool):
    store = PostgresKioskAttempts(pool, LATER)
    tenant = str(uuid.uuid4())
    claim = claim_of(tenant, datetime.now(UTC) - timedelta(days=45))
    assert await store.claim(claim, [event_of(claim)]) is None
    assert await store.held(tenant, claim.attempt_id) is not None
    assert await store.prune(30) >= 1
    assert await store.held(tenant, claim.attempt_id) is None
    assert await store.get(tenant, claim.attempt_id) is None


_OUTAGE = """
WITH a AS (
    INSERT INTO kiosk_attempts (tenant_id, attempt_id, clock_id, method, fingerprint, received_at)
    SELECT $1, gen_random_uuid(), 'clock-1', 'PIN', sha256(n::text::bytea),
           $2::timestamptz + make_interval(secs => n)
    FROM generate_series(1, $3) AS n
    RETURNING tenant_id, attempt_id, received_at
)
INSERT INTO kiosk_held_attempts (tenant_id, attempt_id, topic, value, headers, event_id,
                                 received_at, next_check_at)
SELECT tenant_id, attempt_id, 'punchcard.kiosk.pin-attempts.v1', '\\x00', '{}',
       gen_random_uuid(), received_at, received_at
FROM a
"""


async def test_the_gauges_count_an_outage_up_to_their_cap():
    """An outage's backlog past the cap reads as the cap ("at least": migration 0009), so a
    reconciler's turn never reads the whole held table; the oldest arrival stays exact."""
    own = await new_database("gateway", "gw_held_cap")
    await upgrade_async(own, "punchcard_gateway")
    pool = await create_pool(own, min_size=1, max_size=2)
    try:
        first = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        admin = await asyncpg.connect(admin_url(own))
        try:
            await admin.execute(_OUTAGE, uuid.uuid4(), first, HELD_CAP + 10)
        finally:
            await admin.close()
        store = PostgresKioskAttempts(pool, DUE_AT_ONCE)
        held, oldest, abandoned = await store.held_stats()
        assert (held, abandoned) == (HELD_CAP, 0)
        assert oldest == first + timedelta(seconds=1)
    finally:
        await pool.close()
        await drop_database(own)
