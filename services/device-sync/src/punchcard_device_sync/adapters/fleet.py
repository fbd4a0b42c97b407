"""The fleet's gauges for /metrics: ``device_sync_clocks{protocol, status}``, how many clocks
in service (not revoked) are online, offline or never seen (the rule:
``domain.model.clock_status``), summed over every tenant (no tenant label: its values are
unbounded). Each replica computes the same totals from the database (alerts take their max).
Clocks are read tenant by tenant (RLS), in one read-only transaction; the tenants are those
with a clock credential or a ZK device (the two tables read before a tenant is known)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from prometheus_client import Gauge
from punchcard_kit.tenancy import enter_tenant

from ..domain.model import ClockStatus, fleet_tally
from .postgres import APP_ROLE

CLOCKS = Gauge(
    "device_sync_clocks",
    "Clocks in service by protocol and status (online: a request within CLOCK_OFFLINE_AFTER_S)",
    ["protocol", "status"],
)
_TENANTS = "SELECT tenant_id FROM clock_credentials UNION SELECT tenant_id FROM zk_devices"
_CLOCKS = """
SELECT c.protocol, c.revoked_at IS NOT NULL AS revoked, h.last_seen_at, now() AS now
FROM clocks c LEFT JOIN clock_heartbeats h ON h.clock_id = c.id
WHERE c.revoked_at IS NULL
"""


async def sample_fleet(
    pool: asyncpg.Pool, offline_after: timedelta
) -> dict[tuple[str, ClockStatus], int]:
    """Set ``device_sync_clocks`` from the database; returns the tally."""
    rows: list[tuple[str, bool, object]] = []
    now = None
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        for (tenant_id,) in await conn.fetch(_TENANTS):
            await enter_tenant(conn, APP_ROLE, tenant_id)
            for row in await conn.fetch(_CLOCKS):
                rows.append((row["protocol"], row["revoked"], row["last_seen_at"]))
                now = row["now"]
    tally = fleet_tally(rows, now, offline_after) if now is not None else {}
    CLOCKS.clear()  # a protocol no clock uses any more leaves no stale series (no await here)
    for (protocol, status), count in tally.items():
        CLOCKS.labels(protocol, str(status)).set(count)
    return tally
