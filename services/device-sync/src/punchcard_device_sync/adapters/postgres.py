"""device-sync's PostgreSQL: clocks, the worker projection, assignments and the per-clock
command queues. Use cases call these inside ``tenant_transaction`` (RLS-bound application role,
tenant set); the SQL filters by tenant as well."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from punchcard_kit.failpoints import failpoint

from ..domain.model import Command, CommandKind, WorkerFacts

# The database's own application role, `<database>_app` (punchcard_kit.tenancy.ROLE_NAME).
APP_ROLE = "app"
WAKE_CHANNEL = "punchcard_clock_commands"
# NOTIFY payloads stay well under PostgreSQL's 8000-byte limit.
_IDS_PER_NOTIFY = 200


@dataclass(frozen=True)
class ClockRow:
    id: str
    tenant_id: str
    serial_number: str
    name: str
    site_id: str
    time_zone: str
    protocol: str
    revoked_at: datetime | None
    revoked_reason: str | None
    last_sequence: int
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None
    software_version: str
    applied_sequence: int
    pending_commands: int
    roster_size: int


_CLOCK_SELECT = """
SELECT c.id::text, c.tenant_id::text, c.serial_number, c.name, c.site_id, c.time_zone, c.protocol,
       c.revoked_at, c.revoked_reason, c.last_sequence, c.created_at, c.updated_at,
       h.last_seen_at, coalesce(h.software_version, '') AS software_version,
       coalesce(h.applied_sequence, 0) AS applied_sequence,
       (SELECT count(*) FROM clock_commands q
         WHERE q.clock_id = c.id AND q.sequence > coalesce(h.applied_sequence, 0))
         AS pending_commands,
       (SELECT count(*) FROM assignments a JOIN workers w ON w.id = a.worker_id
         WHERE a.clock_id = c.id AND w.status <> 'Inactive') AS roster_size
