"""device-sync's PostgreSQL: clocks, the worker projection, assignments and the per-clock
command queues, as repositories of one tenant's transaction (``PostgresUnitOfWork``: the
kit's tenant transaction under RLS, with the outbox). The SQL filters by tenant as well."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import asyncpg
from punchcard_kit.failpoints import failpoint
from punchcard_kit.unit_of_work import TenantUnitOfWork

from ..domain.model import (
    CLOCK_ROLE_BEFORE,
    DEFAULT_CLOCK_ROLE,
    AckRecorded,
    Clock,
    ClockRole,
    Command,
    CommandKind,
    Queued,
    WorkerFacts,
    WorkerStatus,
)
from ..domain.templates import Kind, Source, Template
from ..domain.zk import AttlogSave, merge_saves
from ..service_layer.unit_of_work import Deliverable, DevicePunch, SealedPin, ZkState

# The database's own application role, `<database>_app` (punchcard_kit.tenancy.ROLE_NAME).
APP_ROLE = "app"
WAKE_CHANNEL = "punchcard_clock_commands"
# NOTIFY payloads stay well under PostgreSQL's 8000-byte limit.
_IDS_PER_NOTIFY = 200

Pair = tuple[str, str]


class _Repository:
    def __init__(self, conn: asyncpg.Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id


async def notify(conn: asyncpg.Connection, clock_ids: Sequence[str], prefix: str = "") -> None:
    """Wake the replicas holding these clocks' requests (delivered at commit)."""
    payloads = [
        ",".join(prefix + c for c in clock_ids[i : i + _IDS_PER_NOTIFY])
        for i in range(0, len(clock_ids), _IDS_PER_NOTIFY)
    ]
    await conn.execute(
        "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", WAKE_CHANNEL, payloads
    )


# --- clocks ------------------------------------------------------------------------------


def _clock(row: asyncpg.Record) -> Clock:
    return Clock(
        id=row["id"],
        name=row["name"],
        site_id=row["site_id"],
        time_zone=row["time_zone"],
        revoked_at=row["revoked_at"],
    )


class PostgresClocks(_Repository):
    async def add(
        self, clock: Clock, serial_number: str, credential_hash: bytes, protocol: str = "KIOSK_APP"
    ) -> bool:
        inserted = await self.conn.fetchval(
            "INSERT INTO clocks (id, tenant_id, serial_number, name, site_id, time_zone, protocol)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (tenant_id, serial_number) DO NOTHING RETURNING true",
            clock.id,
            self.tenant_id,
            serial_number,
            clock.name,
            clock.site_id,
            clock.time_zone,
            protocol,
        )
        if not inserted:
            return False
        await self.set_credential(clock.id, credential_hash)
        return True

    async def set_credential(self, clock_id: str, credential_hash: bytes) -> None:
        await self.conn.execute(
            "INSERT INTO clock_credentials (clock_id, tenant_id, credential_hash)"
            " VALUES ($1, $2, $3)"
            " ON CONFLICT (clock_id) DO UPDATE SET credential_hash = EXCLUDED.credential_hash,"
            " created_at = now()",
            clock_id,
            self.tenant_id,
            credential_hash,
        )

    async def get(self, clock_id: str) -> Clock | None:
        row = await self.conn.fetchrow(
            "SELECT id::text, name, site_id, time_zone, revoked_at FROM clocks"
            " WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            clock_id,
        )
        return _clock(row) if row else None

    async def lock(self, clock_id: str) -> Clock:
        row = await self.conn.fetchrow(
            "SELECT id::text, name, site_id, time_zone, revoked_at FROM clocks"
            " WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            self.tenant_id,
            clock_id,
        )
        return _clock(row)

    async def get_many(self, clock_ids: Sequence[str]) -> dict[str, Clock]:
        rows = await self.conn.fetch(
            "SELECT id::text, name, site_id, time_zone, revoked_at FROM clocks"
            " WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
            self.tenant_id,
            list(clock_ids),
        )
        return {r["id"]: _clock(r) for r in rows}

    async def update(self, clock_id: str, name: str, site_id: str, time_zone: str) -> None:
        await self.conn.execute(
            "UPDATE clocks SET name = $3, site_id = $4, time_zone = $5, updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            clock_id,
            name,
            site_id,
            time_zone,
        )

    async def revoke(self, clock_id: str, reason: str) -> None:
        await self.conn.execute(
            "UPDATE clocks SET revoked_at = now(), revoked_reason = $3, updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            clock_id,
            reason,
        )
        await self.conn.execute(
            "DELETE FROM clock_credentials WHERE tenant_id = $1 AND clock_id = $2",
            self.tenant_id,
            clock_id,
        )

    async def credentials_changed(self, clock_ids: Sequence[str]) -> None:
        await notify(self.conn, list(clock_ids), prefix="r:")

    async def live_of_site(self, site_id: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT id::text FROM clocks WHERE tenant_id = $1 AND site_id = $2"
            " AND revoked_at IS NULL",
            self.tenant_id,
            site_id,
        )
        return [r["id"] for r in rows]

    async def last_auto_resync(self, clock_id: str) -> datetime | None:
        return await self.conn.fetchval(
            "SELECT last_auto_resync_at FROM clocks WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            self.tenant_id,
            clock_id,
        )

    async def mark_auto_resync(self, clock_id: str) -> None:
        await self.conn.execute(
            "UPDATE clocks SET last_auto_resync_at = now() WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            clock_id,
        )


# The hourly prune, tenant by tenant: each delete walks only its tenant's expired rows
# (clock_commands_acked and zk_punches_received_by_tenant, migration 0010).
_PRUNE_ACKNOWLEDGED = (
    "DELETE FROM clock_commands WHERE tenant_id = $1"
    " AND acked_at < now() - make_interval(days => $2)"
)
_PRUNE_PUNCHES = (
    "DELETE FROM zk_punches WHERE tenant_id = $1"
    " AND received_at < now() - make_interval(days => $2)"
)


