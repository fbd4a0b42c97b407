"""Identity's internal HTTP API, reached through the gateway (which authenticates the admin
and attaches an internal caller token). Routes translate HTTP into a command for one use case
(``service_layer``) or a read (``views``) only; domain errors become HTTP answers in the kit."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from punchcard.v1 import common_pb2
from punchcard_kit.bounds import JSON_INTEGER, TEXT_PATTERN, UUID_PATTERN, Limit, Offset, Uuid
from punchcard_kit.bounds import Text as bounded_text
from punchcard_kit.credentials import (
    CARD_NUMBER_MAX_LENGTH,
    CARD_NUMBER_PATTERN,
    EMPLOYEE_ID_MAX_LENGTH,
    EMPLOYEE_ID_PATTERN,
    PIN_PATTERN,
)
from punchcard_kit.errors import Invalid
from punchcard_kit.http_errors import error_responses
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from .. import views
from ..domain.cards import Card
from ..domain.model import Worker, WorkerStatus
from ..service_layer import cards as cards_uc
from ..service_layer import workers as uc
from ..service_layer.verification import SignInAtKiosk, sign_in_at_kiosk
from .deps import CallerDep, ClockCallerDep, ContainerDep, ServicesDep

# The one Employee ID rule (punchcard_kit.credentials), shared with the edge and the web apps.
EmployeeId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=EMPLOYEE_ID_MAX_LENGTH,
        pattern=EMPLOYEE_ID_PATTERN,
    ),
]
# The one card number rule (punchcard_kit.credentials): digits only, 1 to 20.
CardNumber = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=CARD_NUMBER_MAX_LENGTH,
        pattern=CARD_NUMBER_PATTERN,
    ),
]
CardNumberPath = Annotated[
    str, Path(min_length=1, max_length=CARD_NUMBER_MAX_LENGTH, pattern=CARD_NUMBER_PATTERN)
]
Name = bounded_text(200, min_length=1)
Text = bounded_text(200)

# Examples for the OpenAPI (schema metadata only); each is valid for its model (a unit test
# checks them).
WORKER_ID = "6f1c2b1e-3a4d-4c5b-9e8f-1a2b3c4d5e6f"
WORKER_EXAMPLE = {
    "id": WORKER_ID,
    "employee_id": "E-1001",
    "name": "Ada Lovelace",
    "job_title": "Machinist",
    "site_id": "site-north",
    "status": "Active",
    "pin_set": True,
    "pin_set_at": "2026-03-02T08:15:00Z",
    "pin_allowed": True,
    "pin_locked_until": None,
    "created_at": "2026-03-01T09:00:00Z",
    "updated_at": "2026-03-02T08:15:00Z",
}


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class WorkerCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "employee_id": "E-1001",
                    "name": "Ada Lovelace",
                    "job_title": "Machinist",
                    "site_id": "site-north",
                    "status": "Pending",
                }
            ]
        },
    )
    employee_id: EmployeeId
    name: Name
    job_title: Text = ""
    site_id: Text = ""
    status: WorkerStatus = WorkerStatus.PENDING


class WorkerUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"job_title": "Shift lead", "status": "Active"}]},
    )
    employee_id: EmployeeId | None = None
    name: Name | None = None
    job_title: Text | None = None
    site_id: Text | None = None
    status: WorkerStatus | None = None


class ClockLock(BaseModel):
    clock_id: str
    locked_until: datetime


class WorkerPublic(BaseModel):
    model_config = _examples(WORKER_EXAMPLE)

    id: str
    employee_id: str
    name: str
    job_title: str
    site_id: str
    status: WorkerStatus
    pin_set: bool
    pin_set_at: datetime | None
    pin_allowed: bool
    pin_locked_until: datetime | None
    pin_locked_at_clocks: list[ClockLock] = Field(
        default_factory=list,
        description="The clocks the PIN is locked at now (too many wrong PINs there), each"
        " until when; unlocking the PIN lifts them too. In GET /workers/{id}'s answer; []"
        " elsewhere.",
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, w: Worker, clock_locks: Mapping[str, datetime] | None = None) -> WorkerPublic:
        return cls(
            id=w.id,
            employee_id=w.employee_id,
            name=w.name,
            job_title=w.job_title,
            site_id=w.site_id,
            status=w.status,
            pin_set=w.pin_set,
            pin_set_at=w.pin_set_at,
            pin_allowed=w.pin_allowed,
            pin_locked_until=w.pin_locked_until,
            pin_locked_at_clocks=[
                ClockLock(clock_id=c, locked_until=u) for c, u in (clock_locks or {}).items()
            ],
            created_at=w.created_at,
            updated_at=w.updated_at,
        )


class WorkersPublic(BaseModel):
    model_config = _examples({"data": [WORKER_EXAMPLE], "count": 1})

    data: list[WorkerPublic]
    count: int


CARD_EXAMPLE = {"number": "0004471234", "added_at": "2026-03-02T08:15:00Z"}


class CardCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"number": "0004471234"}]}
    )
    number: CardNumber


class CardPublic(BaseModel):
    model_config = _examples(CARD_EXAMPLE)

    number: str = Field(description="The card's number: digits, as the reader gives them")
    added_at: datetime

    @classmethod
    def of(cls, card: Card) -> CardPublic:
        return cls(number=card.number, added_at=card.added_at)


class CardsPublic(BaseModel):
    model_config = _examples({"data": [CARD_EXAMPLE], "count": 1})

    data: list[CardPublic]
    count: int


class PinSetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"pin": "4827"}]})
    # Checked by the PIN policy (4–6 digits and not guessable; its codes and messages); never
    # echoed back. The OpenAPI states the format; what is guessable no schema can.
    pin: str = Field(max_length=64, repr=False, json_schema_extra={"pattern": PIN_PATTERN})


class PinGenerated(BaseModel):
    model_config = _examples({"pin": "730591", "worker": WORKER_EXAMPLE})

    pin: str = Field(
        description="Shown once: it is not stored in the clear and cannot be read again"
    )
    worker: WorkerPublic


class PinAllowedUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"allowed": True}]})
    allowed: StrictBool


class PinPolicyUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"max_age_days": 180, "devices_verify_pins": False}]},
    )
    max_age_days: Annotated[int, Field(gt=0, le=3650), JSON_INTEGER] | None = Field(
        default=None,
        description="Days a PIN may be used before it must be set again; null: no limit;"
        " absent: unchanged.",
    )
    devices_verify_pins: StrictBool | None = Field(
        default=None,
        description=(
            "Hardware clocks may verify PINs themselves (off by default; absent: unchanged)."
            " While on, each PIN set from then on is also sealed to device-sync and sent to"
            " the clocks opted in to 'device verifies PINs', which store it; switching it off"
            " deletes every such PIN from device-sync and those clocks."
        ),
    )


class PinPolicy(BaseModel):
    model_config = _examples(
        {"max_age_days": 180, "devices_verify_pins": False, "pins_not_on_devices": 0}
    )
    max_age_days: int | None
    devices_verify_pins: bool
    pins_not_on_devices: int = Field(
        description="While devices verify PINs: PINs set before it was switched on (set them"
        " again for a clock to get them)."
    )

    @classmethod
    def of(cls, policy: uc.PinPolicy) -> PinPolicy:
        return cls(
            max_age_days=policy.max_age_days,
            devices_verify_pins=policy.devices_verify_pins,
            pins_not_on_devices=policy.pins_not_on_devices,
        )


class StalePinsReport(BaseModel):
    model_config = _examples({"max_age_days": 180, "data": [WORKER_EXAMPLE], "count": 1})

    max_age_days: int | None
    data: list[WorkerPublic]
    count: int


class ClockPinCounters(BaseModel):
    model_config = _examples({"clock_id": "clock-lobby-1", "unknown_ids": 3, "wrong_pins": 1})

    clock_id: str
    unknown_ids: int = Field(description="Attempts with an unknown Employee ID, in the window")
    wrong_pins: int = Field(description="Known workers' wrong PINs, in the window")


# A clock's id is device-sync's UUID (bounded as device-sync bounds it).
ClockId = Annotated[str, Path(pattern=UUID_PATTERN)]


class SealingKeyPublic(BaseModel):
    key_id: str
    public_key: str = Field(
        description="X25519 public key, base64: seal '<attempt_id>:<pin>' to it"
    )


router = APIRouter(prefix="/internal/v1", tags=["workers"])

# Every route needs an internal caller (401) whose role allows it (403); a 422 is the error
# shape too (an invalid field, a weak PIN); routes that need Redis may answer 503.
_CALLER = error_responses(401, 403, 422)
_ONE_WORKER = error_responses(401, 403, 404, 422)
_CHANGE = error_responses(401, 403, 404, 409, 422)
_PIN_CHANGE = error_responses(401, 403, 404, 409, 422, 503)
_UNLOCK = error_responses(401, 403, 404, 422, 503)
_COUNTERS = error_responses(401, 403, 422, 503)
WORKERS_PAGE_MAX = 200  # the workers list's largest page


@router.get("/workers", response_model=WorkersPublic, responses=_CALLER)
async def list_workers(
    s: ServicesDep,
    caller: CallerDep,
    search: Annotated[str | None, Query(max_length=100, pattern=TEXT_PATTERN)] = None,
    status: WorkerStatus | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=WORKERS_PAGE_MAX)] = 50,
    worker_id: Annotated[list[Uuid] | None, Query(max_length=WORKERS_PAGE_MAX)] = None,
) -> WorkersPublic:
    """The tenant's workers by name (a manager: their sites'), a page at a time, filtered by
    ``search`` (name or Employee ID), ``status`` and ``worker_id`` (repeated, up to a page:
    those workers only, e.g. the names to show beside a page of the audit log)."""
    rows, count = await views.list_workers(
        s,
        caller,
        search=search,
        status=status,
        offset=offset,
        limit=limit,
        ids=[w.lower() for w in worker_id] if worker_id is not None else None,
    )
    return WorkersPublic(data=[WorkerPublic.of(w) for w in rows], count=count)


@router.post(
    "/workers",
    response_model=WorkerPublic,
    status_code=201,
    responses=error_responses(401, 403, 409, 422),
)
async def register_worker(body: WorkerCreate, s: ServicesDep, caller: CallerDep) -> WorkerPublic:
    command = uc.RegisterWorker(**body.model_dump())
    return WorkerPublic.of(await uc.register_worker(s, caller, command))


@router.get("/workers/{worker_id}", response_model=WorkerPublic, responses=_ONE_WORKER)
async def get_worker(worker_id: str, s: ServicesDep, caller: CallerDep) -> WorkerPublic:
    worker = await views.get_worker(s, caller, worker_id)
    return WorkerPublic.of(worker, await views.clock_locks(s, caller, worker))


@router.patch("/workers/{worker_id}", response_model=WorkerPublic, responses=_CHANGE)
async def update_worker(
    worker_id: str, body: WorkerUpdate, s: ServicesDep, caller: CallerDep
) -> WorkerPublic:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    command = uc.UpdateWorker(worker_id, changes)
    return WorkerPublic.of(await uc.update_worker(s, caller, command))


@router.get("/workers/{worker_id}/cards", response_model=CardsPublic, responses=_ONE_WORKER)
async def list_cards(worker_id: str, s: ServicesDep, caller: CallerDep) -> CardsPublic:
    """The worker's badge / proximity cards, by number."""
    cards = await views.list_cards(s, caller, worker_id)
    return CardsPublic(data=[CardPublic.of(c) for c in cards], count=len(cards))