FROM clocks c LEFT JOIN clock_heartbeats h ON h.clock_id = c.id
"""


def _clock(row: asyncpg.Record) -> ClockRow:
    return ClockRow(**dict(row))


# --- clocks ------------------------------------------------------------------------------


async def insert_clock(
    conn: asyncpg.Connection,
    *,
    tenant_id: str,
    clock_id: str,
    serial_number: str,
    name: str,
    site_id: str,
    time_zone: str,
    credential_hash: bytes,
) -> bool:
    """False when the tenant already has a clock with that serial number."""
    inserted = await conn.fetchval(
        "INSERT INTO clocks (id, tenant_id, serial_number, name, site_id, time_zone)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (tenant_id, serial_number) DO NOTHING RETURNING true",
        clock_id,
        tenant_id,
        serial_number,
        name,
        site_id,
        time_zone,
    )
    if not inserted:
        return False
    await set_credential(conn, tenant_id, clock_id, credential_hash)
    return True


async def set_credential(
    conn: asyncpg.Connection, tenant_id: str, clock_id: str, credential_hash: bytes
) -> None:
    await conn.execute(
        "INSERT INTO clock_credentials (clock_id, tenant_id, credential_hash) VALUES ($1, $2, $3)"
        " ON CONFLICT (clock_id) DO UPDATE SET credential_hash = EXCLUDED.credential_hash,"
        " created_at = now()",
        clock_id,
        tenant_id,
        credential_hash,
    )


async def get_clock(conn: asyncpg.Connection, tenant_id: str, clock_id: str) -> ClockRow | None:
    row = await conn.fetchrow(
        _CLOCK_SELECT + " WHERE c.tenant_id = $1 AND c.id = $2", tenant_id, clock_id
    )
    return _clock(row) if row else None


async def list_clocks(
    conn: asyncpg.Connection, tenant_id: str, site_ids: Sequence[str] | None
) -> list[ClockRow]:
    rows = await conn.fetch(
        _CLOCK_SELECT + " WHERE c.tenant_id = $1 AND ($2::text[] IS NULL OR c.site_id = ANY($2))"
        " ORDER BY c.name, c.id",
        tenant_id,
        list(site_ids) if site_ids is not None else None,
    )
    return [_clock(r) for r in rows]


async def lock_clock(conn: asyncpg.Connection, tenant_id: str, clock_id: str) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT id::text, name, site_id, time_zone, revoked_at FROM clocks"
        " WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant_id,
        clock_id,
    )


async def update_clock(
    conn: asyncpg.Connection, tenant_id: str, clock_id: str, name: str, site_id: str, tz: str
) -> None:
    await conn.execute(
        "UPDATE clocks SET name = $3, site_id = $4, time_zone = $5, updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        clock_id,
        name,
        site_id,
        tz,
    )


async def revoke_clock(
    conn: asyncpg.Connection, tenant_id: str, clock_id: str, reason: str
) -> None:
    await conn.execute(
        "UPDATE clocks SET revoked_at = now(), revoked_reason = $3, updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        clock_id,
        reason,
    )
    await conn.execute(
        "DELETE FROM clock_credentials WHERE tenant_id = $1 AND clock_id = $2",
        tenant_id,
        clock_id,
    )


async def credential_of(conn: asyncpg.Connection, clock_id: str) -> tuple[str, bytes] | None:
    """(tenant, credential hash) of a live clock — the one lookup before the tenant is known."""
    row = await conn.fetchrow(
        "SELECT tenant_id::text, credential_hash FROM clock_credentials WHERE clock_id = $1",
        clock_id,
    )
    return (row["tenant_id"], row["credential_hash"]) if row else None


# --- workers (projection) -----------------------------------------------------------------


async def lock_worker(
    conn: asyncpg.Connection, tenant_id: str, worker_id: str
) -> tuple[WorkerFacts | None, str | None]:
    """The worker (None until identity registered them) and the profile clocks hold now; the
    row is created when missing and locked either way, so changes of one worker serialise."""
    await conn.execute(
        "INSERT INTO workers (id, tenant_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        worker_id,
        tenant_id,
    )
    row = await conn.fetchrow(
        "SELECT id::text, tenant_id::text, employee_id, display_name, site_id, status, pin_set,"
        " pin_allowed, face_enrolled, profile FROM workers"
        " WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant_id,
        worker_id,
    )
    if row is None:
        raise LookupError(f"worker {worker_id} belongs to another tenant")
    return (_facts(row) if row["profile"] is not None else None), row["profile"]


def _facts(row: asyncpg.Record) -> WorkerFacts:
    return WorkerFacts(
        id=row["id"],
        employee_id=row["employee_id"],
        display_name=row["display_name"],
        status=row["status"],
        site_id=row["site_id"],
        pin_set=row["pin_set"],
        pin_allowed=row["pin_allowed"],
        face_enrolled=row["face_enrolled"],
    )


async def save_worker(
    conn: asyncpg.Connection, tenant_id: str, worker: WorkerFacts, profile: str
) -> None:
    await conn.execute(
        "UPDATE workers SET employee_id = $3, display_name = $4, site_id = $5, status = $6,"
        " pin_set = $7, pin_allowed = $8, face_enrolled = $9, profile = $10, updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        worker.id,
        worker.employee_id,
        worker.display_name,
        worker.site_id,
        worker.status,
        worker.pin_set,
        worker.pin_allowed,
        worker.face_enrolled,
        profile,
    )


async def set_face_enrolled(
    conn: asyncpg.Connection, tenant_id: str, worker_id: str, enrolled: bool
) -> None:
    await conn.execute(
        "UPDATE workers SET face_enrolled = $3, updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        worker_id,
        enrolled,
    )


async def workers_by_id(
    conn: asyncpg.Connection, tenant_id: str, worker_ids: Sequence[str]
) -> dict[str, tuple[WorkerFacts, str]]:
    """Registered workers among ``worker_ids``, locked (in id order), with their profiles."""
    rows = await conn.fetch(
        "SELECT id::text, tenant_id::text, employee_id, display_name, site_id, status, pin_set,"
        " pin_allowed, face_enrolled, profile FROM workers"
        " WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND profile IS NOT NULL"
        " ORDER BY id FOR UPDATE",
        tenant_id,
        list(worker_ids),
    )
    return {r["id"]: (_facts(r), r["profile"]) for r in rows}


async def worker_site(conn: asyncpg.Connection, tenant_id: str, worker_id: str) -> str | None:
    """The site of a registered worker (None when identity has not registered them yet)."""
    return await conn.fetchval(
        "SELECT site_id FROM workers WHERE tenant_id = $1 AND id = $2 AND profile IS NOT NULL",
        tenant_id,
        worker_id,
    )


# --- assignments --------------------------------------------------------------------------


async def clocks_of_worker(conn: asyncpg.Connection, tenant_id: str, worker_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT a.clock_id::text FROM assignments a JOIN clocks c ON c.id = a.clock_id"
        " WHERE a.tenant_id = $1 AND a.worker_id = $2 AND c.revoked_at IS NULL",
        tenant_id,
        worker_id,
    )
    return [r["clock_id"] for r in rows]


async def add_assignments(
    conn: asyncpg.Connection,
    tenant_id: str,
    pairs: Sequence[tuple[str, str]],
    *,
    site_rule: bool = False,
) -> list[tuple[str, str]]:
    """Assign (clock, worker) pairs; returns the pairs that were not assigned before."""
    column = "site_rule" if site_rule else "direct"
    rows = await conn.fetch(
        f"""
        WITH v AS (SELECT * FROM unnest($2::uuid[], $3::uuid[]) AS v(clock_id, worker_id)),
        before AS (
            SELECT a.clock_id, a.worker_id FROM assignments a JOIN v USING (clock_id, worker_id)
        ),
        up AS (
            INSERT INTO assignments (clock_id, worker_id, tenant_id, {column})
            SELECT clock_id, worker_id, $1, true FROM v
            ON CONFLICT (clock_id, worker_id) DO UPDATE SET {column} = true
            RETURNING clock_id, worker_id
        )
        SELECT up.clock_id::text, up.worker_id::text FROM up
        WHERE NOT EXISTS (
            SELECT 1 FROM before b WHERE b.clock_id = up.clock_id AND b.worker_id = up.worker_id
        )
        """,
        tenant_id,
        [c for c, _ in pairs],
        [w for _, w in pairs],
    )
    return [(r["clock_id"], r["worker_id"]) for r in rows]


async def remove_assignments(
    conn: asyncpg.Connection,
    tenant_id: str,
    pairs: Sequence[tuple[str, str]],
    *,
    site_rule: bool = False,
) -> list[tuple[str, str]]:
    """Drop the direct (or site-rule) reason of each pair; returns the pairs now unassigned."""
    column, other = ("site_rule", "direct") if site_rule else ("direct", "site_rule")
    await conn.execute(
        f"UPDATE assignments a SET {column} = false"
        " FROM unnest($2::uuid[], $3::uuid[]) AS v(clock_id, worker_id)"
        f" WHERE a.tenant_id = $1 AND a.clock_id = v.clock_id AND a.worker_id = v.worker_id"
        f" AND a.{other}",
        tenant_id,
        [c for c, _ in pairs],
        [w for _, w in pairs],
    )
    rows = await conn.fetch(
        "DELETE FROM assignments a USING unnest($2::uuid[], $3::uuid[]) AS v(clock_id, worker_id)"
        f" WHERE a.tenant_id = $1 AND a.clock_id = v.clock_id AND a.worker_id = v.worker_id"
        f" AND NOT a.{other} RETURNING a.clock_id::text, a.worker_id::text",
        tenant_id,
        [c for c, _ in pairs],
        [w for _, w in pairs],
    )
    return [(r["clock_id"], r["worker_id"]) for r in rows]


async def workers_of_clock(
    conn: asyncpg.Connection, tenant_id: str, clock_id: str
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT a.worker_id::text, w.employee_id, w.display_name, w.status, a.direct,"
        " a.site_rule, a.assigned_at, w.profile FROM assignments a"
        " JOIN workers w ON w.id = a.worker_id"
        " WHERE a.tenant_id = $1 AND a.clock_id = $2 ORDER BY w.display_name, w.id",
        tenant_id,
        clock_id,
    )


async def clocks_assigned_to(
    conn: asyncpg.Connection, tenant_id: str, worker_id: str
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT c.id::text AS clock_id, c.name, c.site_id, c.serial_number, a.direct,"
        " a.site_rule, a.assigned_at, c.revoked_at, h.last_seen_at FROM assignments a"
        " JOIN clocks c ON c.id = a.clock_id"
        " LEFT JOIN clock_heartbeats h ON h.clock_id = c.id"
        " WHERE a.tenant_id = $1 AND a.worker_id = $2 ORDER BY c.name, c.id",
        tenant_id,
        worker_id,
    )


async def latest_commands_of_worker(
    conn: asyncpg.Connection, tenant_id: str, worker_id: str
) -> list[asyncpg.Record]:
    """Per clock, the latest command about this worker (acknowledged ones are kept
    ``COMMAND_RETENTION_DAYS``), with the clock's name, site and liveness."""
    return await conn.fetch(
        "SELECT DISTINCT ON (q.clock_id) q.clock_id::text, c.name, c.site_id, c.revoked_at,"
        " h.last_seen_at, q.kind, q.sequence, q.created_at, q.acked_at, q.result_code, q.detail"
        " FROM clock_commands q JOIN clocks c ON c.id = q.clock_id"
        " LEFT JOIN clock_heartbeats h ON h.clock_id = q.clock_id"
        " WHERE q.tenant_id = $1 AND q.worker_id = $2"
        " ORDER BY q.clock_id, q.sequence DESC",
        tenant_id,
        worker_id,
    )