# The pairs the site rule assigned, of one clock, one worker or one site's clocks: one
# statement each, each led by its index (the primary key, assignments_worker, and the site's
# clocks found first through clocks_tenant_site). One statement with ``$n IS NULL OR`` for
# each had read every tenant's assignments for a site: PostgreSQL cannot join an or'd
# subquery (tests/integration/device_sync/test_statement_plans.py).
_SITE_RULE_PAIRS = {
    by: "SELECT clock_id::text, worker_id::text FROM assignments"
    f" WHERE tenant_id = $1 AND site_rule AND {condition}"
    for by, condition in (
        ("clock", "clock_id = $2::uuid"),
        ("worker", "worker_id = $2::uuid"),
        (
            "site",
            "clock_id = ANY(ARRAY(SELECT id FROM clocks WHERE tenant_id = $1 AND site_id = $2))",
        ),
    )
}


# --- workers (projection) -----------------------------------------------------------------

_WORKER_COLUMNS = (
    "id::text, tenant_id::text, employee_id, display_name, site_id, status, pin_set,"
    " pin_allowed, face_enrolled, cards, profile"
)


# A clock names a worker by the badge alone, in any case (``employee_id_key``, the callers'):
# the workers of a group commit's badge keys, and the one worker of a template's badge key
# (the newest row if a rename left two for a moment). Both are index probes on
# ``workers_badge_key`` (migration 0013; ``employee_key`` is leakproof equality, where
# ``upper(employee_id)`` could not use an index under RLS), not reads of the tenant's workers
# (tests/integration/device_sync/test_statement_plans.py).
_BY_BADGE = (
    f"SELECT {_WORKER_COLUMNS}, employee_key FROM workers"
    " WHERE tenant_id = $1 AND employee_key = ANY($2::text[]) AND profile IS NOT NULL"
)
_OF_BADGE = (
    "SELECT id::text, employee_id FROM workers WHERE tenant_id = $1"
    " AND employee_key = $2 AND profile IS NOT NULL AND status <> 'Inactive'"
    " ORDER BY updated_at DESC LIMIT 1"
)


def _facts(row: asyncpg.Record) -> WorkerFacts:
    return WorkerFacts(
        id=row["id"],
        employee_id=row["employee_id"],
        display_name=row["display_name"],
        status=WorkerStatus(row["status"]),
        site_id=row["site_id"],
        pin_set=row["pin_set"],
        pin_allowed=row["pin_allowed"],
        face_enrolled=row["face_enrolled"],
        cards=tuple(row["cards"]),
    )


class PostgresWorkers(_Repository):
    async def lock(self, worker_id: str) -> tuple[WorkerFacts | None, str | None]:
        # The row is created when missing and locked either way.
        await self.conn.execute(
            "INSERT INTO workers (id, tenant_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            worker_id,
            self.tenant_id,
        )
        row = await self.conn.fetchrow(
            f"SELECT {_WORKER_COLUMNS} FROM workers WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            self.tenant_id,
            worker_id,
        )
        if row is None:
            raise LookupError(f"worker {worker_id} belongs to another tenant")
        return (_facts(row) if row["profile"] is not None else None), row["profile"]

    async def lock_many(self, worker_ids: Sequence[str]) -> dict[str, tuple[WorkerFacts, str]]:
        rows = await self.conn.fetch(
            f"SELECT {_WORKER_COLUMNS} FROM workers"
            " WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND profile IS NOT NULL"
            " ORDER BY id FOR UPDATE",
            self.tenant_id,
            list(worker_ids),
        )
        return {r["id"]: (_facts(r), r["profile"]) for r in rows}

    async def save(self, worker: WorkerFacts, profile: str) -> None:
        await self.conn.execute(
            "UPDATE workers SET employee_id = $3, display_name = $4, site_id = $5, status = $6,"
            " pin_set = $7, pin_allowed = $8, face_enrolled = $9, profile = $10, cards = $11,"
            " updated_at = now() WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            worker.id,
            worker.employee_id,
            worker.display_name,
            worker.site_id,
            str(worker.status),
            worker.pin_set,
            worker.pin_allowed,
            worker.face_enrolled,
            profile,
            list(worker.cards),
        )

    async def face_enrolled(self, worker_id: str) -> bool | None:
        return await self.conn.fetchval(
            "SELECT face_enrolled FROM workers WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            worker_id,
        )

    async def set_face_enrolled(self, worker_id: str, enrolled: bool) -> None:
        await self.conn.execute(
            "UPDATE workers SET face_enrolled = $3, updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            worker_id,
            enrolled,
        )

    async def active_of_site(self, site_id: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT id::text FROM workers WHERE tenant_id = $1 AND site_id = $2"
            " AND status = 'Active' AND profile IS NOT NULL",
            self.tenant_id,
            site_id,
        )
        return [r["id"] for r in rows]


# --- assignments and site rules -----------------------------------------------------------


