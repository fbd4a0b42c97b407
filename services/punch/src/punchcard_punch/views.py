"""The read side (cosmicpython's ``views.py``): the ledger as admins see it (punches by
worker, site, clock and time, paged; timesheets; the suspicious-PIN report) and an attempt's
outcome for the kiosk edge — queries and their response shaping, apart from the write use
cases (``service_layer/``). Read-only SQL, in a tenant transaction under row-level security.

A manager sees only punches of their sites; a viewer reads; a clock (the kiosk edge acting for
it) reads only its own attempts' outcomes."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.json_format import MessageToDict
from punchcard.v1 import punch_pb2
from punchcard_kit.access import require_role
from punchcard_kit.caller import Caller
from punchcard_kit.contract_enums import message_type
from punchcard_kit.errors import Invalid, NotFound
from punchcard_kit.unit_of_work import TenantUnitOfWork

from .domain import suspicious as sus
from .domain import timesheet as ts
from .domain.model import Method

ADMINS = ("sysadmin", "manager", "viewer")
MAX_RANGE_DAYS = 93
HISTORY_DAYS = 60
EVENTS = {
    message_type(m): m
    for m in (punch_pb2.PunchRecorded, punch_pb2.PunchRepeated, punch_pb2.PunchRejected)
}


@dataclass(frozen=True)
class PunchQuery:
    worker_id: str | None = None
    site_id: str | None = None
    clock_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 100
    cursor: str | None = None


def encode_cursor(at: datetime, punch_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{punch_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, _, punch_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), str(uuid.UUID(punch_id))
    except (ValueError, UnicodeDecodeError):
        raise Invalid("not a cursor from this API", "cursor") from None


def check_window(start: datetime | None, end: datetime | None) -> None:
    """A listing's ``from`` (inclusive) must not be after its ``to`` (exclusive): an empty
    page for a reversed window reads as "no punches", which is not what was asked."""
    if start is not None and end is not None and end < start:
        raise Invalid("'to' is before 'from'", "to")


def check_range(first: date, last: date) -> None:
    if last < first:
        raise Invalid("'to' is before 'from'", "to")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise Invalid(f"at most {MAX_RANGE_DAYS} days at a time", "to")


_LIST = """
SELECT p.*, v.id AS voided_by, v.reason AS void_reason, v.recorded_at AS voided_at
FROM punches p
LEFT JOIN punches v ON v.kind = 'VOID' AND v.refers_to = p.id
WHERE p.tenant_id = $1 AND p.kind <> 'VOID'
  AND ($2::uuid IS NULL OR p.worker_id = $2)
  AND ($3::text IS NULL OR p.site_id = $3)
  AND ($4::uuid IS NULL OR p.clock_id = $4)
  AND ($5::timestamptz IS NULL OR p.punched_at >= $5)
  AND ($6::timestamptz IS NULL OR p.punched_at < $6)
  AND ($7::text[] IS NULL OR p.site_id = ANY($7))
  AND ($8::timestamptz IS NULL OR (p.punched_at, p.id) > ($8, $9::uuid))
  AND ($11::uuid IS NULL OR p.id = $11)
ORDER BY p.punched_at, p.id
LIMIT $10
"""

_EFFECTIVE = """
SELECT p.id::text, p.worker_id::text, p.employee_id, p.display_name, p.direction,
       p.direction_inferred, p.punched_at, p.time_zone, p.clock_id::text, p.site_id, p.method
FROM punches p
WHERE p.tenant_id = $1 AND p.kind <> 'VOID'
  AND p.punched_at >= $2 AND p.punched_at < $3
  AND ($4::uuid IS NULL OR p.worker_id = $4)
  AND ($5::text[] IS NULL OR p.site_id = ANY($5)){at_site}
  AND NOT EXISTS (SELECT 1 FROM punches v WHERE v.kind = 'VOID' AND v.refers_to = p.id)