async def existing_clocks(
    conn: asyncpg.Connection, tenant_id: str, clock_ids: Sequence[str]
) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT id::text, site_id, revoked_at FROM clocks"
        " WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
        tenant_id,
        list(clock_ids),
    )
    return {r["id"]: r for r in rows}


# --- site rules ---------------------------------------------------------------------------


async def site_rule_enabled(conn: asyncpg.Connection, tenant_id: str, site_id: str) -> bool:
    if not site_id:
        return False
    return bool(
        await conn.fetchval(
            "SELECT enabled FROM site_rules WHERE tenant_id = $1 AND site_id = $2",
            tenant_id,
            site_id,
        )
    )


async def set_site_rule(
    conn: asyncpg.Connection, tenant_id: str, site_id: str, enabled: bool
) -> None:
    await conn.execute(
        "INSERT INTO site_rules (tenant_id, site_id, enabled) VALUES ($1, $2, $3)"
        " ON CONFLICT (tenant_id, site_id) DO UPDATE SET enabled = EXCLUDED.enabled",
        tenant_id,
        site_id,
        enabled,
    )


async def live_clocks_of_site(conn: asyncpg.Connection, tenant_id: str, site_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT id::text FROM clocks WHERE tenant_id = $1 AND site_id = $2 AND revoked_at IS NULL",
        tenant_id,
        site_id,
    )
    return [r["id"] for r in rows]