class PostgresAssignments(_Repository):
    async def clocks_of_worker(self, worker_id: str) -> dict[str, ClockRole]:
        rows = await self.conn.fetch(
            "SELECT a.clock_id::text, a.clock_role FROM assignments a"
            " JOIN clocks c ON c.id = a.clock_id"
            " WHERE a.tenant_id = $1 AND a.worker_id = $2 AND c.revoked_at IS NULL",
            self.tenant_id,
            worker_id,
        )
        return {r["clock_id"]: ClockRole(r["clock_role"]) for r in rows}

    async def roles_of(self, pairs: Sequence[Pair]) -> dict[Pair, ClockRole]:
        rows = await self.conn.fetch(
            "SELECT a.clock_id::text, a.worker_id::text, a.clock_role FROM assignments a"
            " JOIN unnest($2::uuid[], $3::uuid[]) AS v(clock_id, worker_id)"
            " ON a.clock_id = v.clock_id AND a.worker_id = v.worker_id WHERE a.tenant_id = $1",
            self.tenant_id,
            [c for c, _ in pairs],
            [w for _, w in pairs],
        )
        return {(r["clock_id"], r["worker_id"]): ClockRole(r["clock_role"]) for r in rows}

    async def set_roles(self, roles: Mapping[Pair, ClockRole]) -> None:
        await self.conn.execute(
            "UPDATE assignments a SET clock_role = v.role"
            " FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS v(clock_id, worker_id, role)"
            " WHERE a.tenant_id = $1 AND a.clock_id = v.clock_id AND a.worker_id = v.worker_id",
            self.tenant_id,
            [c for c, _ in roles],
            [w for _, w in roles],
            [str(r) for r in roles.values()],
        )

    async def add(
        self,
        pairs: Sequence[Pair],
        *,
        site_rule: bool = False,
        roles: Mapping[Pair, ClockRole] | None = None,
    ) -> list[Pair]:
        column = "site_rule" if site_rule else "direct"
        roles = roles or {}
        rows = await self.conn.fetch(
            f"""
            WITH v AS (SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::text[])
                       AS v(clock_id, worker_id, role)),
            before AS (
                SELECT a.clock_id, a.worker_id FROM assignments a
                JOIN v USING (clock_id, worker_id)
            ),
            up AS (
                INSERT INTO assignments (clock_id, worker_id, tenant_id, {column}, clock_role)
                SELECT clock_id, worker_id, $1, true, role FROM v
                ON CONFLICT (clock_id, worker_id) DO UPDATE SET {column} = true
                RETURNING clock_id, worker_id
            )
            SELECT up.clock_id::text, up.worker_id::text FROM up
            WHERE NOT EXISTS (
                SELECT 1 FROM before b
                WHERE b.clock_id = up.clock_id AND b.worker_id = up.worker_id
            )
            """,
            self.tenant_id,
            [c for c, _ in pairs],
            [w for _, w in pairs],
            [str(roles.get(p, DEFAULT_CLOCK_ROLE)) for p in pairs],
        )
        return [(r["clock_id"], r["worker_id"]) for r in rows]

    async def remove(self, pairs: Sequence[Pair], *, site_rule: bool = False) -> list[Pair]:
        column, other = ("site_rule", "direct") if site_rule else ("direct", "site_rule")
        await self.conn.execute(
            f"UPDATE assignments a SET {column} = false"
            " FROM unnest($2::uuid[], $3::uuid[]) AS v(clock_id, worker_id)"
            " WHERE a.tenant_id = $1 AND a.clock_id = v.clock_id AND a.worker_id = v.worker_id"
            f" AND a.{other}",
            self.tenant_id,
            [c for c, _ in pairs],
            [w for _, w in pairs],
        )
        rows = await self.conn.fetch(
            "DELETE FROM assignments a"
            " USING unnest($2::uuid[], $3::uuid[]) AS v(clock_id, worker_id)"
            " WHERE a.tenant_id = $1 AND a.clock_id = v.clock_id AND a.worker_id = v.worker_id"
            f" AND NOT a.{other} RETURNING a.clock_id::text, a.worker_id::text",
            self.tenant_id,
            [c for c, _ in pairs],
            [w for _, w in pairs],
        )
        return [(r["clock_id"], r["worker_id"]) for r in rows]

    async def site_rule_pairs(
        self,
        *,
        clock_id: str | None = None,
        worker_id: str | None = None,
        site_id: str | None = None,
    ) -> list[Pair]:
        keys = {"clock": clock_id, "worker": worker_id, "site": site_id}
        given = [(by, key) for by, key in keys.items() if key is not None]
        if len(given) != 1:
            raise ValueError("site_rule_pairs takes one of clock_id, worker_id, site_id")
        by, key = given[0]
        rows = await self.conn.fetch(_SITE_RULE_PAIRS[by], self.tenant_id, key)
        return [(r["clock_id"], r["worker_id"]) for r in rows]

    async def roster(self, clock_id: str) -> list[tuple[WorkerFacts, str, ClockRole]]:
        rows = await self.conn.fetch(
            "SELECT w.id::text, w.tenant_id::text, w.employee_id, w.display_name, w.site_id,"
            " w.status, w.pin_set, w.pin_allowed, w.face_enrolled, w.cards, w.profile,"
            " a.clock_role"
            " FROM assignments a JOIN workers w ON w.id = a.worker_id"
            " WHERE a.tenant_id = $1 AND a.clock_id = $2 AND w.status <> 'Inactive'"
            " AND w.profile IS NOT NULL ORDER BY w.employee_id",
            self.tenant_id,
            clock_id,
        )
        return [(_facts(r), r["profile"], ClockRole(r["clock_role"])) for r in rows]


# A site's transaction-level advisory lock: a 64-bit hash of the tenant and the site (one
# database per service: nothing else here hashes into this key space).
_LOCK_SITE = (
    "SELECT pg_advisory_xact_lock(hashtextextended('site-rule/' || $1::text || '/' || $2, 0))"
)