@router.post(
    "/workers/{worker_id}/cards", status_code=201, response_model=CardPublic, responses=_CHANGE
)
async def add_card(
    worker_id: str, body: CardCreate, s: ServicesDep, caller: CallerDep
) -> CardPublic:
    """Give the worker a card (sysadmins, managers of the worker's site). Idempotent for the
    worker's own card; 409 DUPLICATE_CARD when another worker of the tenant holds it."""
    card = await cards_uc.add_card(s, caller, cards_uc.AddCard(worker_id, body.number))
    return CardPublic.of(card)


@router.delete(
    "/workers/{worker_id}/cards/{number}",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses=_ONE_WORKER,
)
async def remove_card(
    worker_id: str, number: CardNumberPath, s: ServicesDep, caller: CallerDep
) -> Response:
    """Take a card from the worker (404 CARD_NOT_FOUND when they do not hold it)."""
    await cards_uc.remove_card(s, caller, cards_uc.RemoveCard(worker_id, number))
    return Response(status_code=204)


@router.put("/workers/{worker_id}/pin", response_model=WorkerPublic, responses=_PIN_CHANGE)
async def set_pin(
    worker_id: str, body: PinSetRequest, s: ServicesDep, caller: CallerDep
) -> WorkerPublic:
    return WorkerPublic.of(await uc.set_pin(s, caller, uc.SetPin(worker_id, body.pin)))


