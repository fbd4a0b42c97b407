"""punch's internal API, reached through the gateway (admins: ``/api/v1/punches``,
``/api/v1/timesheets``, ``/api/v1/reports/suspicious-pin-punches``, ``/api/v1/punch-policy``)
and by the kiosk edge (an attempt's outcome). The caller is the internal token's (tenant, role,
sites); routes translate HTTP into one use case (``service_layer/admin.py``,
``service_layer/policy.py``) or view (``views.py``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from punchcard_kit.bounds import TEXT_PATTERN, Day, Instant
from punchcard_kit.http_errors import error_responses
from punchcard_kit.patterns import described

from ..service_layer import admin, policy
from ..views import PunchQuery
from .deps import CallerDep, ClockOrAdminDep, PunchDep
from .schemas import (
    ID_PATTERN,
    AddPunchBody,
    AttemptOutcome,
    Id,
    PunchPage,
    PunchPolicyPublic,
    PunchPolicyUpdate,
    PunchPublic,
    ReplacePunchBody,
    SiteId,
    SuspiciousReport,
    Timesheets,
    VoidPunchBody,
)

PathId = Annotated[str, Path(pattern=ID_PATTERN)]
# The client's name for one correction (domain/repeats.py): 8-64 letters, digits, "-" or "_"
# (a UUID), bare or as the draft standard's quoted string. Optional (``= None`` where used), but
# not nullable: a header has no null, and ``str | None`` said one (``anyOf`` with ``null``), which
# a client (schemathesis) sent as the text "null", refused by the pattern.
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=described(
            r'^"?[A-Za-z0-9_-]{8,64}"?$', "8 to 64 letters, digits, '-' or '_' (a UUID will do)"
        ),
        description="Names this correction: sent again with the same request, the answer is"
        " the first one's (nothing is added or voided twice); with another request,"
        " 422 IDEMPOTENCY_KEY_REUSED.",
    ),
]


def _key(header: str | None) -> str | None:
    """The key without the quotes of the draft standard's form."""
    return header.strip('"') if header else None


# A keyed correction sent again answers as the first time, saying so in this header (as the
# payment APIs that made Idempotency-Key common do): the gateway's audit row marks it, so an
# auditor counts one correction, not two.
REPLAYED = "Idempotent-Replayed"


def _replayed(status: int) -> dict:
    return {
        status: {
            "headers": {
                REPLAYED: {
                    "description": "`true`: this keyed request was made before; nothing was"
                    " changed now, and the answer is the first one's.",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            }
        }
    }


def _answer(made: admin.Made, response: Response) -> str:
    if made.repeated:
        response.headers[REPLAYED] = "true"
    return made.punch_id


router = APIRouter(prefix="/internal/v1")


@router.get(
    "/attempts/{attempt_id}",
    tags=["kiosk"],
    response_model=AttemptOutcome,
    responses=error_responses(401, 403, 404),
)
async def attempt_outcome(attempt_id: PathId, caller: ClockOrAdminDep, punch: PunchDep) -> dict:
    """The outcome of a kiosk attempt, as the event punch published for it."""
    return await punch.views.attempt_outcome(caller, attempt_id.lower())


@router.get(
    "/punches",
    tags=["ledger"],
    response_model=PunchPage,
    responses=error_responses(401, 403),
)
async def list_punches(
    caller: CallerDep,
    punch: PunchDep,
    worker_id: Annotated[Id | None, Query()] = None,
    site_id: Annotated[SiteId | None, Query()] = None,
    clock_id: Annotated[Id | None, Query()] = None,
    start: Annotated[Instant | None, Query(alias="from")] = None,
    end: Annotated[Instant | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)] = None,
) -> dict:
    """Punches (kiosk and corrections) in time order (the time they count at), paged;
    voided ones are listed with ``voided: true``. ``from`` inclusive, ``to`` exclusive."""
    return await punch.views.list_punches(
        caller, PunchQuery(worker_id, site_id, clock_id, start, end, limit, cursor)
    )