class PostgresSiteRules(_Repository):
    async def lock(self, site_ids: Iterable[str]) -> None:
        for site_id in sorted({s for s in site_ids if s}):  # one order: no deadlock between two
            await self.conn.execute(_LOCK_SITE, self.tenant_id, site_id)

    async def enabled(self, site_id: str) -> bool:
        if not site_id:
            return False
        return bool(
            await self.conn.fetchval(
                "SELECT enabled FROM site_rules WHERE tenant_id = $1 AND site_id = $2",
                self.tenant_id,
                site_id,
            )
        )

    async def set(self, site_id: str, enabled: bool) -> None:
        await self.conn.execute(
            "INSERT INTO site_rules (tenant_id, site_id, enabled) VALUES ($1, $2, $3)"
            " ON CONFLICT (tenant_id, site_id) DO UPDATE SET enabled = EXCLUDED.enabled",
            self.tenant_id,
            site_id,
            enabled,
        )


# --- the command queues -------------------------------------------------------------------


class PostgresCommandQueue(_Repository):
    async def enqueue(self, items: Sequence[tuple[str, Command]]) -> list[Queued]:
        """Queue commands (in this transaction) and wake whoever holds those clocks.

        Clock rows are locked in id order first, so concurrent issuers never deadlock and a
        clock's sequences commit in order. A worker's unacknowledged commands on a clock are
        replaced by the new one (it carries the full state); FULL_RESYNC replaces everything
        unacknowledged. Revoked clocks get nothing."""
        if not items:
            return []
        conn, tenant_id = self.conn, self.tenant_id
        clock_ids = sorted({clock_id for clock_id, _ in items})
        live = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id::text FROM clocks WHERE tenant_id = $1 AND id = ANY($2::uuid[])"
                " AND revoked_at IS NULL ORDER BY id FOR UPDATE",
                tenant_id,
                clock_ids,
            )
        }
        items = [(c, cmd) for c, cmd in items if c in live]
        if not items:
            return []
        resync_clocks = [c for c, cmd in items if cmd.kind is CommandKind.FULL_RESYNC]
        if resync_clocks:
            await conn.execute(
                "DELETE FROM clock_commands WHERE tenant_id = $1 AND clock_id = ANY($2::uuid[])"
                " AND acked_at IS NULL",
                tenant_id,
                resync_clocks,
            )
        # (clock, worker, kind replaced): what each command collapses (domain COLLAPSES).
        collapse = [
            (c, cmd.worker_id, str(kind))
            for c, cmd in items
            if cmd.worker_id is not None
            for kind in sorted(cmd.collapses)
        ]
        if collapse:
            await conn.execute(
                "DELETE FROM clock_commands q"
                " USING unnest($2::uuid[], $3::uuid[], $4::text[]) AS v(clock_id, worker_id, kind)"
                " WHERE q.tenant_id = $1 AND q.clock_id = v.clock_id"
                " AND q.worker_id = v.worker_id AND q.kind = v.kind AND q.acked_at IS NULL",
                tenant_id,
                [c for c, _, _ in collapse],
                [w for _, w, _ in collapse],
                [k for _, _, k in collapse],
            )
        counts: dict[str, int] = {}
        for clock_id, _ in items:
            counts[clock_id] = counts.get(clock_id, 0) + 1
        rows = await conn.fetch(
            "UPDATE clocks c SET last_sequence = c.last_sequence + v.n"
            " FROM unnest($2::uuid[], $3::int[]) AS v(id, n)"
            " WHERE c.tenant_id = $1 AND c.id = v.id RETURNING c.id::text, c.last_sequence",
            tenant_id,
            list(counts),
            list(counts.values()),
        )
        next_seq = {r["id"]: r["last_sequence"] - counts[r["id"]] + 1 for r in rows}
        queued: list[Queued] = []
        for clock_id, command in items:
            sequence = next_seq[clock_id]
            next_seq[clock_id] = sequence + 1
            queued.append(Queued(clock_id, sequence, str(uuid.uuid4()), command))
        await conn.execute(
            "INSERT INTO clock_commands (clock_id, sequence, tenant_id, command_id, kind,"
            " worker_id, body)"
            " SELECT v.clock_id, v.sequence, $1, v.command_id, v.kind, v.worker_id, v.body"
            " FROM unnest($2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::uuid[],"
            " $7::text[]) AS v(clock_id, sequence, command_id, kind, worker_id, body)",
            tenant_id,
            [q.clock_id for q in queued],
            [q.sequence for q in queued],
            [q.command_id for q in queued],
            [str(q.command.kind) for q in queued],
            [q.command.worker_id for q in queued],
            [q.command.body(q.command_id, q.sequence) for q in queued],
        )
        await notify(conn, list(counts))
        failpoint("device_sync.fanout.before_commit")
        return queued

    async def raise_last_sequence(self, clock_id: str, at_least: int) -> None:
        await self.conn.execute(
            "UPDATE clocks SET last_sequence = greatest(last_sequence, $3)"
            " WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            clock_id,
            at_least,
        )

    async def prune_acknowledged(self, older_than_days: int) -> int:
        """Acknowledged commands past retention (kept meanwhile for the admin's view)."""
        status = await self.conn.execute(
            _PRUNE_ACKNOWLEDGED,
            self.tenant_id,
            older_than_days,
        )
        return int(status.split()[-1])

    # Batched clock requests: many clocks of one tenant in one statement.

    async def record_acks(
        self, acks: Sequence[tuple[str, str, int, int, str]]
    ) -> list[AckRecorded]:
        """Each clock's own commands only (the clock id comes from its credential)."""
        rows = await self.conn.fetch(
            "UPDATE clock_commands q SET acked_at = now(), result_code = v.result,"
            " detail = v.detail"
            " FROM unnest($2::uuid[], $3::uuid[], $4::bigint[], $5::int[], $6::text[])"
            "   AS v(clock_id, command_id, sequence, result, detail)"
            " WHERE q.tenant_id = $1 AND q.clock_id = v.clock_id AND q.sequence = v.sequence"
            " AND q.command_id = v.command_id AND q.acked_at IS NULL"
            " RETURNING q.clock_id::text, q.sequence, q.kind, q.worker_id::text, q.result_code,"
            " q.detail",
            self.tenant_id,
            [a[0] for a in acks],
            [a[1] for a in acks],
            [a[2] for a in acks],
            [a[3] for a in acks],
            [a[4] for a in acks],
        )
        return [AckRecorded(**dict(r)) for r in rows]

    async def expected_rosters(self, clock_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        # Each line is the profile the clock received: the worker's, with the clock's role
        # inserted exactly as domain.model.clock_profile does (before $3, "display_name").
        rows = await self.conn.fetch(
            """
            SELECT c.id::text, c.last_sequence,
              (SELECT encode(sha256(convert_to(coalesce(
                      string_agg(p.line, E'\n' ORDER BY p.line COLLATE "C"), ''),
                      'UTF8')), 'hex')
                 FROM assignments a JOIN workers w ON w.id = a.worker_id
                 CROSS JOIN LATERAL (SELECT replace(w.profile, $3,
                        '"clock_role":"' || a.clock_role || '",' || $3) AS line) p
                WHERE a.clock_id = c.id AND w.status <> 'Inactive' AND w.profile IS NOT NULL)
                AS digest
            FROM clocks c
            WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) AND c.revoked_at IS NULL
            """,
            self.tenant_id,
            list(clock_ids),
            CLOCK_ROLE_BEFORE,
        )
        return {r["id"]: (r["last_sequence"], r["digest"]) for r in rows}

    async def fetch_after(
        self, wanted: Sequence[tuple[str, int]], limit: int
    ) -> dict[tuple[str, int], tuple[int, list[str]]]:
        """Revoked clocks are absent."""
        rows = await self.conn.fetch(
            "SELECT c.id::text AS clock_id, v.after, c.last_sequence, q.body FROM"
            " unnest($2::uuid[], $3::bigint[]) AS v(clock_id, after)"
            " JOIN clocks c ON c.id = v.clock_id AND c.tenant_id = $1 AND c.revoked_at IS NULL"
            " LEFT JOIN LATERAL (SELECT body, sequence FROM clock_commands"
            "   WHERE clock_id = v.clock_id AND sequence > v.after ORDER BY sequence LIMIT $4) q"
            " ON true ORDER BY c.id, v.after, q.sequence",
            self.tenant_id,
            [c for c, _ in wanted],
            [a for _, a in wanted],
            limit,
        )
        found: dict[tuple[str, int], tuple[int, list[str]]] = {}
        for row in rows:
            key = (row["clock_id"], row["after"])
            entry = found.setdefault(key, (row["last_sequence"], []))
            if row["body"] is not None:
                entry[1].append(row["body"])
        return found


# --- biometric templates (sealed) -------------------------------------------------------

_TEMPLATE_COLUMNS = (
    "kind, slot_no, slot_index, source, valid, duress, bio_type, major_ver, minor_ver, format, size"
)


class PostgresTemplates(_Repository):
    async def worker_of_badge(self, key: str) -> tuple[str, str] | None:
        row = await self.conn.fetchrow(_OF_BADGE, self.tenant_id, key)
        return (row["id"], row["employee_id"]) if row else None

    async def slots(self, worker_id: str) -> list[tuple[Kind, int, int]]:
        rows = await self.conn.fetch(
            "SELECT kind, slot_no, slot_index FROM biometric_templates"
            " WHERE tenant_id = $1 AND worker_id = $2",
            self.tenant_id,
            worker_id,
        )
        return [(Kind(r["kind"]), r["slot_no"], r["slot_index"]) for r in rows]

    async def save(
        self, worker_id: str, template: Template, sealed: bytes, clock_id: str | None
    ) -> None:
        t = template
        await self.conn.execute(
            f"INSERT INTO biometric_templates (tenant_id, worker_id, {_TEMPLATE_COLUMNS},"
            " sealed, source_clock_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            " ON CONFLICT (tenant_id, worker_id, kind, slot_no, slot_index) DO UPDATE SET"
            " source = EXCLUDED.source, valid = EXCLUDED.valid, duress = EXCLUDED.duress,"
            " bio_type = EXCLUDED.bio_type, major_ver = EXCLUDED.major_ver,"
            " minor_ver = EXCLUDED.minor_ver, format = EXCLUDED.format, size = EXCLUDED.size,"
            " sealed = EXCLUDED.sealed, source_clock_id = EXCLUDED.source_clock_id,"
            " updated_at = now()",
            self.tenant_id,
            worker_id,
            str(t.kind),
            t.no,
            t.index,
            str(t.source),
            t.valid,
            t.duress,
            t.bio_type,
            t.major_ver,
            t.minor_ver,
            t.format,
            t.size,
            sealed,
            clock_id,
        )

    async def of_worker(self, worker_id: str) -> list[tuple[Template, bytes]]:
        rows = await self.conn.fetch(
            f"SELECT {_TEMPLATE_COLUMNS}, sealed FROM biometric_templates"
            " WHERE tenant_id = $1 AND worker_id = $2 ORDER BY kind, slot_no, slot_index",
            self.tenant_id,
            worker_id,
        )
        return [
            (
                Template(
                    badge="",
                    kind=Kind(r["kind"]),
                    source=Source(r["source"]),
                    no=r["slot_no"],
                    index=r["slot_index"],
                    valid=r["valid"],
                    duress=r["duress"],
                    bio_type=r["bio_type"],
                    major_ver=r["major_ver"],
                    minor_ver=r["minor_ver"],
                    format=r["format"],
                    size=r["size"],
                ),
                bytes(r["sealed"]),
            )
            for r in rows
        ]

    async def delete_of_worker(self, worker_id: str) -> list[Source]:
        rows = await self.conn.fetch(
            "DELETE FROM biometric_templates WHERE tenant_id = $1 AND worker_id = $2"
            " RETURNING source",
            self.tenant_id,
            worker_id,
        )
        return [Source(r["source"]) for r in rows]

    async def with_templates(self, worker_ids: Sequence[str]) -> set[str]:
        if not worker_ids:
            return set()
        rows = await self.conn.fetch(
            "SELECT DISTINCT worker_id::text FROM biometric_templates"
            " WHERE tenant_id = $1 AND worker_id = ANY($2::uuid[])",
            self.tenant_id,
            list(worker_ids),
        )
        return {r["worker_id"] for r in rows}

    async def zk_clocks(self, clock_ids: Sequence[str]) -> set[str]:
        if not clock_ids:
            return set()
        rows = await self.conn.fetch(
            "SELECT id::text FROM clocks WHERE tenant_id = $1 AND id = ANY($2::uuid[])"
            " AND protocol = 'ZK_PUSH' AND revoked_at IS NULL",
            self.tenant_id,
            list(clock_ids),
        )
        return {r["id"] for r in rows}


# --- ZK PUSH clocks ------------------------------------------------------------------------

_STAMP_COLUMNS = {
    "ATTLOG": "attlog_stamp",
    "OPERLOG": "operlog_stamp",
    "ATTPHOTO": "attphoto_stamp",
}


def _zk_state(clock_id: str, row: asyncpg.Record) -> ZkState:
    return ZkState(
        clock_id=clock_id,
        time_zone=row["time_zone"],
        revoked=row["revoked_at"] is not None,
        stamps={t: row[c] for t, c in _STAMP_COLUMNS.items()},
        tz_offset_told=row["tz_offset_told"],
        last_poll_at=row["last_poll_at"],
        last_record_at=row["last_record_at"],
        skew_flagged=row["skew_flagged"],
        verifies_pins=row["device_verifies_pins"],
        com_key_digest=row["com_key_digest"],
        keyed_address=row["keyed_address"],
    )


class PostgresZk(_Repository):
    async def state(self, clock_id: str) -> ZkState | None:
        row = await self.conn.fetchrow(
            "SELECT c.time_zone, c.revoked_at, c.device_verifies_pins, c.com_key_digest,"
            " s.keyed_address, s.attlog_stamp, s.operlog_stamp,"
            " s.attphoto_stamp, s.tz_offset_told, s.last_poll_at, s.last_record_at,"
            " coalesce(s.skew_flagged, false) AS skew_flagged"
            " FROM clocks c LEFT JOIN zk_clock_state s ON s.clock_id = c.id"
            " WHERE c.tenant_id = $1 AND c.id = $2",
            self.tenant_id,
            clock_id,
        )
        return None if row is None else _zk_state(clock_id, row)

    async def told_offset(self, clock_id: str, offset: str) -> None:
        await self.conn.execute(
            "INSERT INTO zk_clock_state (clock_id, tenant_id, tz_offset_told) VALUES ($2, $1, $3)"
            " ON CONFLICT (clock_id) DO UPDATE SET tz_offset_told = EXCLUDED.tz_offset_told,"
            " updated_at = now()",
            self.tenant_id,
            clock_id,
            offset,
        )

    async def states(self, clock_ids: Sequence[str]) -> dict[str, ZkState]:
        rows = await self.conn.fetch(
            "SELECT c.id::text AS clock_id, c.time_zone, c.revoked_at, c.device_verifies_pins,"
            " c.com_key_digest, s.keyed_address, s.attlog_stamp,"
            " s.operlog_stamp, s.attphoto_stamp, s.tz_offset_told, s.last_poll_at,"
            " s.last_record_at, coalesce(s.skew_flagged, false) AS skew_flagged"
            " FROM clocks c LEFT JOIN zk_clock_state s ON s.clock_id = c.id"
            " WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[])",
            self.tenant_id,
            list(clock_ids),
        )
        return {row["clock_id"]: _zk_state(row["clock_id"], row) for row in rows}

    async def record_attlogs(
        self, uploads: Sequence[tuple[str, Sequence[DevicePunch], datetime]]
    ) -> set[str]:
        rows = [(clock_id, p, at) for clock_id, punches, at in uploads for p in punches]
        if not rows:
            return set()
        # ON CONFLICT DO NOTHING: a record twice in the statement is inserted once.
        recorded = await self.conn.fetch(
            "INSERT INTO zk_punches (clock_id, badge, device_time, state, tenant_id, verify_mode,"
            " attempt_id, received_at)"
            " SELECT v.clock, v.badge, v.t, v.state, $1, v.verify, v.attempt, v.received"
            " FROM unnest($2::uuid[], $3::text[], $4::timestamp[], $5::int[], $6::int[],"
            " $7::uuid[], $8::timestamptz[])"
            "   AS v(clock, badge, t, state, verify, attempt, received)"
            " ON CONFLICT DO NOTHING RETURNING attempt_id::text",
            self.tenant_id,
            [r[0] for r in rows],
            [r[1].badge for r in rows],
            [r[1].device_time for r in rows],
            [r[1].state for r in rows],
            [r[1].verify_mode for r in rows],
            [r[1].attempt_id for r in rows],
            [r[2] for r in rows],
        )
        failpoint("device_sync.zk.attlog_before_commit")
        return {r["attempt_id"] for r in recorded}

    async def save_attlogs(self, saves: Sequence[AttlogSave]) -> None:
        saves = merge_saves(saves)
        if not saves:
            return
        clock_ids = [s.clock_id for s in saves]
        await self.conn.execute(
            "INSERT INTO zk_clock_state (clock_id, tenant_id)"
            " SELECT unnest($2::uuid[]), $1 ON CONFLICT (clock_id) DO NOTHING",
            self.tenant_id,
            clock_ids,
        )
        await self.conn.execute(
            "UPDATE zk_clock_state s SET attlog_stamp = coalesce(v.stamp, s.attlog_stamp),"
            " last_record_at = greatest(s.last_record_at, v.newest),"
            " skew_s = coalesce(v.skew, s.skew_s), skew_flagged = coalesce(v.flagged,"
            " s.skew_flagged), updated_at = now()"
            " FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::float8[], $6::bool[])"
            "   AS v(clock, stamp, newest, skew, flagged)"
            " WHERE s.tenant_id = $1 AND s.clock_id = v.clock",
            self.tenant_id,
            clock_ids,
            [s.stamp for s in saves],
            [s.last_record_at for s in saves],
            [s.skew_s for s in saves],
            [s.skew_flagged for s in saves],
        )

    async def workers_by_badge(self, keys: Sequence[str]) -> dict[str, WorkerFacts]:
        rows = await self.conn.fetch(_BY_BADGE, self.tenant_id, list(keys))
        return {r["employee_key"]: _facts(r) for r in rows}

    async def save_upload(
        self,
        clock_id: str,
        table: str,
        stamp: str | None,
        last_record_at: datetime | None = None,
        skew_s: float | None = None,
        skew_flagged: bool | None = None,
    ) -> None:
        args = [self.tenant_id, clock_id, last_record_at, skew_s, skew_flagged]
        column = _STAMP_COLUMNS.get(table)
        stamp_set = ""
        if column:  # a table without a stamp of its own (BIODATA) sends no $6 at all
            stamp_set = f"{column} = coalesce($6, s.{column}),"
            args.append(stamp)
        await self.conn.execute(
            "INSERT INTO zk_clock_state AS s (clock_id, tenant_id) VALUES ($2, $1)"
            " ON CONFLICT (clock_id) DO NOTHING",
            self.tenant_id,
            clock_id,
        )
        await self.conn.execute(
            f"UPDATE zk_clock_state s SET {stamp_set}"
            " last_record_at = greatest(s.last_record_at, $3),"
            " skew_s = coalesce($4, s.skew_s), skew_flagged = coalesce($5, s.skew_flagged),"
            " updated_at = now() WHERE s.tenant_id = $1 AND s.clock_id = $2",
            *args,
        )

    async def deliverable(
        self, clock_id: str, delivered_before: datetime, limit: int
    ) -> tuple[list[Deliverable], datetime | None]:
        rows = await self.conn.fetch(
            "SELECT sequence, kind, body FROM clock_commands"
            " WHERE tenant_id = $1 AND clock_id = $2 AND acked_at IS NULL"
            " AND (delivered_at IS NULL OR delivered_at < $3) ORDER BY sequence LIMIT $4",
            self.tenant_id,
            clock_id,
            delivered_before,
            limit,
        )
        due = await self.conn.fetchval(
            "SELECT min(delivered_at) FROM clock_commands"
            " WHERE tenant_id = $1 AND clock_id = $2 AND acked_at IS NULL"
            " AND delivered_at >= $3",
            self.tenant_id,
            clock_id,
            delivered_before,
        )
        return [Deliverable(r["sequence"], r["kind"], r["body"]) for r in rows], due

    async def mark_delivered(self, clock_id: str, sequences: Sequence[int]) -> None:
        await self.conn.execute(
            "UPDATE clock_commands SET delivered_at = now(), deliveries = deliveries + 1"
            " WHERE tenant_id = $1 AND clock_id = $2 AND sequence = ANY($3::bigint[])",
            self.tenant_id,
            clock_id,
            list(sequences),
        )

    async def record_results(
        self, clock_id: str, results: Sequence[tuple[int, int, str]]
    ) -> list[AckRecorded]:
        rows = await self.conn.fetch(
            "UPDATE clock_commands q SET acked_at = now(), result_code = v.result,"
            " detail = v.detail"
            " FROM unnest($3::bigint[], $4::int[], $5::text[]) AS v(sequence, result, detail)"
            " WHERE q.tenant_id = $1 AND q.clock_id = $2 AND q.sequence = v.sequence"
            " AND q.acked_at IS NULL"
            " RETURNING q.clock_id::text, q.sequence, q.kind, q.worker_id::text, q.result_code,"
            " q.detail",
            self.tenant_id,
            clock_id,
            [r[0] for r in results],
            [r[1] for r in results],
            [r[2] for r in results],
        )
        return [AckRecorded(**dict(r)) for r in rows]

    async def register_device(self, serial_number: str, clock_id: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "INSERT INTO zk_devices (serial_number, clock_id, tenant_id) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING true",
                serial_number,
                clock_id,
                self.tenant_id,
            )
        )

    async def set_com_key(self, clock_id: str, digest: bytes | None) -> bool:
        changed = await self.conn.fetchval(
            "UPDATE clocks SET com_key_digest = $3, updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2 AND protocol = 'ZK_PUSH' RETURNING true",
            self.tenant_id,
            clock_id,
            digest,
        )
        if not changed:
            return False
        await self.conn.execute(
            "UPDATE zk_clock_state SET keyed_address = NULL WHERE tenant_id = $1 AND clock_id = $2",
            self.tenant_id,
            clock_id,
        )
        return True

    async def keyed_from(self, clock_id: str, remote_addr: str) -> None:
        await self.conn.execute(
            "INSERT INTO zk_clock_state (clock_id, tenant_id, keyed_address) VALUES ($2, $1, $3)"
            " ON CONFLICT (clock_id) DO UPDATE SET keyed_address = EXCLUDED.keyed_address,"
            " updated_at = now()",
            self.tenant_id,
            clock_id,
            remote_addr[:64],
        )

    async def revoke_device(self, clock_id: str) -> None:
        await self.conn.execute(
            "UPDATE zk_devices SET revoked = true WHERE tenant_id = $1 AND clock_id = $2",
            self.tenant_id,
            clock_id,
        )

    async def prune_punches(self, older_than_days: int) -> int:
        status = await self.conn.execute(
            _PRUNE_PUNCHES,
            self.tenant_id,
            older_than_days,
        )
        return int(status.split()[-1])

    async def forget_unregistered(self, serial_number: str) -> bool:
        status = await self.conn.execute(
            "DELETE FROM zk_unregistered WHERE serial_number = $1", serial_number
        )
        return status != "DELETE 0"


