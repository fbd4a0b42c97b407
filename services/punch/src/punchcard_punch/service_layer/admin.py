"""Admin corrections of the ledger (through the gateway): add a missed punch, void a wrong one,
replace one (void + add, in one transaction). Each is a new ledger entry with a reason and the
admin's id, and an event on the punches topic, committed together (the unit of work's outbox).

Rules: only a sysadmin or a manager corrects, a manager only for the workers of their sites and
at their sites; a punch is voided once (``ALREADY_VOIDED``); a correction counts at the clock
given (its site and time zone), else at the site and time zone given, else at the worker's site
in the time zone of a clock there. Reading the ledger is ``views.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from punchcard_kit.access import require_role, require_site
from punchcard_kit.caller import Caller
from punchcard_kit.errors import Conflict, Invalid, NotFound, NotProjectedYet
from punchcard_kit.messaging import catalogue, new_envelope
from punchcard_kit.messaging.envelope import time_ordered_uuid
from punchcard_kit.retry import until_projected

from ..domain import repeats
from ..domain.decisions import Policy, check_correction_time
from .events import PUNCHES_TOPIC, corrected_event, voided_event
from .unit_of_work import UnitOfWork

EDITORS = ("sysadmin", "manager")


@dataclass(frozen=True)
class Made:
    """What a correction answers with: the punch it made (voided, for a void), and whether the
    request was a keyed one sent again (``repeated``: nothing written now; the API says so in
    its ``Idempotent-Replayed`` header, and the gateway's audit row marks it)."""

    punch_id: str
    repeated: bool = False


@dataclass(frozen=True)
class AddPunch:
    """Add a punch the worker missed."""

    caller: Caller
    worker_id: str
    direction: str
    punched_at: datetime
    reason: str
    clock_id: str | None = None
    site_id: str | None = None
    time_zone: str | None = None
    # The client's name for this correction: sent again, it answers with the same punch.
    idempotency_key: str | None = None
    # How long a worker or clock punch has not learnt yet is waited for (PROJECTION_WAIT_S): a
    # worker created at identity a moment ago gets the missed punch, not a 404.
    projection_wait_s: float = 0.0
    # The rules' allowances (CLOCK_SKEW_S: how far ahead of now a punch may be).
    policy: Policy = Policy()


@dataclass(frozen=True)
class VoidPunch:
    caller: Caller
    punch_id: str
    reason: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ReplacePunch:
    """Void ``punch_id`` and add its correction (direction and time default to the
    original's)."""

    caller: Caller
    punch_id: str
    reason: str
    direction: str | None = None
    punched_at: datetime | None = None
    idempotency_key: str | None = None
    policy: Policy = Policy()


def _zone(name: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {name!r}", field) from None


async def add_punch(command: AddPunch, uow: UnitOfWork) -> Made:
    """The new punch (a keyed request sent again: the first one's), tried again while its
    worker or clock has not reached punch yet (each try its own transaction, rolled back by
    the refusal), for ``command.projection_wait_s``."""
    require_role(command.caller, *EDITORS)
    return await until_projected(
        "the worker or clock of a correction",
        lambda: _add_punch(command, uow),
        within_s=command.projection_wait_s,
    )


async def _add_punch(command: AddPunch, uow: UnitOfWork) -> Made:
    async with uow:
        punch_id = time_ordered_uuid()
        made = await _made_before(uow, command, punch_id)
        if made is not None:
            return Made(made, repeated=True)  # nothing written: the transaction rolls back
        row = await _correction_row(uow, command, replaces=None, punch_id=punch_id)
        await _append(uow, command.caller, [row])
        await uow.commit()
    return Made(row["id"])


async def void_punch(command: VoidPunch, uow: UnitOfWork) -> Made:
    """The voided punch."""
    require_role(command.caller, *EDITORS)
    async with uow:
        # A keyed void names the punch it voided (the answer is that punch, now voided).
        if await _made_before(uow, command, command.punch_id) is not None:
            return Made(command.punch_id, repeated=True)
        original = await _voidable(uow, command.caller, command.punch_id)
        await _append(uow, command.caller, [_void_row(command.caller, original, command.reason)])
        await uow.commit()
    return Made(command.punch_id)


async def replace_punch(command: ReplacePunch, uow: UnitOfWork) -> Made:
    """The replacement (a keyed request sent again: the first one's)."""
    caller = command.caller
    require_role(caller, *EDITORS)
    async with uow:
        punch_id = time_ordered_uuid()
        made = await _made_before(uow, command, punch_id)
        if made is not None:
            return Made(made, repeated=True)
        original = await _voidable(uow, caller, command.punch_id)
        void = _void_row(caller, original, command.reason)
        replacement = await _correction_row(
            uow,
            AddPunch(
                caller=caller,
                worker_id=str(original["worker_id"]),
                direction=command.direction or original["direction"],
                punched_at=command.punched_at or original["punched_at"],
                reason=command.reason,
                clock_id=str(original["clock_id"]) if original["clock_id"] else None,
                site_id=original["site_id"],
                time_zone=original["time_zone"],
                policy=command.policy,
            ),
            replaces=command.punch_id,
            punch_id=punch_id,
        )
        await _append(uow, caller, [void, replacement])
        await uow.commit()
    return Made(replacement["id"])


# A command's fields that are not the request's (the caller, the key, this service's settings).
_NOT_ASKED = ("caller", "idempotency_key", "projection_wait_s", "policy")


def _asked(command: AddPunch | VoidPunch | ReplacePunch) -> dict[str, object]:
    """What a keyed request asks for (its fingerprint's fields): the command less its key, its
    caller and this service's settings, plus the admin's id."""
    fields = {k: v for k, v in vars(command).items() if k not in _NOT_ASKED}
    return {**fields, "admin_id": command.caller.user_id}


async def _made_before(
    uow: UnitOfWork,
    command: AddPunch | VoidPunch | ReplacePunch,
    punch_id: str,
) -> str | None:
    """The punch a keyed request made already (None: no key, or the key is new and now names
    ``punch_id``); refuses a key used before for another request."""
    key = command.idempotency_key
    if key is None:
        return None
    kind = type(command).__name__.removesuffix("Punch").lower()  # "add", "void", "replace"
    digest = repeats.fingerprint(kind, _asked(command))
    first = await uow.ledger.claim_request(key, digest, punch_id)
    if first is None:
        return None
    made = repeats.answer_to_repeat(first, digest)
    if made is None:
        raise Invalid(
            "this Idempotency-Key was used for another correction; send a new key",
            "Idempotency-Key",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    return made


async def _voidable(uow: UnitOfWork, caller: Caller, punch_id: str) -> Mapping[str, Any]:
    rows = await uow.ledger.punches_by_id([punch_id])
    original = rows.get(punch_id)
    if original is None or original["kind"] == "VOID":
        raise NotFound("no such punch", code="PUNCH_NOT_FOUND")
    require_site(caller, original["site_id"])
    if await uow.ledger.void_of(punch_id) is not None:
        raise Conflict("this punch has already been voided", code="ALREADY_VOIDED")
    return original


def _void_row(caller: Caller, original: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return {
        "id": time_ordered_uuid(),
        "tenant_id": caller.tenant_id,
        "kind": "VOID",
        "worker_id": str(original["worker_id"]),
        "employee_id": original["employee_id"],
        "display_name": original["display_name"],
        "clock_id": original["clock_id"],
        "site_id": original["site_id"],
        "time_zone": original["time_zone"],
        "method": "MANUAL",
        "refers_to": str(original["id"]),
        "reason": reason,
        "admin_id": caller.user_id,
    }


async def _correction_row(
    uow: UnitOfWork, c: AddPunch, *, replaces: str | None, punch_id: str
) -> dict[str, Any]:
    caller = c.caller
    refused = check_correction_time(c.punched_at, datetime.now(UTC), c.policy)
    if refused is not None:
        raise Invalid("a punch cannot be added in the future", "punched_at", code=refused)
    worker = (await uow.ledger.workers([c.worker_id])).get(c.worker_id)
    if worker is None:
        # Perhaps created at identity a moment ago (add_punch waits for it).
        raise NotProjectedYet("no such worker", "worker_id", code="WORKER_NOT_FOUND")
    # A manager corrects the punches of the workers of their sites only, wherever the
    # punch is (a clock of their site does not make another site's worker theirs).
    require_site(caller, worker["site_id"], "worker_id")
    site_id, time_zone = c.site_id, c.time_zone
    if c.clock_id:
        clock = (await uow.ledger.clocks([c.clock_id])).get(c.clock_id)
        if clock is None:
            raise NotProjectedYet("no such clock", "clock_id", code="CLOCK_NOT_FOUND")
        site_id, time_zone = clock["site_id"], clock["time_zone"]
    site_id = site_id if site_id is not None else worker["site_id"]
    if time_zone is None:
        time_zone = await uow.ledger.site_time_zone(site_id)
    if time_zone is None:
        raise Invalid("give the clock or the time zone of the punch", "time_zone")
    _zone(time_zone, "time_zone")
    require_site(caller, site_id, "site_id")
    return {
        "id": punch_id,
        "tenant_id": caller.tenant_id,
        "kind": "CORRECTION",
        "worker_id": c.worker_id,
        "employee_id": worker["employee_id"],
        "display_name": worker["display_name"],
        "clock_id": c.clock_id,
        "site_id": site_id,
        "time_zone": time_zone,
        "direction": c.direction,
        "method": "MANUAL",
        "punched_at": c.punched_at,
        "received_at": datetime.now(UTC),
        "refers_to": replaces,
        "reason": c.reason,
        "admin_id": caller.user_id,
    }


async def _append(uow: UnitOfWork, caller: Caller, rows: list[dict[str, Any]]) -> None:
    await uow.ledger.insert_punches(rows)
    items = []
    for row in rows:
        event = voided_event(row) if row["kind"] == "VOID" else corrected_event(row)
        envelope = new_envelope(
            event, tenant_id=caller.tenant_id, producer="punch", correlation_id=caller.request_id
        )
        key = catalogue.PUNCH_PUNCHES.key(tenant_id=caller.tenant_id, worker_id=row["worker_id"])
        items.append((PUNCHES_TOPIC, key, envelope))
    await uow.publish(*items)