@router.post(
    "/workers/{worker_id}/pin/generate", response_model=PinGenerated, responses=_PIN_CHANGE
)
async def generate_pin(worker_id: str, s: ServicesDep, caller: CallerDep) -> PinGenerated:
    pin, worker = await uc.generate_pin(s, caller, uc.GeneratePin(worker_id))
    return PinGenerated(pin=pin, worker=WorkerPublic.of(worker))


@router.delete("/workers/{worker_id}/pin", response_model=WorkerPublic, responses=_ONE_WORKER)
async def remove_pin(worker_id: str, s: ServicesDep, caller: CallerDep) -> WorkerPublic:
    return WorkerPublic.of(await uc.remove_pin(s, caller, uc.RemovePin(worker_id)))


@router.put("/workers/{worker_id}/pin-allowed", response_model=WorkerPublic, responses=_ONE_WORKER)
async def set_pin_allowed(
    worker_id: str, body: PinAllowedUpdate, s: ServicesDep, caller: CallerDep
) -> WorkerPublic:
    command = uc.SetPinAllowed(worker_id, body.allowed)
    return WorkerPublic.of(await uc.set_pin_allowed(s, caller, command))


@router.post("/workers/{worker_id}/pin/unlock", response_model=WorkerPublic, responses=_UNLOCK)
async def unlock_pin(worker_id: str, s: ServicesDep, caller: CallerDep) -> WorkerPublic:
    return WorkerPublic.of(await uc.unlock_pin(s, caller, uc.UnlockPin(worker_id)))


