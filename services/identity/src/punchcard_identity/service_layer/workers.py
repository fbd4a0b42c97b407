"""Admin use cases: workers and their PINs. Each runs in one tenant transaction (a unit of
work); the events it causes go to the outbox in that transaction. No PIN, hash or secret ever
enters an event, a log line or a return value (except a generated PIN, returned once to the
admin who asked). The read side (lists, one worker, reports) is ``views.py``."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message as ProtoMessage
from punchcard.v1 import identity_pb2
from punchcard_kit.access import WRITERS, require_role, require_site
from punchcard_kit.caller import Caller
from punchcard_kit.errors import NotFound, NotProjectedYet
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import catalogue, tombstone_record
from punchcard_kit.messaging.envelope import new_envelope
from punchcard_kit.retry import until_projected

from ..domain.model import (
    DevicePinsNotConfigured,
    Worker,
    WorkerInactive,
    WorkerStatus,
    worker_not_found,
)
from ..domain.pin_policy import PIN_MAX_LENGTH, check_pin
from .unit_of_work import (
    DevicePinSealer,
    FailureCounters,
    PinHasher,
    UnitOfWork,
    UnitOfWorkFactory,
)

log = get_logger(__name__)

WORKERS_TOPIC = catalogue.IDENTITY_WORKERS.name
DEVICE_PINS_TOPIC = catalogue.IDENTITY_DEVICE_PINS.name


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """What the admin use cases need, built once by the composition root (``bootstrap``), or
    by a unit test from fakes."""

    uow: UnitOfWorkFactory
    hasher: PinHasher
    counters: FailureCounters
    clock: Callable[[], datetime] = field(default=now)
    #: Seals PINs to device-sync for hardware clocks that verify them (None: not configured).
    device_pins: DevicePinSealer | None = None
    #: How long a clock identity has not learnt yet is waited for (PROJECTION_WAIT_S): one
    #: registered at device-sync a moment ago, before its event arrives.
    projection_wait_s: float = 0.0


# -- commands ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegisterWorker:
    employee_id: str
    name: str
    job_title: str = ""
    site_id: str = ""
    status: WorkerStatus = WorkerStatus.PENDING


@dataclass(frozen=True)
class UpdateWorker:
    """Only the fields given change (``employee_id``, ``name``, ``job_title``, ``site_id``,
    ``status``)."""

    worker_id: str
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class SetPin:
    worker_id: str
    pin: str = field(repr=False)
    generated: bool = False


@dataclass(frozen=True)
class GeneratePin:
    worker_id: str


@dataclass(frozen=True)
class RemovePin:
    worker_id: str


@dataclass(frozen=True)
class SetPinAllowed:
    worker_id: str
    allowed: bool


@dataclass(frozen=True)
class UnlockPin:
    worker_id: str


@dataclass(frozen=True)
class SetPinPolicy:
    max_age_days: int | None  # None: no limit
    #: "Hardware clocks may verify PINs" (None: unchanged).
    devices_verify_pins: bool | None = None
    #: False: the request did not name max_age_days, which stays as it is.
    change_max_age: bool = True


@dataclass(frozen=True)
class PinPolicy:
    max_age_days: int | None
    devices_verify_pins: bool = False
    #: While devices verify PINs: PINs set before it was switched on (no clock can get them
    #: until they are set again; identity keeps only their hash).
    pins_not_on_devices: int = 0


@dataclass(frozen=True)
class ResetClockPinCounters:
    clock_id: str


# -- helpers -----------------------------------------------------------------------------------
async def emit(
    uow: UnitOfWork, tenant_id: str, worker_id: str, payload: ProtoMessage, caller: Caller
) -> None:
    envelope = new_envelope(
        payload,
        tenant_id=tenant_id,
        producer="identity",
        correlation_id=caller.request_id,
        causation_id=caller.request_id,
    )
    key = catalogue.IDENTITY_WORKERS.key(tenant_id=tenant_id, worker_id=worker_id)
    await uow.publish((WORKERS_TOPIC, key, envelope))


async def seal_for_devices(
    s: Services, uow: UnitOfWork, caller: Caller, worker_id: str, pin: str
) -> bool:
    """While the tenant lets hardware clocks verify PINs, the PIN also goes, sealed to
    device-sync, on the compacted device-pins topic. Never in the clear, never logged."""
    if s.device_pins is None or not await uow.pins.devices_verify_pins():
        await uow.pins.mark_on_devices(worker_id, False)
        return False
    sealed = s.device_pins.seal(caller.tenant_id, worker_id, pin)
    envelope = new_envelope(
        identity_pb2.DevicePinSealed(worker_id=worker_id, sealed_pin=sealed),
        tenant_id=caller.tenant_id,
        producer="identity",
        correlation_id=caller.request_id,
        causation_id=caller.request_id,
    )
    key = catalogue.IDENTITY_DEVICE_PINS.key(tenant_id=caller.tenant_id, worker_id=worker_id)
    await uow.publish((DEVICE_PINS_TOPIC, key, envelope))
    await uow.pins.mark_on_devices(worker_id, True)
    return True


async def forget_on_devices(uow: UnitOfWork, tenant_id: str, worker_ids: list[str]) -> None:
    """Tombstones on the device-pins topic: device-sync deletes the sealed PINs and takes
    them off its clocks. Harmless for a worker that had none."""
    await uow.publish_records(
        [
            tombstone_record(
                DEVICE_PINS_TOPIC,
                catalogue.IDENTITY_DEVICE_PINS.key(tenant_id=tenant_id, worker_id=w),
                tenant_id=tenant_id,
                event_id=str(uuid.uuid4()),
            )
            for w in worker_ids
        ]
    )


def _details(worker: Worker) -> identity_pb2.WorkerDetails:
    return identity_pb2.WorkerDetails(
        employee_id=worker.employee_id,
        display_name=worker.name,
        job_title=worker.job_title,
        site_id=worker.site_id,
    )


async def load_worker(
    uow: UnitOfWork, caller: Caller, worker_id: str, *, for_update: bool = False
) -> Worker:
    """The worker, if the caller may see it (another tenant's or another site's is not found)."""
    try:
        uuid.UUID(worker_id)
    except ValueError:
        raise worker_not_found() from None
    worker = await uow.workers.get(worker_id, for_update=for_update)
    if worker is None or not caller.may_act_on_site(worker.site_id):
        raise worker_not_found()
    return worker


async def _reloaded(uow: UnitOfWork, worker: Worker) -> Worker:
    found = await uow.workers.get(worker.id)
    assert found is not None
    return found


# -- workers -----------------------------------------------------------------------------------
async def register_worker(s: Services, caller: Caller, command: RegisterWorker) -> Worker:
    require_role(caller, *WRITERS)
    require_site(caller, command.site_id, "site_id")
    at = s.clock()
    worker = Worker(
        id=str(uuid.uuid4()),
        tenant_id=caller.tenant_id,
        employee_id=command.employee_id,
        name=command.name,
        job_title=command.job_title,
        site_id=command.site_id,
        status=command.status,
        pin_allowed=True,
        pin_set_at=None,
        pin_locked_until=None,
        created_at=at,
        updated_at=at,
    )
    async with s.uow(caller.tenant_id) as uow:
        await uow.workers.add(worker)
        await emit(
            uow,
            caller.tenant_id,
            worker.id,
            identity_pb2.WorkerRegistered(
                worker_id=worker.id,
                details=_details(worker),
                status=worker.status.proto(),
                pin_allowed=worker.pin_allowed,
            ),
            caller,
        )
        await uow.commit()
    return worker


async def update_worker(s: Services, caller: Caller, command: UpdateWorker) -> Worker:
    require_role(caller, *WRITERS)
    changes = dict(command.changes)
    async with s.uow(caller.tenant_id) as uow:
        worker = await load_worker(uow, caller, command.worker_id, for_update=True)
        require_site(caller, changes.get("site_id", worker.site_id), "site_id")
        new_status = changes.pop("status", None)
        changed = [k for k, v in changes.items() if getattr(worker, k) != v]
        updated = replace(worker, **changes, updated_at=s.clock())
        if new_status is not None:
            updated = replace(updated, status=new_status)
        if not changed and updated.status == worker.status:
            return worker
        await uow.workers.update(updated)
        if changed:
            await emit(
                uow,
                caller.tenant_id,
                worker.id,
                identity_pb2.WorkerUpdated(
                    worker_id=worker.id, details=_details(updated), changed_fields=changed
                ),
                caller,
            )
        if updated.status != worker.status:
            await emit(
                uow,
                caller.tenant_id,
                worker.id,
                identity_pb2.WorkerStatusChanged(
                    worker_id=worker.id,
                    previous_status=worker.status.proto(),
                    status=updated.status.proto(),
                ),
                caller,
            )
            if not updated.may_have_pin():
                await uow.pins.mark_on_devices(worker.id, False)
                await forget_on_devices(uow, caller.tenant_id, [worker.id])
        log.info(
            "worker updated",
            worker_id=worker.id,
            fields=changed,
            status_changed=updated.status != worker.status,
        )
        result = await _reloaded(uow, worker)
        await uow.commit()
    return result


# -- PINs --------------------------------------------------------------------------------------
async def set_pin(s: Services, caller: Caller, command: SetPin) -> Worker:
    require_role(caller, "sysadmin")
    async with s.uow(caller.tenant_id) as uow:
        worker = await load_worker(uow, caller, command.worker_id, for_update=True)
        if not worker.may_have_pin():
            raise WorkerInactive()
        rejection = check_pin(command.pin, worker.employee_id)
        if rejection is not None:
            raise rejection.error()
        stored = await asyncio.to_thread(s.hasher.hash, command.pin)  # argon2id, off the loop
        at = s.clock()
        await uow.pins.set(worker.id, stored, at)
        payload = identity_pb2.PinSet(
            worker_id=worker.id, replaced=worker.pin_set, generated=command.generated
        )
        payload.pin_set_at.FromDatetime(at)
        await emit(uow, caller.tenant_id, worker.id, payload, caller)
        on_devices = await seal_for_devices(s, uow, caller, worker.id, command.pin)
        updated = await _reloaded(uow, worker)
        await uow.commit()
    await s.counters.reset_worker(caller.tenant_id, worker.id)
    log.info("pin set", worker_id=worker.id, generated=command.generated, on_devices=on_devices)
    return updated


async def generate_pin(s: Services, caller: Caller, command: GeneratePin) -> tuple[str, Worker]:
    """A random PIN that passes the policy; returned once, never stored in the clear."""
    require_role(caller, "sysadmin")
    async with s.uow(caller.tenant_id) as uow:
        worker = await load_worker(uow, caller, command.worker_id)
    while True:
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_MAX_LENGTH))
        if check_pin(pin, worker.employee_id) is None:
            break
    return pin, await set_pin(s, caller, SetPin(command.worker_id, pin, generated=True))


async def remove_pin(s: Services, caller: Caller, command: RemovePin) -> Worker:
    require_role(caller, "sysadmin")
    async with s.uow(caller.tenant_id) as uow:
        worker = await load_worker(uow, caller, command.worker_id, for_update=True)
        if await uow.pins.delete(worker.id):
            await emit(
                uow,
                caller.tenant_id,
                worker.id,
                identity_pb2.PinRemoved(worker_id=worker.id),
                caller,
            )
            await forget_on_devices(uow, caller.tenant_id, [worker.id])
            log.info("pin removed", worker_id=worker.id)
        updated = await _reloaded(uow, worker)
        await uow.commit()
    return updated


async def set_pin_allowed(s: Services, caller: Caller, command: SetPinAllowed) -> Worker:
    require_role(caller, "sysadmin")
    async with s.uow(caller.tenant_id) as uow:
        worker = await load_worker(uow, caller, command.worker_id, for_update=True)
        if worker.pin_allowed != command.allowed:
            await uow.workers.update(
                replace(worker, pin_allowed=command.allowed, updated_at=s.clock())
            )
            await emit(
                uow,
                caller.tenant_id,
                worker.id,
                identity_pb2.PinAllowedChanged(worker_id=worker.id, pin_allowed=command.allowed),
                caller,
            )
        updated = await _reloaded(uow, worker)
        await uow.commit()
    return updated


async def unlock_pin(s: Services, caller: Caller, command: UnlockPin) -> Worker:
    require_role(caller, "sysadmin")
    async with s.uow(caller.tenant_id) as uow:
        worker = await load_worker(uow, caller, command.worker_id, for_update=True)
        if worker.pin_locked_until is not None:
            await uow.pins.set_lock(worker.id, None)
            await emit(
                uow,
                caller.tenant_id,
                worker.id,
                identity_pb2.PinUnlocked(worker_id=worker.id, admin_id=caller.user_id),
                caller,
            )
        updated = await _reloaded(uow, worker)
        await uow.commit()
    await s.counters.reset_worker(caller.tenant_id, worker.id)
    return updated


async def set_pin_policy(s: Services, caller: Caller, command: SetPinPolicy) -> PinPolicy:
    """The tenant's PIN policy. Switching "hardware clocks may verify PINs" off deletes every
    sealed PIN (tombstones; device-sync takes them off its clocks); switching it on seals
    only PINs set from then on (identity keeps no PIN it could seal)."""
    require_role(caller, "sysadmin")
    async with s.uow(caller.tenant_id) as uow:
        if command.change_max_age:
            await uow.pins.set_max_age_days(command.max_age_days)
        on = command.devices_verify_pins
        if on is not None and on != await uow.pins.devices_verify_pins():
            if on and s.device_pins is None:
                raise DevicePinsNotConfigured()
            await uow.pins.set_devices_verify_pins(on)
            if not on:
                await forget_on_devices(uow, caller.tenant_id, await uow.pins.clear_on_devices())
            log.info("hardware clocks may verify pins", on=on, admin_id=caller.user_id)
        policy = await pin_policy_of(uow)
        await uow.commit()
    return policy


async def pin_policy_of(uow: UnitOfWork) -> PinPolicy:
    on = await uow.pins.devices_verify_pins()
    return PinPolicy(
        max_age_days=await uow.pins.max_age_days(),
        devices_verify_pins=on,
        pins_not_on_devices=await uow.pins.not_on_devices() if on else 0,
    )


# -- a clock's PIN failure counters ----------------------------------------------------------
async def require_clock(s: Services, caller: Caller, clock_id: str) -> None:
    """The clock is the tenant's and the caller sees it (a manager: a clock of their sites;
    the kit's one rule), or ``404 CLOCK_NOT_FOUND``; one registered a moment ago is waited
    for (``projection_wait_s``)."""

    async def visible() -> None:
        async with s.uow(caller.tenant_id) as uow:
            site = await uow.clocks.site_of(clock_id)
        if site is None:
            raise NotProjectedYet("no such clock", "clock_id", code="CLOCK_NOT_FOUND")
        if not caller.may_act_on_site(site):
            raise NotFound("no such clock", "clock_id", code="CLOCK_NOT_FOUND")

    await until_projected("a clock", visible, within_s=s.projection_wait_s)


async def reset_clock_pin_counters(
    s: Services, caller: Caller, command: ResetClockPinCounters
) -> None:
    """Someone tried IDs or PINs at the clock and it takes no PIN for now: start it again."""
    require_role(caller, "sysadmin", "manager")
    await require_clock(s, caller, command.clock_id)
    await s.counters.reset_clock(caller.tenant_id, command.clock_id)
    log.info("clock pin counters reset", clock_id=command.clock_id, admin_id=caller.user_id)