ORDER BY p.worker_id, p.punched_at, p.id
"""
# A site's report, and a manager's (their sites): every punch of the workers who punched at
# the sites in the range, wherever (a shift may start at one site and end at another); the
# report keeps the shifts that began at the sites (timesheet.shift_site). The sites' workers
# are found first (an array, computed once) and lead to their punches through
# punches_worker_time, with custom and generic plans alike; each site is a probe of its own
# (a LATERAL subquery kept apart by OFFSET 0: ``site_id = ANY($6)``, or the LATERAL pulled up
# into a join, read the tenant's range in a generic plan, 14,355 rows against ~1,400).
# Written as ``$6 IS NULL OR worker_id IN (subquery)``, it was a filter on a read of the
# tenant's whole range: PostgreSQL cannot join an or'd subquery.
_EFFECTIVE_ALL = _EFFECTIVE.format(at_site="")
_EFFECTIVE_AT_SITE = _EFFECTIVE.format(
    at_site="""
  AND p.worker_id = ANY(ARRAY(
        SELECT DISTINCT q.worker_id FROM unnest($6::text[]) AS s(site_id)
        CROSS JOIN LATERAL (
            SELECT q.worker_id FROM punches q WHERE q.tenant_id = $1
              AND q.kind <> 'VOID' AND q.site_id = s.site_id
              AND q.punched_at >= $2 AND q.punched_at < $3 OFFSET 0) AS q))"""
)

_HISTORY = """
SELECT p.id::text, p.worker_id::text, p.clock_id::text, p.punched_at,
       p.time_zone, p.method
FROM punches p
WHERE p.tenant_id = $1 AND p.kind = 'RECORDED' AND p.worker_id = ANY($2::uuid[])
  AND p.punched_at >= $3 AND p.punched_at < $4
"""


# The report's facts from face-match (issue 17): the evidence check of each PIN punch's photo,
# the workers with an enrolled face, and the face attempts refused at the report's clocks.
_EVIDENCE = """
SELECT p.id::text AS punch_id, p.attempt_id::text, e.evidence_check
FROM punches p
LEFT JOIN punch_evidence e ON e.tenant_id = p.tenant_id AND e.attempt_id = p.attempt_id
WHERE p.tenant_id = $1 AND p.id = ANY($2::uuid[])
"""

_FACE_ENROLLED = """
SELECT worker_id::text FROM face_enrolments
WHERE tenant_id = $1 AND enrolled AND worker_id = ANY($2::uuid[])
"""

# Refused face attempts (decided_at: when punch decided them, the same server clock as a PIN
# punch's recorded_at, whatever the kiosk's capture time says), through attempts_rejected
# (migration 0010), not a read of every attempt the tenant made.
FACE_FAILURE_REASONS = ("NO_MATCH", "AMBIGUOUS", "MULTIPLE_FACES", "SPOOF_SUSPECTED")
_FACE_FAILURES = """
SELECT clock_id::text, decided_at FROM attempts
WHERE tenant_id = $1 AND outcome = 'REJECTED' AND reason = ANY($2::text[])
  AND clock_id = ANY($3::uuid[]) AND decided_at >= $4 AND decided_at < $5
"""

_RECORDED_AT = """
SELECT id::text, recorded_at FROM punches WHERE tenant_id = $1 AND id = ANY($2::uuid[])
"""


def report_sites(site_id: str | None, caller_sites: list[str] | None) -> list[str] | None:
    """The sites a timesheet reports the shifts of: the one asked for (none of a manager's
    own: none), else the manager's, else every site (None)."""
    if site_id is None:
        return caller_sites
    return [site_id] if caller_sites is None or site_id in caller_sites else []


async def _effective(
    conn: Any,
    tenant_id: str,
    start: datetime,
    end: datetime,
    worker_id: str | None,
    workers_at: list[str] | None,
    only_at: list[str] | None = None,
) -> list[Any]:
    """The punches in effect in [start, end): of one worker, of the workers seen at the sites
    ``workers_at`` (wherever they punched: a shift begun at one may end at another), or all the
    tenant's; ``only_at``: only those punched at these sites."""
    if workers_at is None:
        return await conn.fetch(_EFFECTIVE_ALL, tenant_id, start, end, worker_id, only_at)
    return await conn.fetch(
        _EFFECTIVE_AT_SITE, tenant_id, start, end, worker_id, only_at, workers_at
    )