async def active_workers_of_site(
    conn: asyncpg.Connection, tenant_id: str, site_id: str
) -> list[str]:
    rows = await conn.fetch(
        "SELECT id::text FROM workers WHERE tenant_id = $1 AND site_id = $2"
        " AND status = 'Active' AND profile IS NOT NULL",
        tenant_id,
        site_id,
    )
    return [r["id"] for r in rows]


async def site_rule_pairs(
    conn: asyncpg.Connection,
    tenant_id: str,
    *,
    clock_id: str | None = None,
    worker_id: str | None = None,
    site_id: str | None = None,
) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT clock_id::text, worker_id::text FROM assignments"
        " WHERE tenant_id = $1 AND site_rule"
        " AND ($2::uuid IS NULL OR clock_id = $2) AND ($3::uuid IS NULL OR worker_id = $3)"
        " AND ($4::text IS NULL OR clock_id IN"
        "      (SELECT id FROM clocks WHERE tenant_id = $1 AND site_id = $4))",
        tenant_id,
        clock_id,
        worker_id,
        site_id,
    )
    return [(r["clock_id"], r["worker_id"]) for r in rows]


# --- the command queues -------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    clock_id: str
    sequence: int
    command_id: str
    command: Command


async def enqueue(
    conn: asyncpg.Connection, tenant_id: str, items: Sequence[tuple[str, Command]]
) -> list[Queued]:
    """Queue commands (in the caller's transaction) and wake whoever holds those clocks.

    Clock rows are locked in id order first, so concurrent issuers never deadlock and a
    clock's sequences commit in order. A worker's unacknowledged commands on a clock are
    replaced by the new one (it carries the full state); FULL_RESYNC replaces everything
    unacknowledged. Revoked clocks get nothing."""
    if not items:
        return []
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
    collapse = [(c, cmd.worker_id) for c, cmd in items if cmd.worker_id is not None]
    if collapse:
        await conn.execute(
            "DELETE FROM clock_commands q"
            " USING unnest($2::uuid[], $3::uuid[]) AS v(clock_id, worker_id)"
            " WHERE q.tenant_id = $1 AND q.clock_id = v.clock_id AND q.worker_id = v.worker_id"
            " AND q.acked_at IS NULL",
            tenant_id,
            [c for c, _ in collapse],
            [w for _, w in collapse],
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
        "INSERT INTO clock_commands (clock_id, sequence, tenant_id, command_id, kind, worker_id,"
        " body) SELECT v.clock_id, v.sequence, $1, v.command_id, v.kind, v.worker_id, v.body"
        " FROM unnest($2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::uuid[], $7::text[])"
        " AS v(clock_id, sequence, command_id, kind, worker_id, body)",
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


async def notify(conn: asyncpg.Connection, clock_ids: Sequence[str], prefix: str = "") -> None:
    """Wake the replicas holding these clocks' requests (delivered at commit)."""
    payloads = [
        ",".join(prefix + c for c in clock_ids[i : i + _IDS_PER_NOTIFY])
        for i in range(0, len(clock_ids), _IDS_PER_NOTIFY)
    ]
    await conn.execute(
        "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", WAKE_CHANNEL, payloads
    )


async def roster_profiles(
    conn: asyncpg.Connection, tenant_id: str, clock_id: str
) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT w.id::text, w.profile FROM assignments a JOIN workers w ON w.id = a.worker_id"
        " WHERE a.tenant_id = $1 AND a.clock_id = $2 AND w.status <> 'Inactive'"
        " AND w.profile IS NOT NULL ORDER BY w.employee_id",
        tenant_id,
        clock_id,
    )
    return [(r["id"], r["profile"]) for r in rows]


