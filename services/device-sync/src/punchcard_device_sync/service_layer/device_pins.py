"""PINs on hardware clocks that verify them (opt-in, ``docs/hardware-clocks.md``).

identity seals a worker's PIN to device-sync's key while its tenant lets hardware clocks
verify PINs (``punchcard.identity.device-pins.v1``); device-sync keeps the sealed box as
received (``store_sealed``; a tombstone deletes it: ``forget``), and a sysadmin opts single
ZK clocks in (``set_clock_verifies_pins``). The queue never holds a PIN: an UPSERT_WORKER
carries the profile only, and the edge opens the sealed PIN in memory when it turns the
command into the device's ``USERINFO`` line (``passwords``) — for an opted-in clock only.
Whatever changes what a clock should hold (a PIN sealed, replaced or deleted, a clock opted
in or out) queues UPSERT_WORKER for the clocks concerned, so the device gains or loses the
password. No PIN is ever logged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from punchcard_kit.caller import Caller
from punchcard_kit.logging import get_logger
from punchcard_kit.sealing import UnsealError, device_pin_binding

from ..domain import errors
from ..domain.model import Command, Queued
from ..domain.roster import Holding
from .admin import _clock_for, _sysadmin
from .unit_of_work import DevicePinOpener, UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)


async def _refresh_worker(uow: UnitOfWork, worker_id: str) -> list[Queued]:
    """UPSERT_WORKER (the profile as it is) on every opted-in clock holding the worker."""
    facts, profile = await uow.workers.lock(worker_id)
    if facts is None or profile is None or not facts.on_clocks:
        return []
    roles = await uow.assignments.clocks_of_worker(worker_id)
    holding = Holding(facts, profile, frozenset(roles), roles)
    commands = []
    for clock_id in await uow.device_pins.verifying_clocks(sorted(roles)):
        on_clock = holding.profile_on(clock_id)
        assert on_clock is not None
        commands.append((clock_id, Command.upsert(on_clock, worker_id)))
    return await uow.queue.enqueue(commands)


async def store_sealed(uow: UnitOfWork, worker_id: str, key_id: str, sealed: bytes) -> None:
    """identity's ``DevicePinSealed`` (the consumer's unit of work)."""
    async with uow:
        if await uow.device_pins.put(worker_id, key_id, sealed):
            queued = await _refresh_worker(uow, worker_id)
            log.info("device pin stored", worker_id=worker_id, clocks=len(queued))
        await uow.commit()


async def forget(uow: UnitOfWork, worker_id: str) -> None:
    """A tombstone: the PIN was removed, the worker deactivated or the tenant switched the
    feature off. The sealed PIN is deleted and opted-in clocks get the worker without it."""
    async with uow:
        if await uow.device_pins.delete(worker_id):
            queued = await _refresh_worker(uow, worker_id)
            log.info("device pin deleted", worker_id=worker_id, clocks=len(queued))
        await uow.commit()


async def set_clock_verifies_pins(
    caller: Caller, clock_id: str, on: bool, uow: UnitOfWorkFactory
) -> None:
    """A sysadmin opts a ZK clock in ("the clock stores workers' PINs and checks them
    itself") or out; its workers with a sealed PIN are sent again, with or without it."""
    _sysadmin(caller)
    async with uow(caller.tenant_id) as tx:
        await _clock_for(tx, caller, clock_id)
        await tx.clocks.lock(clock_id)
        current = await tx.device_pins.clock_verifies(clock_id)
        if current is None:
            raise errors.clock_not_found()
        protocol, verifies = current
        if protocol != "ZK_PUSH":
            raise errors.not_a_zk_clock()
        if verifies == on:
            return
        await tx.device_pins.set_clock_verifies(clock_id, on)
        roster = await tx.assignments.roster(clock_id)
        with_pins = await tx.device_pins.sealed_of([facts.id for facts, _, _ in roster])
        commands = []
        for facts, profile, role in roster:
            if facts.id in with_pins:
                holding = Holding(facts, profile, frozenset({clock_id}), {clock_id: role})
                on_clock = holding.profile_on(clock_id)
                assert on_clock is not None
                commands.append((clock_id, Command.upsert(on_clock, facts.id)))
        await tx.queue.enqueue(commands)
        await tx.commit()
    log.info(
        "clock verifies pins" if on else "clock no longer verifies pins",
        clock_id=clock_id,
        workers=len(commands),
        admin_id=caller.user_id,
    )


async def passwords(
    uow: UnitOfWork,
    opener: DevicePinOpener | None,
    clock_id: str,
    workers: Mapping[str, Mapping],
) -> dict[str, str]:
    """The PINs to send as ``Passwd=`` with these workers' USERINFO (worker id → the profile
    being sent): only on a clock that verifies PINs, only for a worker whose profile allows
    PIN, only when the sealed PIN opens for that very worker. In memory only, never logged."""
    allowed = [w for w, p in workers.items() if "PIN" in (p.get("allowed_methods") or ())]
    if opener is None or not allowed:
        return {}
    sealed = await uow.device_pins.for_clock(clock_id, sorted(allowed))
    pins: dict[str, str] = {}
    for worker_id, box in sealed.items():
        try:
            pin = opener.open(box.key_id, box.sealed, device_pin_binding(uow.tenant_id, worker_id))
        except UnsealError as error:
            log.warning("a sealed device pin does not open", worker_id=worker_id, why=str(error))
            continue
        pins[worker_id] = pin  # zk.device_password sends it only when it is a PIN
    return pins


def upserted_workers(rows: Sequence[tuple[str, Mapping]]) -> dict[str, Mapping]:
    """worker id → profile of the UPSERT_WORKER bodies among (kind, body) pairs."""
    return {
        str(body["worker"].get("worker_id")): body["worker"]
        for kind, body in rows
        if kind == "UPSERT_WORKER" and isinstance(body.get("worker"), Mapping)
    }