@router.get("/pin-policy", response_model=PinPolicy, responses=_CALLER)
async def get_pin_policy(s: ServicesDep, caller: CallerDep) -> PinPolicy:
    return PinPolicy.of(await views.pin_policy(s, caller))


@router.put("/pin-policy", response_model=PinPolicy, responses=_CHANGE)
async def set_pin_policy(body: PinPolicyUpdate, s: ServicesDep, caller: CallerDep) -> PinPolicy:
    command = uc.SetPinPolicy(
        body.max_age_days,
        body.devices_verify_pins,
        change_max_age="max_age_days" in body.model_fields_set,
    )
    return PinPolicy.of(await uc.set_pin_policy(s, caller, command))


@router.get("/reports/stale-pins", response_model=StalePinsReport, responses=_CALLER)
async def stale_pins(
    s: ServicesDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = 100,
) -> StalePinsReport:
    """The workers whose PIN is older than the tenant's maximum age, oldest first, a page at a
    time; ``count``: how many in all."""
    days, rows, count = await views.stale_pins(s, caller, offset, limit)
    return StalePinsReport(max_age_days=days, data=[WorkerPublic.of(w) for w in rows], count=count)


@router.get("/clocks/{clock_id}/pin-counters", response_model=ClockPinCounters, responses=_COUNTERS)
async def clock_pin_counters(
    clock_id: ClockId, s: ServicesDep, caller: CallerDep
) -> ClockPinCounters:
    unknown, wrong = await views.clock_pin_counters(s, caller, clock_id)
    return ClockPinCounters(clock_id=clock_id, unknown_ids=unknown, wrong_pins=wrong)


