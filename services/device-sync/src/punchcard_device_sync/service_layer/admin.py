"""Admin use cases: clocks, credentials, assignments and site rules. Each runs in one unit of
work; its events and clock commands are written in it. Roles and sites are checked here,
whatever the gateway checked before (the kit's one rule, ``punchcard_kit.access``): a sysadmin
registers, edits, revokes and resyncs clocks and sets site rules; a manager assigns only
workers of their sites to clocks of their sites; a viewer reads (``views.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from punchcard.v1 import device_pb2
from punchcard_kit.access import WRITERS, require_role, require_site
from punchcard_kit.caller import Caller
from punchcard_kit.logging import get_logger
from punchcard_kit.retry import until_projected

from ..domain import errors, zk
from ..domain.model import (
    Clock,
    ClockRole,
    credential_hash,
    may_set_clock_role,
    new_credential,
    opens_clock_settings,
)
from ..domain.roster import Pair, both_ways
from . import events, roster
from .unit_of_work import UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)

# Pairs in each of a bulk change's lists (what its OpenAPI declares as maxItems).
MAX_BULK_PAIRS = 5000


def _sysadmin(caller: Caller) -> None:
    require_role(caller, "sysadmin")


async def _clock_for(uow: UnitOfWork, caller: Caller, clock_id: str) -> Clock:
    clock = await uow.clocks.get(clock_id)
    if clock is None or not caller.may_act_on_site(clock.site_id):
        raise errors.clock_not_found()
    return clock


# --- clocks ------------------------------------------------------------------------------


PROTOCOLS = {
    "KIOSK_APP": device_pb2.CLOCK_PROTOCOL_KIOSK_APP,
    "ZK_PUSH": device_pb2.CLOCK_PROTOCOL_ZK_PUSH,
}


@dataclass(frozen=True)
class RegisterClock:
    caller: Caller
    serial_number: str
    name: str
    site_id: str
    time_zone: str
    protocol: str = "KIOSK_APP"
    com_key: str | None = None  # ZK_PUSH only: the device's Comm Key, if it has one


@dataclass(frozen=True)
class Registered:
    clock_id: str
    credential: str  # shown once


async def register_clock(cmd: RegisterClock, uow: UnitOfWorkFactory) -> Registered:
    caller = cmd.caller
    _sysadmin(caller)
    errors.check_time_zone(cmd.time_zone)
    if cmd.com_key is not None:
        if cmd.protocol != "ZK_PUSH":
            raise errors.not_a_zk_clock("com_key", registering=True)
        errors.check_com_key(cmd.com_key)
    async with uow(caller.tenant_id) as tx:
        registered = await _register(tx, cmd)
        await tx.commit()
    log.info("clock registered", clock_id=registered.clock_id, site_id=cmd.site_id)
    return registered


async def _register(tx: UnitOfWork, cmd: RegisterClock) -> Registered:
    """A ZK PUSH clock's serial is unique across tenants, in any case (the device names
    itself by it: ``zk.serial_key``)."""
    caller = cmd.caller
    clock = Clock(str(uuid.uuid4()), cmd.name, cmd.site_id, cmd.time_zone)
    credential = new_credential(clock.id)
    if not await tx.clocks.add(clock, cmd.serial_number, credential_hash(credential), cmd.protocol):
        raise errors.duplicate_serial_number()
    if cmd.protocol == "ZK_PUSH":
        key = zk.serial_key(cmd.serial_number)
        if not await tx.zk.register_device(key, clock.id):
            raise errors.duplicate_serial_number()
        await tx.zk.forget_unregistered(key)  # no longer listed as trying to connect
    if cmd.com_key:
        await tx.zk.set_com_key(clock.id, zk.com_key_digest(clock.id, cmd.com_key))
    await events.clock_event(
        tx,
        clock.id,
        device_pb2.ClockRegistered(
            clock_id=clock.id,
            serial_number=cmd.serial_number,
            name=clock.name,
            site_id=clock.site_id,
            time_zone=clock.time_zone,
            protocol=PROTOCOLS[cmd.protocol],
        ),
        caller.request_id,
    )
    await roster.apply_site_rule_to_clock(tx, clock.id, clock.site_id, caller.request_id)
    return Registered(clock.id, credential)


@dataclass(frozen=True)
class AdoptDevice:
    """Register a device that tried to connect (``GET /devices/unregistered``) as a ZK PUSH
    clock of the caller's tenant, in one step."""

    caller: Caller
    serial_number: str
    name: str
    site_id: str
    time_zone: str