# --- the unit of work and the lookups across tenants --------------------------------------


class PostgresDevicePins(_Repository):
    async def put(self, worker_id: str, key_id: str, sealed: bytes) -> bool:
        status = await self.conn.execute(
            "INSERT INTO device_pins (tenant_id, worker_id, key_id, sealed) VALUES ($1,$2,$3,$4)"
            " ON CONFLICT (tenant_id, worker_id) DO UPDATE SET key_id = excluded.key_id,"
            " sealed = excluded.sealed, updated_at = now()"
            " WHERE (device_pins.key_id, device_pins.sealed)"
            " IS DISTINCT FROM (excluded.key_id, excluded.sealed)",
            self.tenant_id,
            worker_id,
            key_id,
            sealed,
        )
        return status != "INSERT 0 0"

    async def delete(self, worker_id: str) -> bool:
        status = await self.conn.execute(
            "DELETE FROM device_pins WHERE tenant_id = $1 AND worker_id = $2",
            self.tenant_id,
            worker_id,
        )
        return status != "DELETE 0"

    async def sealed_of(self, worker_ids: Sequence[str]) -> set[str]:
        rows = await self.conn.fetch(
            "SELECT worker_id::text FROM device_pins WHERE tenant_id = $1"
            " AND worker_id = ANY($2::uuid[])",
            self.tenant_id,
            list(worker_ids),
        )
        return {r["worker_id"] for r in rows}

    async def for_clock(self, clock_id: str, worker_ids: Sequence[str]) -> dict[str, SealedPin]:
        rows = await self.conn.fetch(
            "SELECT p.worker_id::text, p.key_id, p.sealed FROM device_pins p"
            " JOIN clocks c ON c.tenant_id = p.tenant_id AND c.id = $2"
            " WHERE p.tenant_id = $1 AND p.worker_id = ANY($3::uuid[])"
            " AND c.protocol = 'ZK_PUSH' AND c.device_verifies_pins AND c.revoked_at IS NULL",
            self.tenant_id,
            clock_id,
            list(worker_ids),
        )
        return {r["worker_id"]: SealedPin(r["key_id"], r["sealed"]) for r in rows}

    async def verifying_clocks(self, clock_ids: Sequence[str]) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT id::text FROM clocks WHERE tenant_id = $1 AND id = ANY($2::uuid[])"
            " AND protocol = 'ZK_PUSH' AND device_verifies_pins AND revoked_at IS NULL"
            " ORDER BY id",
            self.tenant_id,
            list(clock_ids),
        )
        return [r["id"] for r in rows]

    async def clock_verifies(self, clock_id: str) -> tuple[str, bool] | None:
        row = await self.conn.fetchrow(
            "SELECT protocol, device_verifies_pins FROM clocks WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            clock_id,
        )
        return None if row is None else (row["protocol"], row["device_verifies_pins"])

    async def set_clock_verifies(self, clock_id: str, on: bool) -> None:
        await self.conn.execute(
            "UPDATE clocks SET device_verifies_pins = $3 WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            clock_id,
            on,
        )