@router.post(
    "/punches",
    status_code=201,
    tags=["ledger"],
    response_model=PunchPublic,
    responses={**_replayed(201), **error_responses(401, 403, 404)},
)
async def add_punch(
    body: AddPunchBody,
    caller: CallerDep,
    punch: PunchDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict:
    """Add a punch the worker missed (a new ledger entry with the reason and your id). With an
    ``Idempotency-Key``, the same request sent again answers with the same punch."""
    made = await admin.add_punch(
        admin.AddPunch(
            caller=caller,
            worker_id=body.worker_id.lower(),
            direction=body.direction,
            punched_at=body.punched_at,
            reason=body.reason,
            clock_id=body.clock_id.lower() if body.clock_id else None,
            site_id=body.site_id,
            time_zone=body.time_zone,
            idempotency_key=_key(idempotency_key),
            projection_wait_s=punch.settings.projection_wait_s,
            policy=punch.ingest.policy,
        ),
        punch.uow(caller.tenant_id),
    )
    return await punch.views.punch(caller, _answer(made, response))


@router.post(
    "/punches/{punch_id}/void",
    tags=["ledger"],
    response_model=PunchPublic,
    responses={**_replayed(200), **error_responses(401, 403, 404, 409)},
)
async def void_punch(
    punch_id: PathId,
    body: VoidPunchBody,
    caller: CallerDep,
    punch: PunchDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict:
    """Void a wrong punch: it stays in the ledger, marked voided, and stops counting. With an
    ``Idempotency-Key``, the same request sent again answers with the voided punch (without
    one: 409 ``ALREADY_VOIDED``)."""
    made = await admin.void_punch(
        admin.VoidPunch(
            caller=caller,
            punch_id=punch_id.lower(),
            reason=body.reason,
            idempotency_key=_key(idempotency_key),
        ),
        punch.uow(caller.tenant_id),
    )
    return await punch.views.punch(caller, _answer(made, response))


@router.post(
    "/punches/{punch_id}/replace",
    status_code=201,
    tags=["ledger"],
    response_model=PunchPublic,
    responses={**_replayed(201), **error_responses(401, 403, 404, 409)},
)
async def replace_punch(
    punch_id: PathId,
    body: ReplacePunchBody,
    caller: CallerDep,
    punch: PunchDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict:
    """Replace a wrong punch (void it and add the corrected one, in one transaction). With an
    ``Idempotency-Key``, the same request sent again answers with the same replacement."""
    made = await admin.replace_punch(
        admin.ReplacePunch(
            caller=caller,
            punch_id=punch_id.lower(),
            reason=body.reason,
            direction=body.direction,
            punched_at=body.punched_at,
            idempotency_key=_key(idempotency_key),
            policy=punch.ingest.policy,
        ),
        punch.uow(caller.tenant_id),
    )
    return await punch.views.punch(caller, _answer(made, response))


@router.get(
    "/timesheets",
    tags=["ledger"],
    response_model=Timesheets,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **error_responses(401, 403),
    },
)
async def timesheets(
    caller: CallerDep,
    punch: PunchDep,
    first: Annotated[Day, Query(alias="from")],
    last: Annotated[Day, Query(alias="to")],
    worker_id: Annotated[Id | None, Query()] = None,
    site_id: Annotated[SiteId | None, Query()] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> dict | Response:
    """IN/OUT pairs per day in the time zone of the clock punched at, with totals; a
    missing IN or OUT is flagged, never guessed. ``format=csv`` for payroll export."""
    result = await punch.views.timesheets(
        caller,
        first,
        last,
        worker_id=worker_id.lower() if worker_id else None,
        site_id=site_id,
        as_csv=format == "csv",
    )
    if isinstance(result, str):
        return Response(
            result,
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": f'attachment; filename="timesheets_{first}_{last}.csv"'
            },
        )
    return {"from": first, "to": last, "data": result}


@router.get(
    "/reports/suspicious-pin-punches",
    tags=["reports"],
    response_model=SuspiciousReport,
    responses=error_responses(401, 403),
)
async def suspicious(
    caller: CallerDep,
    punch: PunchDep,
    first: Annotated[Day, Query(alias="from")],
    last: Annotated[Day, Query(alias="to")],
    site_id: Annotated[SiteId | None, Query()] = None,
) -> dict:
    """PIN punches that look like a shared PIN: at a clock the worker is not usually at,
    several workers by PIN at one kiosk within minutes, or at an unusual hour."""
    flags = await punch.views.suspicious_pin_punches(caller, first, last, site_id=site_id)
    return {"from": first, "to": last, "data": flags, "count": len(flags)}


def _policy(value: policy.PunchPolicy) -> dict:
    return {
        "refuse_unmatched_photos": value.refuse_unmatched_photos,
        "evidence_wait_s": value.evidence_wait.total_seconds(),
    }


@router.get(
    "/punch-policy",
    tags=["policy"],
    response_model=PunchPolicyPublic,
    responses=error_responses(401, 403),
)
async def get_punch_policy(caller: CallerDep, punch: PunchDep) -> dict:
    """The tenant's punch rules: whether PIN and card punches whose photo is not the worker's
    face are refused (off by default)."""
    wait = punch.ingest.evidence_wait
    return _policy(await policy.punch_policy(caller, punch.uow(caller.tenant_id), wait))


@router.put(
    "/punch-policy",
    tags=["policy"],
    response_model=PunchPolicyPublic,
    responses=error_responses(401, 403),
)
async def set_punch_policy(body: PunchPolicyUpdate, caller: CallerDep, punch: PunchDep) -> dict:
    """Refuse (or no longer refuse) PIN and card punches whose photo face-match found not to
    be the worker's face, or no face (sysadmins). Needs face-match's evidence photos on; a
    punch whose check does not come in time is recorded (docs/punch.md)."""
    command = policy.SetPunchPolicy(caller, body.refuse_unmatched_photos)
    wait = punch.ingest.evidence_wait
    return _policy(await policy.set_punch_policy(command, punch.uow(caller.tenant_id), wait))
