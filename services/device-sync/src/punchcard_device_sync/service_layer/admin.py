"""Admin use cases: clocks, assignments and site rules. Each runs in one tenant transaction;
its events and clock commands are written in that transaction. Roles and sites are checked
here, whatever the gateway checked before (the kit's one rule, ``punchcard_kit.access``): a
sysadmin registers, edits, revokes and resyncs clocks and sets site rules; a manager assigns
only workers of their sites to clocks of their sites, and sees only those; a viewer reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from punchcard.v1 import device_pb2
from punchcard_kit.access import WRITERS, require_role, require_site
from punchcard_kit.http_errors import ApiError
from punchcard_kit.internal_auth import Caller
from punchcard_kit.logging import get_logger
from punchcard_kit.tenancy import tenant_transaction

from ..adapters import repository as repo
from ..domain.model import (
    ClockStatus,
    CommandKind,
    clock_status,
    credential_hash,
    new_credential,
    sync_state,
)
from . import events, roster

log = get_logger(__name__)

MAX_BULK_PAIRS = 5000


@dataclass(frozen=True)
class Admin:
    pool: asyncpg.Pool
    offline_after: timedelta

    def tx(self, caller: Caller):
        return tenant_transaction(self.pool, repo.APP_ROLE, caller.tenant_id)

    def view(self, clock: repo.ClockRow) -> dict:
        status = clock_status(
            clock.revoked_at is not None, clock.last_seen_at, datetime.now(UTC), self.offline_after
        )
        return {
            "id": clock.id,
            "serial_number": clock.serial_number,
            "name": clock.name,
            "site_id": clock.site_id,
            "time_zone": clock.time_zone,
            "protocol": clock.protocol,
            "status": str(status),
            "last_seen_at": clock.last_seen_at,
            "software_version": clock.software_version,
            "applied_sequence": clock.applied_sequence,
            "last_sequence": clock.last_sequence,
            "pending_commands": clock.pending_commands,
            "in_sync": clock.applied_sequence >= clock.last_sequence,
            "roster_size": clock.roster_size,
            "revoked_at": clock.revoked_at,
            "revoked_reason": clock.revoked_reason,
            "created_at": clock.created_at,
            "updated_at": clock.updated_at,
        }


def check_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(
            422, "INVALID_TIME_ZONE", f"{name!r} is not an IANA time zone", "time_zone"
        ) from None


def _sites(caller: Caller) -> tuple[str, ...] | None:
    """The sites a caller is limited to (None: every site; the kit's one rule)."""
    return caller.site_scope()


def _visible(caller: Caller, site_id: str) -> bool:
    return caller.may_act_on_site(site_id)


def _sysadmin(caller: Caller) -> None:
    require_role(caller, "sysadmin")


async def _clock_for(conn: asyncpg.Connection, caller: Caller, clock_id: str) -> repo.ClockRow:
    clock = await repo.get_clock(conn, caller.tenant_id, clock_id)
    if clock is None or not _visible(caller, clock.site_id):
        raise ApiError(404, "CLOCK_NOT_FOUND", "clock not found", "clock_id")
    return clock


# --- clocks ------------------------------------------------------------------------------


async def register_clock(
    admin: Admin, caller: Caller, serial_number: str, name: str, site_id: str, time_zone: str
) -> tuple[dict, str]:
    _sysadmin(caller)
    check_time_zone(time_zone)
    clock_id = str(uuid.uuid4())
    credential = new_credential(clock_id)
    async with admin.tx(caller) as conn:
        created = await repo.insert_clock(
            conn,
            tenant_id=caller.tenant_id,
            clock_id=clock_id,
            serial_number=serial_number,
            name=name,
            site_id=site_id,
            time_zone=time_zone,
            credential_hash=credential_hash(credential),
        )
        if not created:
            raise ApiError(
                409,
                "DUPLICATE_SERIAL_NUMBER",
                "a clock with this serial number is already registered",
                "serial_number",
            )
        await events.clock_event(
            conn,
            caller.tenant_id,
            clock_id,
            device_pb2.ClockRegistered(
                clock_id=clock_id,
                serial_number=serial_number,
                name=name,
                site_id=site_id,
                time_zone=time_zone,
                protocol=device_pb2.CLOCK_PROTOCOL_KIOSK_APP,
            ),
            caller.request_id,
        )
        await roster.apply_site_rule_to_clock(
            conn, caller.tenant_id, clock_id, site_id, caller.request_id
        )
        clock = await repo.get_clock(conn, caller.tenant_id, clock_id)
    assert clock is not None
    log.info("clock registered", clock_id=clock_id, site_id=site_id)
    return admin.view(clock), credential


async def list_clocks(admin: Admin, caller: Caller, site_id: str | None) -> list[dict]:
    sites = _sites(caller)
    if site_id is not None:
        sites = (site_id,) if sites is None or site_id in sites else ()
    async with admin.tx(caller) as conn:
        clocks = await repo.list_clocks(conn, caller.tenant_id, sites)
    return [admin.view(c) for c in clocks]


async def get_clock(admin: Admin, caller: Caller, clock_id: str) -> dict:
    async with admin.tx(caller) as conn:
        return admin.view(await _clock_for(conn, caller, clock_id))


async def update_clock(
    admin: Admin,
    caller: Caller,
    clock_id: str,
    name: str | None,
    site_id: str | None,
    time_zone: str | None,
) -> dict:
    _sysadmin(caller)
    if time_zone is not None:
        check_time_zone(time_zone)
    async with admin.tx(caller) as conn:
        await _clock_for(conn, caller, clock_id)
        row = await repo.lock_clock(conn, caller.tenant_id, clock_id)
        new = (name or row["name"], row["site_id"] if site_id is None else site_id)
        tz = time_zone or row["time_zone"]
        await repo.update_clock(conn, caller.tenant_id, clock_id, new[0], new[1], tz)
        await events.clock_event(
            conn,
            caller.tenant_id,
            clock_id,
            device_pb2.ClockUpdated(clock_id=clock_id, name=new[0], site_id=new[1], time_zone=tz),
            caller.request_id,
        )
        if new[1] != row["site_id"] and row["revoked_at"] is None:
            await roster.apply_site_rule_to_clock(
                conn, caller.tenant_id, clock_id, new[1], caller.request_id
            )
        clock = await repo.get_clock(conn, caller.tenant_id, clock_id)
    assert clock is not None
    return admin.view(clock)


async def revoke_clock(admin: Admin, caller: Caller, clock_id: str, reason: str) -> dict:
    _sysadmin(caller)
    async with admin.tx(caller) as conn:
        clock = await _clock_for(conn, caller, clock_id)
        if clock.revoked_at is None:
            await repo.lock_clock(conn, caller.tenant_id, clock_id)
            await repo.revoke_clock(conn, caller.tenant_id, clock_id, reason)
            await events.clock_event(
                conn,
                caller.tenant_id,
                clock_id,
                device_pb2.ClockRevoked(clock_id=clock_id, reason=reason),
                caller.request_id,
            )
            await repo.notify(conn, [clock_id], prefix="r:")
            log.info("clock revoked", clock_id=clock_id)
        clock = await repo.get_clock(conn, caller.tenant_id, clock_id)
    assert clock is not None
    return admin.view(clock)


async def rotate_credential(admin: Admin, caller: Caller, clock_id: str) -> tuple[dict, str]:
    _sysadmin(caller)
    credential = new_credential(clock_id)
    async with admin.tx(caller) as conn:
        clock = await _clock_for(conn, caller, clock_id)
        if clock.revoked_at is not None:
            raise ApiError(409, "CLOCK_REVOKED", "the clock is revoked", "clock_id")
        await repo.set_credential(conn, caller.tenant_id, clock_id, credential_hash(credential))
        await repo.notify(conn, [clock_id], prefix="r:")
    log.info("clock credential rotated", clock_id=clock_id)
    return admin.view(clock), credential


async def request_resync(admin: Admin, caller: Caller, clock_id: str, reason: str) -> int:
    _sysadmin(caller)
    async with admin.tx(caller) as conn:
        clock = await _clock_for(conn, caller, clock_id)
        if clock.revoked_at is not None:
            raise ApiError(409, "CLOCK_REVOKED", "the clock is revoked", "clock_id")
        queued = await roster.full_resync(conn, caller.tenant_id, clock_id, reason)
    return len(queued)


async def clock_commands(
    admin: Admin, caller: Caller, clock_id: str, pending_only: bool, limit: int
) -> list[dict]:
    async with admin.tx(caller) as conn:
        await _clock_for(conn, caller, clock_id)
        rows = await repo.list_commands(conn, caller.tenant_id, clock_id, pending_only, limit)
    return [dict(r) for r in rows]


# --- assignments --------------------------------------------------------------------------


def _source(direct: bool, site_rule: bool) -> list[str]:
    return [name for name, on in (("direct", direct), ("site_rule", site_rule)) if on]


async def clock_workers(admin: Admin, caller: Caller, clock_id: str) -> list[dict]:
    async with admin.tx(caller) as conn:
        await _clock_for(conn, caller, clock_id)
        rows = await repo.workers_of_clock(conn, caller.tenant_id, clock_id)
    return [
        {
            "worker_id": r["worker_id"],
            "employee_id": r["employee_id"],
            "display_name": r["display_name"],
            "status": r["status"],
            "sources": _source(r["direct"], r["site_rule"]),
            "assigned_at": r["assigned_at"],
            "on_clock": r["status"] != "Inactive",
        }
        for r in rows
    ]


async def worker_clocks(admin: Admin, caller: Caller, worker_id: str) -> dict:
    """The worker's clocks, each with its liveness and where the worker's latest command on
    it stands (``sync``: sent / waiting / acknowledged / failed / revoked); and ``removed``:
    clocks the worker was taken off whose REMOVE_WORKER is recent (kept while its command is)."""
    async with admin.tx(caller) as conn:
        site_id = await repo.worker_site(conn, caller.tenant_id, worker_id)
        if site_id is not None and not caller.may_act_on_site(site_id):
            raise ApiError(404, "WORKER_NOT_FOUND", "worker not found", "worker_id")
        rows = await repo.clocks_assigned_to(conn, caller.tenant_id, worker_id)
        latest = {
            r["clock_id"]: r
            for r in await repo.latest_commands_of_worker(conn, caller.tenant_id, worker_id)
        }
    now = datetime.now(UTC)

    def status(row: asyncpg.Record) -> str:
        # An acknowledgement is a request from the clock: it was seen then, even if its
        # heartbeat is still in the batch that has not been written yet.
        command = latest.get(row["clock_id"])
        seen = [t for t in (row["last_seen_at"], command and command["acked_at"]) if t]
        revoked = row["revoked_at"] is not None
        return str(clock_status(revoked, max(seen, default=None), now, admin.offline_after))

    def sync(clock_id: str, clock_state: str) -> dict | None:
        command = latest.get(clock_id)
        if command is None:
            return None
        state = sync_state(
            command["acked_at"] is not None, command["result_code"], ClockStatus(clock_state)
        )
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
        if not _visible(caller, r["site_id"]):
            continue
        state = status(r)
        assigned.append(
            {
                "clock_id": r["clock_id"],
                "name": r["name"],
                "site_id": r["site_id"],
                "serial_number": r["serial_number"],
                "sources": _source(r["direct"], r["site_rule"]),
                "assigned_at": r["assigned_at"],
                "revoked": r["revoked_at"] is not None,
                "clock_status": state,
                "sync": sync(r["clock_id"], state),
            }
        )
    on = {r["clock_id"] for r in rows}
    removed = []
    for clock_id, command in latest.items():
        if clock_id in on or command["kind"] != CommandKind.REMOVE_WORKER:
            continue
        if not _visible(caller, command["site_id"]):
            continue
        state = status(command)
        removed.append(
            {
                "clock_id": clock_id,
                "name": command["name"],
                "site_id": command["site_id"],
                "clock_status": state,
                "sync": sync(clock_id, state),
            }
        )
    removed.sort(key=lambda c: (c["name"], c["clock_id"]))
    return {"data": assigned, "count": len(assigned), "removed": removed}


async def change_assignments(
    admin: Admin,
    caller: Caller,
    assign: Sequence[tuple[str, str]],
    unassign: Sequence[tuple[str, str]],
) -> dict:
    """All or nothing: every clock must exist (and be visible to the caller), every worker
    assigned must be known and not Inactive, and a manager's workers must be of their sites;
    otherwise nothing changes."""
    require_role(caller, *WRITERS)
    if len(assign) + len(unassign) > MAX_BULK_PAIRS:
        raise ApiError(422, "TOO_MANY", f"at most {MAX_BULK_PAIRS} pairs per request", "assign")
    assign = list(dict.fromkeys(assign))
    unassign = list(dict.fromkeys(unassign))
    async with admin.tx(caller) as conn:
        clocks = await repo.existing_clocks(
            conn, caller.tenant_id, sorted({c for c, _ in (*assign, *unassign)})
        )
        for field, pairs in (("assign", assign), ("unassign", unassign)):
            for clock_id, _ in pairs:
                clock = clocks.get(clock_id)
                if clock is None or not _visible(caller, clock["site_id"]):
                    raise ApiError(404, "CLOCK_NOT_FOUND", f"clock {clock_id} not found", field)
                if field == "assign" and clock["revoked_at"] is not None:
                    raise ApiError(409, "CLOCK_REVOKED", f"clock {clock_id} is revoked", field)
        workers = await repo.workers_by_id(
            conn, caller.tenant_id, sorted({w for _, w in (*assign, *unassign)})
        )
        if _sites(caller) is not None:
            # (A worker not known yet is answered WORKER_NOT_FOUND below, to be retried.)
            for _, worker_id in (*assign, *unassign):
                if worker_id in workers:
                    require_site(caller, workers[worker_id][0].site_id, "worker_id")
        for _, worker_id in assign:
            known = workers.get(worker_id)
            if known is None:
                raise ApiError(
                    404,
                    "WORKER_NOT_FOUND",
                    f"worker {worker_id} is not known to device-sync (a worker created a"
                    " moment ago arrives within seconds; try again)",
                    "worker_id",
                )
            if not known[0].on_clocks:
                raise ApiError(
                    409, "WORKER_INACTIVE", f"worker {worker_id} is Inactive", "worker_id"
                )
        added, removed, queued = await roster.change_assignments(
            conn,
            caller.tenant_id,
            assign,
            unassign,
            correlation_id=caller.request_id,
            workers=workers,
        )
    return {"assigned": len(added), "unassigned": len(removed), "commands_queued": len(queued)}


async def set_site_rule(admin: Admin, caller: Caller, site_id: str, enabled: bool) -> dict:
    _sysadmin(caller)
    async with admin.tx(caller) as conn:
        added, removed = await roster.apply_site_rule(
            conn, caller.tenant_id, site_id, enabled, caller.request_id
        )
    return {
        "site_id": site_id,
        "enabled": enabled,
        "assigned": len(added),
        "unassigned": len(removed),
    }


async def get_site_rule(admin: Admin, caller: Caller, site_id: str) -> dict:
    async with admin.tx(caller) as conn:
        enabled = await repo.site_rule_enabled(conn, caller.tenant_id, site_id)
    return {"site_id": site_id, "enabled": enabled}
