"""PostgreSQL repositories for the ledger, the decided attempts and the projections
(``service_layer/unit_of_work.py`` names what they offer). Each works on the connection of a
tenant transaction (``adapters/postgres.py``): row-level security binds it to one tenant, and
every statement filters by tenant as well. Batch methods take arrays and make one round trip,
whatever the batch size."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from punchcard_kit.assignments import AssignmentChange, apply_assignment

from ..domain.decisions import Nearby

# The ledger's columns in the order batch inserts pass them (each with its array type).
PUNCH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "uuid"),
    ("tenant_id", "uuid"),
    ("kind", "text"),
    ("worker_id", "uuid"),
    ("employee_id", "text"),
    ("display_name", "text"),
    ("clock_id", "uuid"),
    ("site_id", "text"),
    ("time_zone", "text"),
    ("direction", "text"),
    ("direction_inferred", "boolean"),
    ("method", "text"),
    ("face_distance", "real"),
    ("face_margin", "real"),
    ("face_threshold", "real"),
    ("face_model", "text"),
    ("face_one_to_one", "boolean"),
    ("punched_at", "timestamptz"),
    ("received_at", "timestamptz"),
    ("captured_offline", "boolean"),
    ("needs_review", "boolean"),
    ("attempt_id", "uuid"),
    ("refers_to", "uuid"),
    ("reason", "text"),
    ("admin_id", "uuid"),
    ("device_verify_mode", "integer"),
    ("device_state", "integer"),
)
# NOT NULL columns with a default: an unnest() insert passes NULL for a missing key otherwise.
_PUNCH_DEFAULTS = {
    "direction_inferred": False,
    "captured_offline": False,
    "needs_review": False,
    "site_id": "",
}
# One array of composite rows (type ``punch_row``, migration 0008, these columns in this
# order): asyncpg checks and frames one element per row, not one per cell of 27 arrays.
_PUNCH_NAMES = tuple(c for c, _ in PUNCH_COLUMNS)
_PUNCH_FILL = tuple(_PUNCH_DEFAULTS.get(c) for c in _PUNCH_NAMES)
_CLAIM_REQUEST = (
    "INSERT INTO correction_requests (tenant_id, idempotency_key, fingerprint, punch_id)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true"
)
_FIRST_REQUEST = (
    "SELECT fingerprint, punch_id FROM correction_requests"
    " WHERE tenant_id = $1 AND idempotency_key = $2"
)
_INSERT_PUNCHES = (
    f"INSERT INTO punches ({', '.join(_PUNCH_NAMES)}) SELECT * FROM unnest($1::punch_row[])"
)
ATTEMPT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("tenant_id", "uuid"),
    ("attempt_id", "uuid"),
    ("clock_id", "uuid"),
    ("outcome", "text"),
    ("punch_id", "uuid"),
    ("reason", "text"),
    ("event_type", "text"),
    ("event", "bytea"),
)
_ATTEMPT_NAMES = tuple(c for c, _ in ATTEMPT_COLUMNS)
_INSERT_ATTEMPTS = (  # type ``attempt_row`` (migration 0008)
    f"INSERT INTO attempts ({', '.join(_ATTEMPT_NAMES)}) SELECT * FROM unnest($1::attempt_row[])"
)

# Effective punches: not VOID, and not voided by a VOID entry.
_EFFECTIVE = (
    "p.kind <> 'VOID' AND NOT EXISTS"
    " (SELECT 1 FROM punches v WHERE v.kind = 'VOID' AND v.refers_to = p.id)"
)

# The three statements a verdict batch runs on tables that grow with every punch (the
# neighbours of its workers' punches, its attempts decided or parked, the punches it refers to):
# with the tables' statistics each is an index probe per element of the batch
# (tests/integration/punch/test_ledger_plans.py). Without them (a database autovacuum has not
# analysed yet) PostgreSQL takes the tenant for 0.5 % of the rows, and a generic plan made then
# walked the tenant's whole ledger per batch until the first ANALYZE (docs/device-sync.md,
# ninth pass).
_NEARBY = f"""
SELECT q.i, n.id::text, n.direction, n.punched_at
FROM unnest($2::uuid[], $3::timestamptz[]) WITH ORDINALITY AS q(worker_id, at, i)
CROSS JOIN LATERAL (
    (SELECT p.id, p.direction, p.punched_at FROM punches p
     WHERE p.tenant_id = $1 AND p.worker_id = q.worker_id AND p.punched_at <= q.at
       AND {_EFFECTIVE}
     ORDER BY p.punched_at DESC, p.direction = 'IN' DESC, p.id DESC LIMIT 1)
    UNION ALL
    (SELECT p.id, p.direction, p.punched_at FROM punches p
     WHERE p.tenant_id = $1 AND p.worker_id = q.worker_id
       AND p.punched_at > q.at AND p.punched_at <= q.at + $4::interval
       AND {_EFFECTIVE}
     ORDER BY p.punched_at, p.direction = 'IN', p.id LIMIT 1)
) AS n
"""

# Attempts decided or parked: one LATERAL probe per attempt, never flattened into a join. On
# the parked queue the probe is by the attempt, with the tenant as a guard no index serves, as
# in ``adapters/parked.py`` (why: there, and migration 0009).
_DECIDED = """
SELECT q.id::text FROM unnest($2::uuid[]) AS q(id)
CROSS JOIN LATERAL (
    (SELECT 1 FROM attempts a WHERE a.tenant_id = $1 AND a.attempt_id = q.id LIMIT 1)
    UNION ALL
    (SELECT 1 FROM parked_verdicts p
     WHERE p.attempt_id = q.id AND p.tenant_id::text = $1::uuid::text LIMIT 1)
) AS found
"""
_BY_ID = "SELECT * FROM punches WHERE tenant_id = $1 AND id = ANY($2::uuid[])"


class _Repository:
    def __init__(self, conn: asyncpg.Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id


class PostgresLedger(_Repository):
    async def decided_attempts(self, ids: Sequence[str]) -> set:
        # A parked attempt (one of its verdicts waits) is taken too: a second verdict for it
        # must not be decided past the first.
        rows = await self.conn.fetch(_DECIDED, self.tenant_id, list(ids))
        return {r[0] for r in rows}

    async def evidence_checks(self, ids: Sequence[str]) -> dict[str, str]:
        rows = await self.conn.fetch(
            "SELECT attempt_id::text, evidence_check FROM punch_evidence"
            " WHERE tenant_id = $1 AND attempt_id = ANY($2::uuid[])",
            self.tenant_id,
            list(ids),
        )
        return {r[0]: r[1] for r in rows}

    async def workers(self, ids: Iterable[str]) -> dict:
        rows = await self.conn.fetch(
            "SELECT id::text, employee_id, display_name, status, site_id FROM workers"
            " WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
            self.tenant_id,
            list(ids),
        )
        return {r["id"]: r for r in rows}

    async def clocks(self, ids: Iterable[str]) -> dict:
        rows = await self.conn.fetch(
            "SELECT id::text, name, site_id, time_zone, revoked_at FROM clocks"
            " WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
            self.tenant_id,
            list(ids),
        )
        return {r["id"]: r for r in rows}

    async def assigned_pairs(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        pairs = list(pairs)
        rows = await self.conn.fetch(
            "SELECT a.clock_id::text, a.worker_id::text FROM assignments a"
            " JOIN unnest($2::uuid[], $3::uuid[]) AS q(clock_id, worker_id)"
            " ON a.clock_id = q.clock_id AND a.worker_id = q.worker_id WHERE a.tenant_id = $1",
            self.tenant_id,
            [c for c, _ in pairs],
            [w for _, w in pairs],
        )
        return {(r[0], r[1]) for r in rows}

    async def nearby(
        self, queries: Sequence[tuple[str, datetime]], window: timedelta
    ) -> list[list[Nearby]]:
        """For each (worker, time): the worker's last effective punch at or before the time and
        the first one after it within ``window`` (each index probes the worker/time index
        twice)."""
        found: list[list[Nearby]] = [[] for _ in queries]
        if not queries:
            return found
        rows = await self.conn.fetch(
            _NEARBY, self.tenant_id, [w for w, _ in queries], [t for _, t in queries], window
        )
        for row in rows:
            found[row[0] - 1].append(Nearby(row[1], row[2], row[3]))
        return found

    async def punches_by_id(self, ids: Iterable[str]) -> dict:
        rows = await self.conn.fetch(_BY_ID, self.tenant_id, list(ids))
        return {str(r["id"]): r for r in rows}

    async def void_of(self, punch_id: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT id FROM punches WHERE tenant_id = $1 AND kind = 'VOID' AND refers_to = $2",
            self.tenant_id,
            punch_id,
        )

    async def site_time_zone(self, site_id: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT time_zone FROM clocks WHERE tenant_id = $1 AND site_id = $2 LIMIT 1",
            self.tenant_id,
            site_id,
        )

    async def claim_request(
        self, key: str, fingerprint: str, punch_id: str
    ) -> tuple[str, str] | None:
        # Two statements, not one: a request with the same key still being made holds the
        # key's row; the INSERT waits for it, and only a statement begun after that can see
        # what it kept (READ COMMITTED takes a snapshot per statement).
        if await self.conn.fetchval(_CLAIM_REQUEST, self.tenant_id, key, fingerprint, punch_id):
            return None
        first = await self.conn.fetchrow(_FIRST_REQUEST, self.tenant_id, key)
        return (first["fingerprint"], str(first["punch_id"])) if first else None

    async def insert_punches(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await self.conn.execute(
                _INSERT_PUNCHES, [tuple(map(r.get, _PUNCH_NAMES, _PUNCH_FILL)) for r in rows]
            )

    async def insert_attempts(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await self.conn.execute(
                _INSERT_ATTEMPTS, [tuple(map(r.get, _ATTEMPT_NAMES)) for r in rows]
            )


class PostgresProjections(_Repository):
    """punch's copies of workers, clocks and assignments (consumer group ``punch.projections``);
    every write is idempotent."""

    async def record_evidence(self, row: Mapping) -> None:
        await self.conn.execute(
            """
            INSERT INTO punch_evidence (tenant_id, attempt_id, worker_id, clock_id, method,
                                        evidence_check, distance, threshold)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (tenant_id, attempt_id) DO NOTHING
            """,
            self.tenant_id,
            row["attempt_id"],
            row["worker_id"],
            row["clock_id"],
            row["method"],
            row["evidence_check"],
            row["distance"],
            row["threshold"],
        )

    async def set_face_enrolled(self, worker_id: str, enrolled: bool) -> None:
        await self.conn.execute(
            """
            INSERT INTO face_enrolments (tenant_id, worker_id, enrolled) VALUES ($1, $2, $3)
            ON CONFLICT (tenant_id, worker_id) DO UPDATE
                SET enrolled = EXCLUDED.enrolled, updated_at = now()
            """,
            self.tenant_id,
            worker_id,
            enrolled,
        )

    async def worker_status(self, worker_id: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT status FROM workers WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            worker_id,
        )

    async def upsert_worker(self, worker: Mapping) -> None:
        await self.conn.execute(
            """
            INSERT INTO workers (tenant_id, id, employee_id, display_name, status, site_id)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (tenant_id, id) DO UPDATE SET
                employee_id = EXCLUDED.employee_id, display_name = EXCLUDED.display_name,
                status = EXCLUDED.status, site_id = EXCLUDED.site_id, updated_at = now()
            """,
            self.tenant_id,
            worker["id"],
            worker["employee_id"],
            worker["display_name"],
            worker["status"],
            worker["site_id"],
        )

    async def set_worker_status(self, worker_id: str, status: str) -> bool:
        done = await self.conn.execute(
            "UPDATE workers SET status = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            worker_id,
            status,
        )
        return done != "UPDATE 0"

    async def upsert_clock(self, clock_id: str, *, name: str, site_id: str, time_zone: str) -> None:
        await self.conn.execute(
            """
            INSERT INTO clocks (tenant_id, id, name, site_id, time_zone)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name,
                site_id = EXCLUDED.site_id, time_zone = EXCLUDED.time_zone, updated_at = now()
            """,
            self.tenant_id,
            clock_id,
            name,
            site_id,
            time_zone or "UTC",
        )

    async def revoke_clock(self, clock_id: str) -> None:
        await self.conn.execute(
            "UPDATE clocks SET revoked_at = coalesce(revoked_at, now()), updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            clock_id,
        )

    async def apply_assignment(self, change: AssignmentChange) -> None:
        """The kit's one projection of the assignments topic, into ``assignments``."""
        await apply_assignment(self.conn, "assignments", change)


class PostgresPunchSettings(_Repository):
    """The tenant's own punch rules (``punch_settings``; no row: every default)."""

    async def refuse_unmatched_photos(self) -> bool:
        on = await self.conn.fetchval(
            "SELECT refuse_unmatched_photos FROM punch_settings WHERE tenant_id = $1",
            self.tenant_id,
        )
        return bool(on)

    async def set_refuse_unmatched_photos(self, on: bool, admin_id: str | None) -> None:
        await self.conn.execute(
            """
            INSERT INTO punch_settings (tenant_id, refuse_unmatched_photos, updated_by)
            VALUES ($1, $2, $3)
            ON CONFLICT (tenant_id) DO UPDATE
                SET refuse_unmatched_photos = EXCLUDED.refuse_unmatched_photos,
                    updated_at = now(), updated_by = EXCLUDED.updated_by
            """,
            self.tenant_id,
            on,
            admin_id,
        )
