"""The read side: what admins and clocks read (clocks with their liveness and queues, a
clock's workers, a worker's clocks with each command's state, site rules, whoami), as
read-only queries in one tenant transaction, shaped for the API. Writes are the use cases'
(``service_layer``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from punchcard_kit.access import require_role
from punchcard_kit.caller import Caller
from punchcard_kit.db import contains_pattern, folded, ordered
from punchcard_kit.tenancy import tenant_transaction

from .adapters.postgres import APP_ROLE
from .domain import errors
from .domain.model import (
    AssignmentSource,
    ClockStatus,
    CommandKind,
    WorkerStatus,
    clock_status,
    sync_state,
)
from .domain.templates import counts
from .service_layer.sync import AuthenticatedClock

# Per clock, the latest command of the given kinds about one worker, with the clock's name,
# site and liveness: index probes on clock_commands_worker (migration 0010), not a read of
# every tenant's commands (tests/integration/device_sync/test_statement_plans.py). By the
# clock's name as people read names (a worker's few clocks, sorted here, not in Python, whose
# order is the code points': "Éclair Door" after "Zulu Gate").
_LATEST_COMMANDS = f"""
SELECT * FROM (
SELECT DISTINCT ON (q.clock_id) q.clock_id::text, c.name, c.site_id, c.revoked_at,
       h.last_seen_at, q.kind, q.sequence, q.created_at, q.acked_at, q.result_code, q.detail
FROM clock_commands q JOIN clocks c ON c.id = q.clock_id
LEFT JOIN clock_heartbeats h ON h.clock_id = q.clock_id
WHERE q.tenant_id = $1 AND q.worker_id = $2 AND q.kind = ANY($3::text[])
ORDER BY q.clock_id, q.sequence DESC
) latest ORDER BY {ordered("latest.name")}, latest.clock_id
"""
_PROFILE_COMMANDS = [CommandKind.UPSERT_WORKER.value, CommandKind.REMOVE_WORKER.value]
_TEMPLATE_COMMANDS = [CommandKind.UPSERT_TEMPLATES.value, CommandKind.DELETE_TEMPLATES.value]

_CLOCK_SELECT = """
SELECT c.id::text, c.tenant_id::text, c.serial_number, c.name, c.site_id, c.time_zone, c.protocol,
       c.device_verifies_pins, c.com_key_digest IS NOT NULL AS com_key_set,
       c.revoked_at, c.revoked_reason, c.last_sequence, c.created_at,
       c.updated_at,
       h.last_seen_at, coalesce(h.software_version, '') AS software_version,
       coalesce(h.applied_sequence, 0) AS applied_sequence,
       CASE WHEN c.protocol = 'ZK_PUSH'
         THEN (SELECT count(*) FROM clock_commands q
                WHERE q.clock_id = c.id AND q.acked_at IS NULL)
         ELSE (SELECT count(*) FROM clock_commands q
                WHERE q.clock_id = c.id AND q.sequence > coalesce(h.applied_sequence, 0))
       END AS pending_commands,
       z.firmware AS zk_firmware, z.users AS zk_users, z.fingerprints AS zk_fingerprints,
       z.faces AS zk_faces, z.punches AS zk_punches, z.ip AS zk_ip,
       z.last_poll_at AS zk_last_poll_at, z.skew_s AS zk_skew_s,
       z.skew_flagged AS zk_skew_flagged, z.tz_offset_told AS zk_time_zone_offset,
       z.attlog_stamp AS zk_attlog_stamp,
       (SELECT count(*) FROM assignments a JOIN workers w ON w.id = a.worker_id
         WHERE a.clock_id = c.id AND w.status <> 'Inactive') AS roster_size