class PostgresUnitOfWork(TenantUnitOfWork):
    """One tenant's transaction under RLS, with the outbox (``punchcard_kit.unit_of_work``)."""

    role = APP_ROLE

    def _bind(self, conn: asyncpg.Connection) -> None:
        tenant_id = str(self.tenant_id)
        self.clocks = PostgresClocks(conn, tenant_id)
        self.workers = PostgresWorkers(conn, tenant_id)
        self.assignments = PostgresAssignments(conn, tenant_id)
        self.site_rules = PostgresSiteRules(conn, tenant_id)
        self.queue = PostgresCommandQueue(conn, tenant_id)
        self.templates = PostgresTemplates(conn, tenant_id)
        self.zk = PostgresZk(conn, tenant_id)
        self.device_pins = PostgresDevicePins(conn, tenant_id)


def unit_of_work_factory(pool: asyncpg.Pool):
    """A tenant's unit of work on the pool (an HTTP request, a clock batch)."""

    def open_for(tenant_id: str) -> PostgresUnitOfWork:
        return PostgresUnitOfWork.on_pool(pool, tenant_id)

    return open_for


class PostgresDirectory:
    """The lookups made before a tenant is known (as the service's login role: no RLS role)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def credential_of(self, clock_id: str) -> tuple[str, bytes] | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT tenant_id::text, credential_hash FROM clock_credentials"
                " WHERE clock_id = $1",
                clock_id,
            )
        return (row["tenant_id"], row["credential_hash"]) if row else None

    async def tenants(self) -> list[str]:
        rows = await self._pool.fetch("SELECT DISTINCT tenant_id::text FROM clock_credentials")
        return [r[0] for r in rows]

    async def zk_device(self, serial_number: str) -> tuple[str, str] | None:
        row = await self._pool.fetchrow(
            "SELECT tenant_id::text, clock_id::text FROM zk_devices"
            " WHERE serial_number = $1 AND NOT revoked",
            serial_number,
        )
        return (row["tenant_id"], row["clock_id"]) if row else None