@router.post(
    "/clocks/{clock_id}/pin-counters/reset",
    response_model=ClockPinCounters,
    responses=_COUNTERS,
)
async def reset_clock_pin_counters(
    clock_id: ClockId, s: ServicesDep, caller: CallerDep
) -> ClockPinCounters:
    """Start a clock's counts of unknown Employee IDs and wrong PINs again (sysadmins and
    managers): a clock that stopped taking PINs takes them again at once."""
    await uc.reset_clock_pin_counters(s, caller, uc.ResetClockPinCounters(clock_id))
    return ClockPinCounters(clock_id=clock_id, unknown_ids=0, wrong_pins=0)


@router.get("/pin-sealing-key", response_model=SealingKeyPublic, tags=["kiosk"])
async def pin_sealing_key(identity: ContainerDep) -> SealingKeyPublic:
    """Public: the key the kiosk edge seals PINs to."""
    key = identity.opener.current
    return SealingKeyPublic(key_id=key.key_id, public_key=key.public_key_b64)


class SealedPinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    ciphertext: str = Field(max_length=512, description="The sealed box, base64")
    recipient_key_id: str = Field(min_length=1, max_length=64)


class KioskSignInRequest(BaseModel):
    """A worker signs in at a kiosk (the kiosk edge asks, as the clock): the PIN sealed to
    this service's key, bound to ``attempt_id`` (a nonce of this sign-in)."""

    model_config = ConfigDict(
        extra="forbid",
        hide_input_in_errors=True,
        json_schema_extra={
            "examples": [
                {
                    "attempt_id": "4e6a8c0e-2b4d-4f6a-9c1e-3a5c7e9b1d3f",
                    "employee_id": "E-1001",
                    "sealed_pin": {"ciphertext": "bWFkZS11cA==", "recipient_key_id": "k1"},
                }
            ]
        },
    )
    attempt_id: uuid.UUID
    employee_id: EmployeeId
    sealed_pin: SealedPinIn


class KioskSignInPublic(BaseModel):
    """``signed_in`` with the worker and their role on the clock, or the reason (as a PIN
    punch's: UNKNOWN_USER, INACTIVE, PIN_NOT_SET, PIN_NOT_ALLOWED, LOCKED_OUT, WRONG_PIN)."""

    model_config = _examples(
        {
            "signed_in": True,
            "worker_id": WORKER_ID,
            "employee_id": "E-1001",
            "name": "Ada Lovelace",
            "clock_role": "ADMINISTRATOR",
            "reason": None,
            "attempts_remaining": 0,
            "locked_until": None,
        }
    )
    signed_in: bool
    worker_id: str | None = None
    employee_id: str | None = None
    name: str | None = None
    clock_role: str | None = None
    reason: str | None = None
    attempts_remaining: int = 0
    locked_until: datetime | None = None


@router.post(
    "/kiosk/sign-ins",
    response_model=KioskSignInPublic,
    tags=["kiosk"],
    responses=error_responses(401, 403, 422),
)
async def kiosk_sign_in(
    body: KioskSignInRequest, identity: ContainerDep, caller: ClockCallerDep
) -> KioskSignInPublic:
    """A kiosk sign-in (Manager / Administrator): the PIN checked by the PIN punch's rule,
    counters and locks, no verdict published (nothing is punched). Clocks only (the caller
    token names the clock)."""
    try:
        ciphertext = base64.b64decode(body.sealed_pin.ciphertext, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("sealed_pin.ciphertext must be base64", "sealed_pin") from None
    command = SignInAtKiosk(
        tenant_id=caller.tenant_id,
        clock_id=caller.user_id,
        attempt_id=str(body.attempt_id),
        employee_id=body.employee_id,
        sealed_pin=common_pb2.SealedBox(
            ciphertext=ciphertext, recipient_key_id=body.sealed_pin.recipient_key_id
        ),
    )
    result = await sign_in_at_kiosk(identity.services.uow, identity.verifier, caller, command)
    worker = result.worker
    return KioskSignInPublic(
        signed_in=result.signed_in,
        worker_id=worker.id if worker else None,
        employee_id=worker.employee_id if worker else None,
        name=worker.name if worker else None,
        clock_role=result.clock_role or None,
        reason=result.reason or None,
        attempts_remaining=result.attempts_remaining,
        locked_until=result.locked_until,
    )