async def adopt_device(cmd: AdoptDevice, uow: UnitOfWorkFactory) -> Registered:
    caller = cmd.caller
    _sysadmin(caller)
    errors.check_time_zone(cmd.time_zone)
    async with uow(caller.tenant_id) as tx:
        if not await tx.zk.forget_unregistered(cmd.serial_number):
            raise errors.device_not_found()
        registered = await _register(
            tx,
            RegisterClock(
                caller, cmd.serial_number, cmd.name, cmd.site_id, cmd.time_zone, "ZK_PUSH"
            ),
        )
        await tx.commit()
    log.info("device adopted", clock_id=registered.clock_id, site_id=cmd.site_id)
    return registered


@dataclass(frozen=True)
class UpdateClock:
    caller: Caller
    clock_id: str
    name: str | None = None
    site_id: str | None = None
    time_zone: str | None = None


async def update_clock(cmd: UpdateClock, uow: UnitOfWorkFactory) -> None:
    caller = cmd.caller
    _sysadmin(caller)
    if cmd.time_zone is not None:
        errors.check_time_zone(cmd.time_zone)
    async with uow(caller.tenant_id) as tx:
        await _clock_for(tx, caller, cmd.clock_id)
        row = await tx.clocks.lock(cmd.clock_id)
        name = cmd.name or row.name
        site_id = row.site_id if cmd.site_id is None else cmd.site_id
        tz = cmd.time_zone or row.time_zone
        await tx.clocks.update(cmd.clock_id, name, site_id, tz)
        await events.clock_event(
            tx,
            cmd.clock_id,
            device_pb2.ClockUpdated(
                clock_id=cmd.clock_id, name=name, site_id=site_id, time_zone=tz
            ),
            caller.request_id,
        )
        if site_id != row.site_id and not row.revoked:
            await roster.apply_site_rule_to_clock(
                tx, cmd.clock_id, site_id, caller.request_id, left=row.site_id
            )
        if tz != row.time_zone:
            # Every replica drops what it cached of the clock (a ZK clock's zone).
            await tx.clocks.credentials_changed([cmd.clock_id])
        await tx.commit()


async def set_com_key(
    caller: Caller, clock_id: str, key: str | None, uow: UnitOfWorkFactory
) -> None:
    """A sysadmin sets a ZK clock's Comm Key (what is typed on the device), or removes it
    (None). Only its digest is kept; every replica drops what it cached of the clock, and the
    device must then show the new key on its next handshake."""
    _sysadmin(caller)
    if key is not None:
        errors.check_com_key(key)
    async with uow(caller.tenant_id) as tx:
        await _clock_for(tx, caller, clock_id)
        await tx.clocks.lock(clock_id)
        digest = zk.com_key_digest(clock_id, key) if key is not None else None
        if not await tx.zk.set_com_key(clock_id, digest):
            raise errors.not_a_zk_clock("com_key")
        await tx.clocks.credentials_changed([clock_id])
        await tx.commit()
    log.info("clock comm key changed", clock_id=clock_id, set=key is not None)


@dataclass(frozen=True)
class RevokeClock:
    caller: Caller
    clock_id: str
    reason: str = ""


async def revoke_clock(cmd: RevokeClock, uow: UnitOfWorkFactory) -> None:
    """Idempotent: a revoked clock stays as it was revoked."""
    caller = cmd.caller
    _sysadmin(caller)
    async with uow(caller.tenant_id) as tx:
        clock = await _clock_for(tx, caller, cmd.clock_id)
        if clock.revoked:
            return
        await tx.clocks.lock(cmd.clock_id)
        await tx.clocks.revoke(cmd.clock_id, cmd.reason)
        await tx.zk.revoke_device(cmd.clock_id)
        await events.clock_event(
            tx,
            cmd.clock_id,
            device_pb2.ClockRevoked(clock_id=cmd.clock_id, reason=cmd.reason),
            caller.request_id,
        )
        await tx.clocks.credentials_changed([cmd.clock_id])
        await tx.commit()
    log.info("clock revoked", clock_id=cmd.clock_id)