FROM {clocks} c LEFT JOIN clock_heartbeats h ON h.clock_id = c.id
LEFT JOIN zk_clock_state z ON z.clock_id = c.id
"""
_ONE_CLOCK = _CLOCK_SELECT.format(clocks="clocks") + " WHERE c.tenant_id = $1 AND c.id = $2"
# A page of the list (by name as people read names, ``punchcard_kit.db.ordered``; the caller's
# sites, or all of them: $2 NULL). The page is taken first, in the order of
# ``clocks_tenant_name_icu`` (migration 0014), so each clock's counts (its pending commands, its
# roster) are made for the page's clocks only, never for every clock of the tenant; with the
# LIMIT outside, the clocks an OFFSET skips were counted too.
_CLOCKS_IN = "c.tenant_id = $1 AND ($2::text[] IS NULL OR c.site_id = ANY($2))"
_CLOCK_ORDER = f" ORDER BY {ordered('c.name')}, c.id"


def clock_filter(search: bool, ids: bool) -> tuple[str, int]:
    """The clocks list's condition ($1 the tenant, $2 the sites or NULL, then a search's LIKE
    pattern and the ids, each only when given: a separate statement per combination, so the
    ids are probes of the primary key in a generic plan too) and how many arguments it takes."""
    condition, given = _CLOCKS_IN, 2
    if search:
        given += 1
        condition += (
            f" AND ({folded('c.name')} LIKE ${given} OR {folded('c.serial_number')} LIKE ${given})"
        )
    if ids:
        given += 1
        condition += f" AND c.id = ANY(${given}::uuid[])"
    return condition, given


def clock_page(condition: str, given: int) -> str:
    """A page of the clocks of ``condition`` (``given`` arguments, then offset and limit)."""
    page = f"{_CLOCK_ORDER} OFFSET ${given + 1} LIMIT ${given + 2}"
    return _CLOCK_SELECT.format(clocks=f"(SELECT * FROM clocks c WHERE {condition}{page})") + (
        _CLOCK_ORDER
    )


_CLOCK_PAGE = clock_page(_CLOCKS_IN, 2)
_ROSTER = (
    " FROM assignments a JOIN workers w ON w.id = a.worker_id"
    " WHERE a.tenant_id = $1 AND a.clock_id = $2"
)

_DEVICE_FIELDS = (
    "firmware",
    "users",
    "fingerprints",
    "faces",
    "punches",
    "ip",
    "last_poll_at",
    "skew_s",
    "skew_flagged",
    "time_zone_offset",
    "attlog_stamp",
)


def _sources(direct: bool, site_rule: bool) -> list[str]:
    on = ((AssignmentSource.DIRECT, direct), (AssignmentSource.SITE_RULE, site_rule))
    return [str(source) for source, yes in on if yes]


# The distinct sites of a tenant's clocks (an index-only scan of clocks_tenant_site).
_SITES = (
    "SELECT DISTINCT site_id FROM clocks WHERE tenant_id = $1 AND site_id <> ''"
    " AND ($2::text[] IS NULL OR site_id = ANY($2))"
    " AND ($3::text IS NULL OR lower(site_id) ^@ $3)"
    " ORDER BY site_id LIMIT $4"
)


@dataclass(frozen=True)
class Views:
    pool: asyncpg.Pool
    offline_after: timedelta

    def _tx(self, tenant_id: str):
        return tenant_transaction(self.pool, APP_ROLE, tenant_id)

    def _clock(self, row: asyncpg.Record) -> dict:
        status = clock_status(
            row["revoked_at"] is not None,
            row["last_seen_at"],
            datetime.now(UTC),
            self.offline_after,
        )
        clock = {k: v for k, v in row.items() if not k.startswith("zk_")}
        del clock["tenant_id"]
        clock["status"] = str(status)
        if row["protocol"] == "ZK_PUSH":
            # A ZK clock acknowledges by command, not by a sequence it applied.
            clock["in_sync"] = row["pending_commands"] == 0
            clock["device"] = {name: row[f"zk_{name}"] for name in _DEVICE_FIELDS}
            clock["device"]["firmware"] = clock["device"]["firmware"] or ""
            clock["device"]["ip"] = clock["device"]["ip"] or ""
            clock["device"]["skew_flagged"] = bool(clock["device"]["skew_flagged"])
        else:
            clock["in_sync"] = row["applied_sequence"] >= row["last_sequence"]
            clock["device"] = None
        return clock

    async def _visible_clock(
        self, conn: asyncpg.Connection, caller: Caller, clock_id: str
    ) -> asyncpg.Record:
        row = await conn.fetchrow(_ONE_CLOCK, caller.tenant_id, clock_id)
        if row is None or not caller.may_act_on_site(row["site_id"]):
            raise errors.clock_not_found()
        return row

    async def _worker_site(
        self, conn: asyncpg.Connection, caller: Caller, worker_id: str
    ) -> str | None:
        """The site of a registered worker (None: not known here); WORKER_NOT_FOUND when the
        worker is at a site the caller does not see."""
        site_id = await conn.fetchval(
            "SELECT site_id FROM workers WHERE tenant_id = $1 AND id = $2 AND profile IS NOT NULL",
            caller.tenant_id,
            worker_id,
        )
        if site_id is not None and not caller.may_act_on_site(site_id):
            raise errors.worker_not_found()
        return site_id

    # --- clocks --------------------------------------------------------------------------

    async def clocks(
        self,
        caller: Caller,
        site_id: str | None,
        offset: int,
        limit: int,
        search: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> tuple[list[dict], int]:
        """A page of the clocks (of ``site_id`` when given; whose name or serial number
        contains ``search``; of ``ids`` only) the caller sees, by name, and how many there are
        in all."""
        sites: Sequence[str] | None = caller.site_scope()
        if site_id is not None:
            sites = (site_id,) if sites is None or site_id in sites else ()
        args: list[object] = [caller.tenant_id, list(sites) if sites is not None else None]
        if search is not None:
            args.append(contains_pattern(search))
        if ids is not None:
            args.append(list(ids))
        condition, given = clock_filter(search is not None, ids is not None)
        async with self._tx(caller.tenant_id) as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM clocks c WHERE {condition}", *args)
            page = clock_page(condition, given)
            rows = await conn.fetch(page, *args, offset, limit) if total > offset else []
        return [self._clock(r) for r in rows], total

    async def clock(self, caller: Caller, clock_id: str) -> dict:
        async with self._tx(caller.tenant_id) as conn:
            return self._clock(await self._visible_clock(conn, caller, clock_id))

    async def sites(self, caller: Caller, starts_with: str | None, limit: int) -> list[str]:
        """The sites of the tenant's clocks (revoked ones too: their punches stay), those of a
        manager's own sites only, by name; only those starting with ``starts_with`` (any case)
        when given. The portal's Site boxes suggest them."""
        sites = caller.site_scope()
        async with self._tx(caller.tenant_id) as conn:
            rows = await conn.fetch(
                _SITES,
                caller.tenant_id,
                list(sites) if sites is not None else None,
                starts_with.lower() if starts_with else None,
                limit,
            )
        return [r["site_id"] for r in rows]

    async def clock_commands(
        self, caller: Caller, clock_id: str, pending_only: bool, limit: int
    ) -> list[dict]:
        async with self._tx(caller.tenant_id) as conn:
            await self._visible_clock(conn, caller, clock_id)
            rows = await conn.fetch(
                "SELECT q.command_id::text, q.sequence, q.kind, q.worker_id::text, q.created_at,"
                " q.acked_at, q.result_code, q.detail, q.delivered_at, q.deliveries"
                " FROM clock_commands q"
                " LEFT JOIN clock_heartbeats h ON h.clock_id = q.clock_id"
                " JOIN clocks c ON c.id = q.clock_id"
                " WHERE q.tenant_id = $1 AND q.clock_id = $2"
                " AND (NOT $3 OR CASE WHEN c.protocol = 'ZK_PUSH' THEN q.acked_at IS NULL"
                "      ELSE q.sequence > coalesce(h.applied_sequence, 0) END)"
                " ORDER BY q.sequence DESC LIMIT $4",
                caller.tenant_id,
                clock_id,
                pending_only,
                limit,
            )
        return [dict(r) for r in rows]

    # --- assignments ---------------------------------------------------------------------

    async def clock_workers(
        self, caller: Caller, clock_id: str, offset: int, limit: int
    ) -> tuple[list[dict], int]:
        """A page of the workers who may use the clock, by name, and how many there are."""
        async with self._tx(caller.tenant_id) as conn:
            await self._visible_clock(conn, caller, clock_id)
            total = await conn.fetchval("SELECT count(*)" + _ROSTER, caller.tenant_id, clock_id)
            rows = await conn.fetch(
                "SELECT a.worker_id::text, w.employee_id, w.display_name, w.status, a.direct,"
                " a.site_rule, a.assigned_at, a.clock_role"
                + _ROSTER
                + f" ORDER BY {ordered('w.display_name')}, w.id OFFSET $3 LIMIT $4",
                caller.tenant_id,
                clock_id,
                offset,
                limit,
            )
        return [
            {
                "worker_id": r["worker_id"],
                "employee_id": r["employee_id"],
                "display_name": r["display_name"],
                "status": r["status"],
                "sources": _sources(r["direct"], r["site_rule"]),
                "assigned_at": r["assigned_at"],
                "on_clock": r["status"] != WorkerStatus.INACTIVE,
                "clock_role": r["clock_role"],
            }
            for r in rows
        ], total

    async def worker_clocks(self, caller: Caller, worker_id: str) -> dict:
        """The worker's clocks, each with its liveness and where the worker's latest command
        on it stands (``sync``: sent / waiting / acknowledged / failed / revoked); and
        ``removed``: clocks the worker was taken off whose REMOVE_WORKER is recent (kept while
        its command is)."""
        tenant_id = caller.tenant_id
        async with self._tx(tenant_id) as conn:
            await self._worker_site(conn, caller, worker_id)
            rows = await conn.fetch(
                "SELECT c.id::text AS clock_id, c.name, c.site_id, c.serial_number, a.direct,"
                " a.site_rule, a.assigned_at, a.clock_role, c.revoked_at, h.last_seen_at"
                " FROM assignments a"
                " JOIN clocks c ON c.id = a.clock_id"
                " LEFT JOIN clock_heartbeats h ON h.clock_id = c.id"
                " WHERE a.tenant_id = $1 AND a.worker_id = $2" + _CLOCK_ORDER,
                tenant_id,
                worker_id,
            )
            # Per clock, the latest command about this worker (acknowledged ones are kept
            # COMMAND_RETENTION_DAYS), with the clock's name, site and liveness.
            latest = {
                r["clock_id"]: r
                for r in await conn.fetch(_LATEST_COMMANDS, tenant_id, worker_id, _PROFILE_COMMANDS)
            }
        now = datetime.now(UTC)

        def status(row: asyncpg.Record) -> ClockStatus:
            # An acknowledgement is a request from the clock: it was seen then, even if its
            # heartbeat is still in the batch that has not been written yet.
            command = latest.get(row["clock_id"])
            seen = [t for t in (row["last_seen_at"], command and command["acked_at"]) if t]
            revoked = row["revoked_at"] is not None
            return clock_status(revoked, max(seen, default=None), now, self.offline_after)

        def sync(clock_id: str, clock_state: ClockStatus) -> dict | None:
            command = latest.get(clock_id)
            if command is None:
                return None
            state = sync_state(command["acked_at"] is not None, command["result_code"], clock_state)
            return {
                "kind": command["kind"],
                "sequence": command["sequence"],
                "state": str(state),
                "queued_at": command["created_at"],
                "acked_at": command["acked_at"],
                "result_code": command["result_code"],
                "detail": command["detail"] or "",
            }

        assigned = []
        for r in rows:
            if not caller.may_act_on_site(r["site_id"]):
                continue
            state = status(r)
            assigned.append(
                {
                    "clock_id": r["clock_id"],
                    "name": r["name"],
                    "site_id": r["site_id"],
                    "serial_number": r["serial_number"],
                    "sources": _sources(r["direct"], r["site_rule"]),
                    "assigned_at": r["assigned_at"],
                    "revoked": r["revoked_at"] is not None,
                    "clock_status": str(state),
                    "sync": sync(r["clock_id"], state),
                    "clock_role": r["clock_role"],
                }
            )
        on = {r["clock_id"] for r in rows}
        removed = []  # by name, in _LATEST_COMMANDS's order
        for clock_id, command in latest.items():
            if clock_id in on or command["kind"] != CommandKind.REMOVE_WORKER:
                continue
            if not caller.may_act_on_site(command["site_id"]):
                continue
            state = status(command)
            removed.append(
                {
                    "clock_id": clock_id,
                    "name": command["name"],
                    "site_id": command["site_id"],
                    "clock_status": str(state),
                    "sync": sync(clock_id, state),
                }
            )
        return {"data": assigned, "count": len(assigned), "removed": removed}

    # --- biometric templates -------------------------------------------------------------

    async def worker_biometrics(self, caller: Caller, worker_id: str) -> dict:
        """How many templates of each kind device-sync holds for the worker (never the
        templates), when they last changed, and per ZK clock where the worker's latest
        template command stands (a push, or a deletion: sent / waiting / acknowledged /
        failed / revoked, with the device's result code)."""
        tenant_id = caller.tenant_id
        async with self._tx(tenant_id) as conn:
            if await self._worker_site(conn, caller, worker_id) is None:
                raise errors.worker_not_found()
            templates = await conn.fetch(
                "SELECT kind, updated_at FROM biometric_templates"
                " WHERE tenant_id = $1 AND worker_id = $2",
                tenant_id,
                worker_id,
            )
            rows = await conn.fetch(_LATEST_COMMANDS, tenant_id, worker_id, _TEMPLATE_COMMANDS)
        now = datetime.now(UTC)
        clocks = []  # by name, in _LATEST_COMMANDS's order
        for r in rows:
            if not caller.may_act_on_site(r["site_id"]):
                continue
            seen = [t for t in (r["last_seen_at"], r["acked_at"]) if t]
            status = clock_status(
                r["revoked_at"] is not None, max(seen, default=None), now, self.offline_after
            )
            state = sync_state(r["acked_at"] is not None, r["result_code"], status)
            clocks.append(
                {
                    "clock_id": r["clock_id"],
                    "name": r["name"],
                    "kind": r["kind"],
                    "state": str(state),
                    "queued_at": r["created_at"],
                    "acked_at": r["acked_at"],
                    "result_code": r["result_code"],
                }
            )
        tally = counts(t["kind"] for t in templates)
        return {
            "fingerprints": tally.fingerprints,
            "faces": tally.faces,
            "palms": tally.palms,
            "photos": tally.photos,
            "updated_at": max((t["updated_at"] for t in templates), default=None),
            "clocks": clocks,
        }

    # --- site rules ----------------------------------------------------------------------

    async def site_rule(self, caller: Caller, site_id: str) -> dict:
        enabled = False
        if site_id:
            async with self._tx(caller.tenant_id) as conn:
                enabled = bool(
                    await conn.fetchval(
                        "SELECT enabled FROM site_rules WHERE tenant_id = $1 AND site_id = $2",
                        caller.tenant_id,
                        site_id,
                    )
                )
        return {"site_id": site_id, "enabled": enabled}

    # --- devices trying to connect ---------------------------------------------------------

    async def unregistered(self, caller: Caller, limit: int = 1000) -> list[dict]:
        """ZK devices calling with a serial no clock has (no tenant owns them yet: every
        tenant's sysadmin sees them, to adopt one)."""
        require_role(caller, "sysadmin")
        rows = await self.pool.fetch(
            "SELECT serial_number, first_seen_at, last_seen_at, requests, remote_addr,"
            " push_version FROM zk_unregistered ORDER BY last_seen_at DESC LIMIT $1",
            limit,
        )
        return [dict(r) for r in rows]

    # --- the clock side ------------------------------------------------------------------

    async def whoami(self, clock: AuthenticatedClock) -> dict:
        """The clock a credential belongs to, with its name, site and time zone (a revoked
        one: CLOCK_UNAUTHORIZED, as for ``sync``)."""
        async with self._tx(clock.tenant_id) as conn:
            row = await conn.fetchrow(
                "SELECT name, site_id, time_zone, revoked_at FROM clocks"
                " WHERE tenant_id = $1 AND id = $2",
                clock.tenant_id,
                clock.clock_id,
            )
        if row is None or row["revoked_at"] is not None:
            raise errors.clock_unauthorized()
        return {
            "tenant_id": clock.tenant_id,
            "clock_id": clock.clock_id,
            "name": row["name"],
            "site_id": row["site_id"],
            "time_zone": row["time_zone"],
        }