async def mark_auto_resync(conn: asyncpg.Connection, tenant_id: str, clock_id: str) -> None:
    await conn.execute(
        "UPDATE clocks SET last_auto_resync_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        clock_id,
    )


async def list_commands(
    conn: asyncpg.Connection, tenant_id: str, clock_id: str, pending_only: bool, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT q.command_id::text, q.sequence, q.kind, q.worker_id::text, q.created_at,"
        " q.acked_at, q.result_code, q.detail FROM clock_commands q"
        " LEFT JOIN clock_heartbeats h ON h.clock_id = q.clock_id"
        " WHERE q.tenant_id = $1 AND q.clock_id = $2"
        " AND (NOT $3 OR q.sequence > coalesce(h.applied_sequence, 0))"
        " ORDER BY q.sequence DESC LIMIT $4",
        tenant_id,
        clock_id,
        pending_only,
        limit,
    )


async def save_heartbeats(
    conn: asyncpg.Connection,
    tenant_id: str,
    beats: Sequence[tuple[str, datetime, str, int, str]],
) -> None:
    await conn.execute(
        "INSERT INTO clock_heartbeats AS h (clock_id, tenant_id, last_seen_at, software_version,"
        " applied_sequence, roster_digest)"
        " SELECT v.clock_id, $1, v.seen, v.version, v.applied, v.digest"
        " FROM unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::bigint[], $6::text[])"
        "   AS v(clock_id, seen, version, applied, digest)"
        " WHERE EXISTS (SELECT 1 FROM clocks c WHERE c.id = v.clock_id)"
        " ON CONFLICT (clock_id) DO UPDATE SET last_seen_at = greatest(h.last_seen_at,"
        " EXCLUDED.last_seen_at), software_version = EXCLUDED.software_version,"
        " applied_sequence = EXCLUDED.applied_sequence, roster_digest = EXCLUDED.roster_digest",
        tenant_id,
        [b[0] for b in beats],
        [b[1] for b in beats],
        [b[2] for b in beats],
        [b[3] for b in beats],
        [b[4] for b in beats],
    )