@dataclass(frozen=True)
class RotateCredential:
    caller: Caller
    clock_id: str


async def rotate_credential(cmd: RotateCredential, uow: UnitOfWorkFactory) -> str:
    """The clock's new credential (shown once); the old one stops working at once."""
    caller = cmd.caller
    _sysadmin(caller)
    credential = new_credential(cmd.clock_id)
    async with uow(caller.tenant_id) as tx:
        clock = await _clock_for(tx, caller, cmd.clock_id)
        if clock.revoked:
            raise errors.clock_revoked()
        await tx.clocks.set_credential(cmd.clock_id, credential_hash(credential))
        await events.clock_event(
            tx,
            cmd.clock_id,
            device_pb2.ClockCredentialRotated(clock_id=cmd.clock_id),
            caller.request_id,
        )
        await tx.clocks.credentials_changed([cmd.clock_id])
        await tx.commit()
    log.info("clock credential rotated", clock_id=cmd.clock_id)
    return credential


@dataclass(frozen=True)
class RequestResync:
    caller: Caller
    clock_id: str
    reason: str = "admin request"


async def request_resync(cmd: RequestResync, uow: UnitOfWorkFactory) -> int:
    """The number of commands queued (FULL_RESYNC and the roster)."""
    caller = cmd.caller
    _sysadmin(caller)
    async with uow(caller.tenant_id) as tx:
        clock = await _clock_for(tx, caller, cmd.clock_id)
        if clock.revoked:
            raise errors.clock_revoked()
        queued = await roster.full_resync(tx, cmd.clock_id, cmd.reason)
        await tx.commit()
    return len(queued)


@dataclass(frozen=True)
class ClockAsksResync:
    """A clock asks for its own full resync (the kiosk app's "Sync roster now"), for the
    worker signed in at it (``requested_by``: the gateway verified their PIN with identity);
    this service, which owns clock roles, checks that worker is the clock's Administrator."""

    tenant_id: str
    clock_id: str
    requested_by: str


async def resync_by_clock(cmd: ClockAsksResync, uow: UnitOfWorkFactory) -> int:
    """The number of commands queued (FULL_RESYNC and the roster)."""
    async with uow(cmd.tenant_id) as tx:
        pair = (cmd.clock_id, cmd.requested_by)
        role = (await tx.assignments.roles_of([pair])).get(pair)
        if not opens_clock_settings(role):
            raise errors.Forbidden(
                "only an Administrator of this clock may resync it from the clock",
                "requested_by",
                code="KIOSK_ROLE_REQUIRED",
            )
        queued = await roster.full_resync(
            tx, cmd.clock_id, "the clock's Administrator asked (kiosk settings)"
        )
        await tx.commit()
    log.info(
        "clock resync requested at the clock",
        clock_id=cmd.clock_id,
        requested_by=cmd.requested_by,
        commands=len(queued),
    )
    return len(queued)


# --- assignments --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeAssignments:
    """All or nothing: every clock must exist (and be visible to the caller), every worker
    assigned must be known and not Inactive, and a manager's workers must be of their sites;
    otherwise nothing changes. ``roles``: the role of an assigned pair on its clock (absent:
    USER for a new pair, unchanged for one assigned already); only a sysadmin grants
    ADMINISTRATOR (it opens the clock's settings), a manager grants USER and MANAGER."""

    caller: Caller
    assign: Sequence[Pair] = field(default_factory=tuple)
    unassign: Sequence[Pair] = field(default_factory=tuple)
    roles: Mapping[Pair, ClockRole] = field(default_factory=dict)
    # How long a worker device-sync has not learnt yet is waited for (PROJECTION_WAIT_S): one
    # created at identity a moment ago is assigned, not refused, while its event arrives.
    worker_wait_s: float = 0.0
    # The one pair is the request's path (PUT/DELETE /clocks/{clock_id}/workers/{worker_id}):
    # a refusal names its clock_id, not a body's "assign" or "unassign" it does not have.
    from_path: bool = False


