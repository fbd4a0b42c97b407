"""An attempt's ``decided_at`` comes after its decision (migration 0011): punch decides a batch
inside its transaction, after reading what it decides on, so the row's time is taken when the
row is written, not when the transaction began (``now()``), which would put a punch that waited
out its evidence check a few milliseconds before the wait had passed."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from punchcard_punch.adapters.ledger import PostgresLedger

DECIDING_S = 0.25  # the reads and the decision between the transaction's start and the insert


async def test_an_attempt_is_stamped_when_written_not_when_its_transaction_began(punch):
    tenant, attempt = str(uuid.uuid4()), str(uuid.uuid4())
    conn = await asyncpg.connect(punch.admin_url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            began = await conn.fetchval("SELECT now()")
            await asyncio.sleep(DECIDING_S)
            await PostgresLedger(conn, tenant).insert_attempts(
                [
                    {
                        "tenant_id": tenant,
                        "attempt_id": attempt,
                        "outcome": "REJECTED",
                        "reason": "NO_MATCH",
                        "event_type": "punchcard.v1.PunchRejected",
                        "event": b"\x00",
                    }
                ]
            )
            decided = await conn.fetchval(
                "SELECT decided_at FROM attempts WHERE tenant_id = $1 AND attempt_id = $2",
                tenant,
                attempt,
            )
            assert (decided - began).total_seconds() >= DECIDING_S
        finally:
            await transaction.rollback()  # nothing left behind: the ledger is append-only
    finally:
        await conn.close()