async def prune_acknowledged(conn: asyncpg.Connection, older_than_days: int) -> int:
    """Acknowledged commands past retention (kept meanwhile for the admin's view)."""
    status = await conn.execute(
        "DELETE FROM clock_commands WHERE acked_at < now() - make_interval(days => $1)",
        older_than_days,
    )
    return int(status.split()[-1])


# --- batched clock requests (many clocks of one tenant in one statement) ------------------


async def record_acks_many(
    conn: asyncpg.Connection,
    tenant_id: str,
    acks: Sequence[tuple[str, str, int, int, str]],
) -> list[asyncpg.Record]:
    """(clock id, command id, sequence, result, detail): each clock's own commands only (the
    clock id comes from its credential); the first result counts."""
    return await conn.fetch(
        "UPDATE clock_commands q SET acked_at = now(), result_code = v.result, detail = v.detail"
        " FROM unnest($2::uuid[], $3::uuid[], $4::bigint[], $5::int[], $6::text[])"
        "   AS v(clock_id, command_id, sequence, result, detail)"
        " WHERE q.tenant_id = $1 AND q.clock_id = v.clock_id AND q.sequence = v.sequence"
        " AND q.command_id = v.command_id AND q.acked_at IS NULL"
        " RETURNING q.clock_id::text, q.sequence, q.kind, q.worker_id::text, q.result_code,"
        " q.detail",
        tenant_id,
        [a[0] for a in acks],
        [a[1] for a in acks],
        [a[2] for a in acks],
        [a[3] for a in acks],
        [a[4] for a in acks],
    )


async def expected_rosters(
    conn: asyncpg.Connection, tenant_id: str, clock_ids: Sequence[str]
) -> dict[str, tuple[int, str]]:
    """Per live clock: (last sequence queued, digest of the roster it holds once it applied
    everything queued), in one snapshot."""
    rows = await conn.fetch(
        """
        SELECT c.id::text, c.last_sequence,
          (SELECT encode(sha256(convert_to(coalesce(
                  string_agg(w.profile, E'\n' ORDER BY w.profile COLLATE "C"), ''), 'UTF8')),
                  'hex')
             FROM assignments a JOIN workers w ON w.id = a.worker_id
            WHERE a.clock_id = c.id AND w.status <> 'Inactive' AND w.profile IS NOT NULL)
            AS digest
        FROM clocks c
        WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) AND c.revoked_at IS NULL
        """,
        tenant_id,
        list(clock_ids),
    )
    return {r["id"]: (r["last_sequence"], r["digest"]) for r in rows}


async def fetch_commands_many(
    conn: asyncpg.Connection, tenant_id: str, wanted: Sequence[tuple[str, int]], limit: int
) -> dict[tuple[str, int], tuple[int, list[str]]]:
    """Per live clock of ``wanted`` (clock id, after): (last sequence queued, bodies of its
    commands after ``after``, in order). Revoked clocks are absent."""
    rows = await conn.fetch(
        "SELECT c.id::text AS clock_id, v.after, c.last_sequence, q.body FROM"
        " unnest($2::uuid[], $3::bigint[]) AS v(clock_id, after)"
        " JOIN clocks c ON c.id = v.clock_id AND c.tenant_id = $1 AND c.revoked_at IS NULL"
        " LEFT JOIN LATERAL (SELECT body, sequence FROM clock_commands"
        "   WHERE clock_id = v.clock_id AND sequence > v.after ORDER BY sequence LIMIT $4) q"
        " ON true ORDER BY c.id, v.after, q.sequence",
        tenant_id,
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