def punch_public(row: Any) -> dict[str, Any]:
    zone = ZoneInfo(row["time_zone"])
    face = None
    if row["method"] == Method.FACE and row["face_distance"] is not None:
        face = {
            "distance": row["face_distance"],
            "margin": row["face_margin"],
            "threshold": row["face_threshold"],
            "model": row["face_model"],
            "one_to_one": row["face_one_to_one"],
        }
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "worker_id": str(row["worker_id"]),
        "employee_id": row["employee_id"],
        "display_name": row["display_name"],
        "clock_id": str(row["clock_id"]) if row["clock_id"] else None,
        "site_id": row["site_id"],
        "time_zone": row["time_zone"],
        "direction": row["direction"],
        "direction_inferred": row["direction_inferred"],
        "method": row["method"],
        "face": face,
        "punched_at": row["punched_at"],
        "local_time": row["punched_at"].astimezone(zone).isoformat(),
        "received_at": row["received_at"],
        "recorded_at": row["recorded_at"],
        "captured_offline": row["captured_offline"],
        "needs_review": row["needs_review"],
        "device_verify_mode": row["device_verify_mode"],
        "device_state": row["device_state"],
        "attempt_id": str(row["attempt_id"]) if row["attempt_id"] else None,
        "replaces_punch_id": str(row["refers_to"]) if row["refers_to"] else None,
        "reason": row["reason"],
        "admin_id": str(row["admin_id"]) if row["admin_id"] else None,
        "voided": row["voided_by"] is not None,
        "voided_by": str(row["voided_by"]) if row["voided_by"] else None,
        "void_reason": row["void_reason"],
        "voided_at": row["voided_at"],
    }


def _sites(caller: Caller) -> list[str] | None:
    """The sites a caller is limited to (None: every site; the kit's one rule)."""
    sites = caller.site_scope()
    return list(sites) if sites is not None else None


