"""punch's PostgreSQL unit of work: the kit's tenant transaction (row-level security and the
outbox) with punch's repositories attached. ``on_pool`` for an HTTP request,
``on_connection`` inside a consumer's batch transaction (or an unparker's claim)."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from punchcard_kit.unit_of_work import TenantUnitOfWork

from .ledger import PostgresLedger, PostgresProjections, PostgresPunchSettings
from .parked import PostgresParked


class PunchUnitOfWork(TenantUnitOfWork):
    ledger: PostgresLedger
    projections: PostgresProjections
    parked: PostgresParked
    settings: PostgresPunchSettings

    def _bind(self, conn: asyncpg.Connection) -> None:
        tenant_id = str(self.tenant_id)
        self.ledger = PostgresLedger(conn, tenant_id)
        self.projections = PostgresProjections(conn, tenant_id)
        self.parked = PostgresParked(conn, tenant_id, self.role)
        self.settings = PostgresPunchSettings(conn, tenant_id)


def unit_of_work_factory(pool: asyncpg.Pool) -> Callable[[str], PunchUnitOfWork]:
    """A unit of work per HTTP request (its own connection and transaction)."""

    def open_unit_of_work(tenant_id: str) -> PunchUnitOfWork:
        return PunchUnitOfWork.on_pool(pool, tenant_id)

    return open_unit_of_work