@dataclass(frozen=True)
class AssignmentsChanged:
    assigned: int
    unassigned: int
    commands_queued: int
    roles_changed: int = 0


async def change_assignments(cmd: ChangeAssignments, uow: UnitOfWorkFactory) -> AssignmentsChanged:
    """The change, tried again while a worker it assigns has not reached device-sync yet
    (each try its own transaction, rolled back by the refusal), for ``cmd.worker_wait_s``."""
    return await until_projected(
        "a worker to assign", lambda: _change_assignments(cmd, uow), within_s=cmd.worker_wait_s
    )


async def _change_assignments(cmd: ChangeAssignments, uow: UnitOfWorkFactory) -> AssignmentsChanged:
    caller = cmd.caller
    require_role(caller, *WRITERS)
    for name, pairs in (("assign", cmd.assign), ("unassign", cmd.unassign)):
        if len(pairs) > MAX_BULK_PAIRS:
            raise errors.too_many_pairs(MAX_BULK_PAIRS, name)
    assign = list(dict.fromkeys(cmd.assign))
    unassign = list(dict.fromkeys(cmd.unassign))
    if pair := both_ways(assign, unassign):
        raise errors.assigned_and_unassigned(*pair)
    async with uow(caller.tenant_id) as tx:
        clocks = await tx.clocks.get_many(sorted({c for c, _ in (*assign, *unassign)}))
        for field_name, pairs in (("assign", assign), ("unassign", unassign)):
            named = "clock_id" if cmd.from_path else field_name
            for clock_id, _ in pairs:
                clock = clocks.get(clock_id)
                if clock is None or not caller.may_act_on_site(clock.site_id):
                    raise errors.clock_not_found(clock_id, named)
                if field_name == "assign" and clock.revoked:
                    raise errors.clock_revoked(clock_id, named)
        workers = await tx.workers.lock_many(sorted({w for _, w in (*assign, *unassign)}))
        if caller.site_scope() is not None:
            # (A worker not known yet is answered WORKER_NOT_FOUND below, to be retried.)
            for _, worker_id in (*assign, *unassign):
                if worker_id in workers:
                    require_site(caller, workers[worker_id][0].site_id, "worker_id")
        assigning = set(assign)
        roles = {p: r for p, r in cmd.roles.items() if p in assigning}
        current = await tx.assignments.roles_of(list(roles)) if roles else {}
        sysadmin = caller.can("sysadmin")
        for pair, role in roles.items():
            if not may_set_clock_role(sysadmin, current.get(pair), role):
                raise errors.clock_role_not_allowed()
        for _, worker_id in assign:
            known = workers.get(worker_id)
            if known is None:
                raise errors.worker_not_found(worker_id)
            if not known[0].on_clocks:
                raise errors.worker_inactive(worker_id)
        added, removed, regraded, queued = await roster.change_assignments(
            tx,
            assign,
            unassign,
            correlation_id=caller.request_id,
            workers=workers,
            roles=roles,
        )
        await tx.commit()
    return AssignmentsChanged(len(added), len(removed), len(queued), len(regraded))


# --- site rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SetSiteRule:
    caller: Caller
    site_id: str
    enabled: bool


@dataclass(frozen=True)
class SiteRuleSet:
    site_id: str
    enabled: bool
    assigned: int
    unassigned: int


async def set_site_rule(cmd: SetSiteRule, uow: UnitOfWorkFactory) -> SiteRuleSet:
    caller = cmd.caller
    _sysadmin(caller)
    async with uow(caller.tenant_id) as tx:
        added, removed = await roster.apply_site_rule(
            tx, cmd.site_id, cmd.enabled, caller.request_id
        )
        await tx.commit()
    return SiteRuleSet(cmd.site_id, cmd.enabled, len(added), len(removed))