class LedgerViews:
    def __init__(
        self,
        unit_of_work: Callable[[str], TenantUnitOfWork],
        *,
        max_shift: timedelta,
        toggle_reset: timedelta | None = None,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.max_shift = max_shift
        # Guessed directions are guessed again by the toggle (timesheet.reread_guesses).
        self.toggle_reset = toggle_reset

    # -- the kiosk edge -------------------------------------------------------------------
    async def attempt_outcome(self, caller: Caller, attempt_id: str) -> dict[str, Any]:
        """The outcome of a kiosk attempt, as the event punch published for it."""
        require_role(caller, "clock", *ADMINS)
        async with self.unit_of_work(caller.tenant_id) as uow:
            row = await uow.connection.fetchrow(
                "SELECT clock_id::text, outcome, event_type, event FROM attempts"
                " WHERE tenant_id = $1 AND attempt_id = $2",
                caller.tenant_id,
                attempt_id,
            )
        if row is None or (caller.role == "clock" and row["clock_id"] != caller.user_id):
            raise NotFound("no outcome for this attempt (yet)", code="ATTEMPT_NOT_FOUND")
        event_type = row["event_type"]
        message = EVENTS[event_type].FromString(bytes(row["event"]))
        return {
            "type": event_type,
            "payload": MessageToDict(message, preserving_proto_field_name=True),
        }

    # -- reading ---------------------------------------------------------------------------
    async def list_punches(self, caller: Caller, q: PunchQuery) -> dict[str, Any]:
        require_role(caller, *ADMINS)
        check_window(q.start, q.end)
        after_at, after_id = decode_cursor(q.cursor) if q.cursor else (None, None)
        async with self.unit_of_work(caller.tenant_id) as uow:
            rows = await uow.connection.fetch(
                _LIST,
                caller.tenant_id,
                q.worker_id,
                q.site_id,
                q.clock_id,
                q.start,
                q.end,
                _sites(caller),
                after_at,
                after_id,
                q.limit + 1,
                None,
            )
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        last = rows[-1] if rows else None
        return {
            "data": [punch_public(r) for r in rows],
            "next_cursor": encode_cursor(last["punched_at"], str(last["id"])) if more else None,
        }

    async def punch(self, caller: Caller, punch_id: str) -> dict[str, Any]:
        """One punch as listed (the answer of a correction, after its commit)."""
        async with self.unit_of_work(caller.tenant_id) as uow:
            args = (caller.tenant_id, *([None] * 8), 1, punch_id)
            return punch_public(await uow.connection.fetchrow(_LIST, *args))

    # -- timesheets and reports ------------------------------------------------------------
    async def timesheets(
        self,
        caller: Caller,
        first: date,
        last: date,
        *,
        worker_id: str | None,
        site_id: str | None,
        as_csv: bool,
    ) -> list[dict[str, Any]] | str:
        require_role(caller, *ADMINS)
        check_range(first, last)
        # A margin of max_shift + a day either side pairs shifts at the range's edges in any
        # zone; the pairing reports only shifts whose day is inside the range.
        margin = self.max_shift + timedelta(days=1)
        start = datetime.combine(first, datetime.min.time(), UTC) - margin
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC) + margin
        sites = report_sites(site_id, _sites(caller))
        async with self.unit_of_work(caller.tenant_id) as uow:
            rows = await _effective(uow.connection, caller.tenant_id, start, end, worker_id, sites)
        punches = [
            ts.LedgerPunch(
                punch_id=r["id"],
                worker_id=r["worker_id"],
                direction=r["direction"],
                at=r["punched_at"],
                time_zone=r["time_zone"],
                clock_id=r["clock_id"],
                site_id=r["site_id"],
                method=r["method"],
                inferred=r["direction_inferred"],
            )
            for r in rows
        ]
        names = {r["worker_id"]: (r["employee_id"], r["display_name"]) for r in rows}
        sheets = ts.build_timesheets(
            punches,
            first,
            last,
            max_shift=self.max_shift,
            now=datetime.now(UTC),
            sites=sites,
            toggle_reset=self.toggle_reset,
        )
        if as_csv:
            return ts.timesheets_csv(sheets, names)
        out = ts.to_json(sheets)
        for sheet in out:
            employee_id, name = names.get(sheet["worker_id"], ("", ""))
            sheet["employee_id"], sheet["display_name"] = employee_id, name
        return out

    async def suspicious_pin_punches(
        self, caller: Caller, first: date, last: date, *, site_id: str | None
    ) -> list[dict[str, Any]]:
        require_role(caller, *ADMINS)
        check_range(first, last)
        start = datetime.combine(first, datetime.min.time(), UTC) - timedelta(hours=14)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC) + timedelta(
            hours=14
        )
        async with self.unit_of_work(caller.tenant_id) as uow:
            conn = uow.connection
            workers_at = [site_id] if site_id is not None else None
            rows = await _effective(
                conn, caller.tenant_id, start, end, None, workers_at, _sites(caller)
            )
            worker_ids = sorted({r["worker_id"] for r in rows if r["method"] == Method.PIN})
            history = await conn.fetch(
                _HISTORY, caller.tenant_id, worker_ids, start - timedelta(days=HISTORY_DAYS), start
            )
            pin_ids = [r["id"] for r in rows if r["method"] == Method.PIN]
            evidence = await conn.fetch(_EVIDENCE, caller.tenant_id, pin_ids)
            enrolled = await conn.fetch(_FACE_ENROLLED, caller.tenant_id, worker_ids)
            recorded = await conn.fetch(_RECORDED_AT, caller.tenant_id, pin_ids)
            clock_ids = sorted({r["clock_id"] for r in rows if r["clock_id"]})
            failures = await conn.fetch(
                _FACE_FAILURES,
                caller.tenant_id,
                list(FACE_FAILURE_REASONS),
                clock_ids,
                start - timedelta(days=1),
                end + timedelta(days=1),
            )

        def pin_punch(r) -> sus.PinPunch:
            return sus.PinPunch(
                punch_id=r["id"],
                worker_id=r["worker_id"],
                clock_id=r["clock_id"] or "",
                at=r["punched_at"],
                time_zone=r["time_zone"],
                method=r["method"],
            )

        info = {r["id"]: r for r in rows}
        candidates = [
            pin_punch(r)
            for r in rows
            if r["method"] == Method.PIN
            and first <= r["punched_at"].astimezone(ZoneInfo(r["time_zone"])).date() <= last
        ]
        checks = {r["punch_id"]: r["evidence_check"] for r in evidence if r["evidence_check"]}
        attempts = {r["punch_id"]: r["attempt_id"] for r in evidence}
        # A PIN punch and the face failures are compared on punch's own clock (recorded_at,
        # decided_at): an offline kiosk's capture time would not line up with a decision.
        at_server = {r["id"]: r["recorded_at"] for r in recorded}
        candidates = [replace(c, server_at=at_server.get(c.punch_id)) for c in candidates]
        flags = sus.find_suspicious(
            candidates,
            [pin_punch(r) for r in history],
            evidence=checks,
            face_enrolled={r["worker_id"] for r in enrolled},
            face_failures=[sus.FaceFailure(r["clock_id"], r["decided_at"]) for r in failures],
        )
        return [
            {
                "punch_id": f.punch.punch_id,
                "worker_id": f.punch.worker_id,
                "employee_id": info[f.punch.punch_id]["employee_id"],
                "display_name": info[f.punch.punch_id]["display_name"],
                "clock_id": f.punch.clock_id,
                "site_id": info[f.punch.punch_id]["site_id"],
                "punched_at": f.punch.at,
                "local_time": f.punch.at.astimezone(ZoneInfo(f.punch.time_zone)).isoformat(),
                "reasons": list(f.reasons),
                "detail": f.detail,
                "attempt_id": attempts.get(f.punch.punch_id),
                "evidence": checks.get(f.punch.punch_id),
            }
            for f in flags
        ]
