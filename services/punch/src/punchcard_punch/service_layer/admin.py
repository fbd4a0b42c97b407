"""The ledger as admins see it (through the gateway): punches by worker, site, clock and time,
paged; admin corrections (add a missed punch, void a wrong one, replace one = void + add, in one
transaction), each a new ledger entry with a reason and the admin's id and an event; timesheets;
the suspicious-PIN report; and an attempt's outcome for the kiosk edge.

A manager sees and corrects only punches of their sites; a viewer reads; a clock (the kiosk
edge acting for it) reads only its own attempts' outcomes."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from punchcard_kit.access import require_role, require_site
from punchcard_kit.http_errors import ApiError
from punchcard_kit.internal_auth import Caller
from punchcard_kit.messaging import add_to_outbox, new_envelope
from punchcard_kit.tenancy import tenant_transaction

from ..adapters import ledger
from ..domain import suspicious as sus
from ..domain import timesheet as ts
from .events import PUNCHES_TOPIC, corrected_event, voided_event

ADMINS = ("sysadmin", "manager", "viewer")
EDITORS = ("sysadmin", "manager")
MAX_RANGE_DAYS = 93
HISTORY_DAYS = 60


def _sites(caller: Caller) -> tuple[str, ...] | None:
    """The sites a caller is limited to (None: every site; the kit's one rule)."""
    return caller.site_scope()


_require = require_role


@dataclass(frozen=True)
class PunchQuery:
    worker_id: str | None = None
    site_id: str | None = None
    clock_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True)
class Correction:
    worker_id: str
    direction: str
    punched_at: datetime
    reason: str
    clock_id: str | None = None
    site_id: str | None = None
    time_zone: str | None = None


def encode_cursor(at: datetime, punch_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{punch_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, _, punch_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), str(uuid.UUID(punch_id))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "INVALID", "not a cursor from this API", "cursor") from None


def _zone(name: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(422, "INVALID", f"unknown time zone {name!r}", field) from None


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


def punch_public(row: Any) -> dict[str, Any]:
    zone = ZoneInfo(row["time_zone"])
    face = None
    if row["method"] == "FACE" and row["face_distance"] is not None:
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
        "attempt_id": str(row["attempt_id"]) if row["attempt_id"] else None,
        "replaces_punch_id": str(row["refers_to"]) if row["refers_to"] else None,
        "reason": row["reason"],
        "admin_id": str(row["admin_id"]) if row["admin_id"] else None,
        "voided": row["voided_by"] is not None,
        "voided_by": str(row["voided_by"]) if row["voided_by"] else None,
        "void_reason": row["void_reason"],
        "voided_at": row["voided_at"],
    }


class LedgerAdmin:
    def __init__(self, pool: asyncpg.Pool, *, max_shift: timedelta) -> None:
        self.pool = pool
        self.max_shift = max_shift

    def _tx(self, caller: Caller):
        return tenant_transaction(self.pool, ledger.APP_ROLE, caller.tenant_id)

    # -- the kiosk edge -------------------------------------------------------------------
    async def attempt_outcome(self, caller: Caller, attempt_id: str) -> tuple[str, bytes]:
        _require(caller, "clock", *ADMINS)
        async with self._tx(caller) as conn:
            row = await ledger.attempt(conn, caller.tenant_id, attempt_id)
        if row is None or (caller.role == "clock" and row["clock_id"] != caller.user_id):
            raise ApiError(404, "ATTEMPT_NOT_FOUND", "no outcome for this attempt (yet)")
        return row["event_type"], bytes(row["event"])

    # -- reading ---------------------------------------------------------------------------
    async def list_punches(self, caller: Caller, q: PunchQuery) -> dict[str, Any]:
        _require(caller, *ADMINS)
        after_at, after_id = decode_cursor(q.cursor) if q.cursor else (None, None)
        async with self._tx(caller) as conn:
            rows = await conn.fetch(
                _LIST,
                caller.tenant_id,
                q.worker_id,
                q.site_id,
                q.clock_id,
                q.start,
                q.end,
                list(_sites(caller)) if _sites(caller) is not None else None,
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

    # -- corrections -----------------------------------------------------------------------
    async def add_punch(self, caller: Caller, c: Correction) -> dict[str, Any]:
        _require(caller, *EDITORS)
        async with self._tx(caller) as conn:
            row = await self._correction_row(conn, caller, c, replaces=None)
            await self._append(conn, caller, [row])
            return await self._one(conn, caller, row["id"])

    async def void_punch(self, caller: Caller, punch_id: str, reason: str) -> dict[str, Any]:
        _require(caller, *EDITORS)
        async with self._tx(caller) as conn:
            original = await self._voidable(conn, caller, punch_id)
            await self._append(conn, caller, [self._void_row(caller, original, reason)])
            return await self._one(conn, caller, punch_id)

    async def replace_punch(
        self,
        caller: Caller,
        punch_id: str,
        *,
        direction: str | None,
        punched_at: datetime | None,
        reason: str,
    ) -> dict[str, Any]:
        _require(caller, *EDITORS)
        async with self._tx(caller) as conn:
            original = await self._voidable(conn, caller, punch_id)
            void = self._void_row(caller, original, reason)
            replacement = await self._correction_row(
                conn,
                caller,
                Correction(
                    worker_id=str(original["worker_id"]),
                    direction=direction or original["direction"],
                    punched_at=punched_at or original["punched_at"],
                    reason=reason,
                    clock_id=str(original["clock_id"]) if original["clock_id"] else None,
                    site_id=original["site_id"],
                    time_zone=original["time_zone"],
                ),
                replaces=punch_id,
            )
            await self._append(conn, caller, [void, replacement])
            return await self._one(conn, caller, replacement["id"])

    async def _voidable(self, conn, caller: Caller, punch_id: str):
        rows = await ledger.punches_by_id(conn, caller.tenant_id, [punch_id])
        original = rows.get(punch_id)
        if original is None or original["kind"] == "VOID":
            raise ApiError(404, "PUNCH_NOT_FOUND", "no such punch")
        self._check_site(caller, original["site_id"])
        voided = await conn.fetchval(
            "SELECT id FROM punches WHERE tenant_id = $1 AND kind = 'VOID' AND refers_to = $2",
            caller.tenant_id,
            punch_id,
        )
        if voided is not None:
            raise ApiError(409, "ALREADY_VOIDED", "this punch has already been voided")
        return original

    def _check_site(self, caller: Caller, site_id: str, field: str | None = None) -> None:
        require_site(caller, site_id, field)

    def _void_row(self, caller: Caller, original, reason: str) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
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
        self, conn, caller: Caller, c: Correction, *, replaces: str | None
    ) -> dict[str, Any]:
        workers = await ledger.workers(conn, caller.tenant_id, [c.worker_id])
        worker = workers.get(c.worker_id)
        if worker is None:
            raise ApiError(404, "WORKER_NOT_FOUND", "no such worker", "worker_id")
        # A manager corrects the punches of the workers of their sites only, wherever the
        # punch is (a clock of their site does not make another site's worker theirs).
        self._check_site(caller, worker["site_id"], "worker_id")
        site_id, time_zone = c.site_id, c.time_zone
        if c.clock_id:
            clock = (await ledger.clocks(conn, caller.tenant_id, [c.clock_id])).get(c.clock_id)
            if clock is None:
                raise ApiError(404, "CLOCK_NOT_FOUND", "no such clock", "clock_id")
            site_id, time_zone = clock["site_id"], clock["time_zone"]
        site_id = site_id if site_id is not None else worker["site_id"]
        if time_zone is None:
            time_zone = await conn.fetchval(
                "SELECT time_zone FROM clocks WHERE tenant_id = $1 AND site_id = $2 LIMIT 1",
                caller.tenant_id,
                site_id,
            )
        if time_zone is None:
            raise ApiError(
                422, "INVALID", "give the clock or the time zone of the punch", "time_zone"
            )
        _zone(time_zone, "time_zone")
        self._check_site(caller, site_id, "site_id")
        return {
            "id": str(uuid.uuid4()),
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

    async def _append(self, conn, caller: Caller, rows: list[dict[str, Any]]) -> None:
        await ledger.insert_punches(conn, rows)
        items = []
        correlation = caller.request_id
        for row in rows:
            event = voided_event(row) if row["kind"] == "VOID" else corrected_event(row)
            envelope = new_envelope(
                event, tenant_id=caller.tenant_id, producer="punch", correlation_id=correlation
            )
            items.append((PUNCHES_TOPIC, f"{caller.tenant_id}/{row['worker_id']}", envelope))
        await add_to_outbox(conn, items)

    async def _one(self, conn, caller: Caller, punch_id: str) -> dict[str, Any]:
        args = (caller.tenant_id, *([None] * 8), 1, punch_id)
        return punch_public(await conn.fetchrow(_LIST, *args))

    # -- timesheets and reports ------------------------------------------------------------
    async def _effective(
        self,
        conn,
        caller: Caller,
        start: datetime,
        end: datetime,
        worker_id: str | None,
        site_id: str | None,
    ) -> list:
        return await conn.fetch(
            """
            SELECT p.id::text, p.worker_id::text, p.employee_id, p.display_name, p.direction,
                   p.punched_at, p.time_zone, p.clock_id::text, p.site_id, p.method
            FROM punches p
            WHERE p.tenant_id = $1 AND p.kind <> 'VOID'
              AND p.punched_at >= $2 AND p.punched_at < $3
              AND ($4::uuid IS NULL OR p.worker_id = $4)
              AND ($5::text IS NULL OR p.worker_id IN (
                    SELECT q.worker_id FROM punches q WHERE q.tenant_id = $1
                      AND q.kind <> 'VOID' AND q.site_id = $5
                      AND q.punched_at >= $2 AND q.punched_at < $3))
              AND ($6::text[] IS NULL OR p.site_id = ANY($6))
              AND NOT EXISTS (SELECT 1 FROM punches v WHERE v.kind = 'VOID' AND v.refers_to = p.id)
            ORDER BY p.worker_id, p.punched_at, p.id
            """,
            caller.tenant_id,
            start,
            end,
            worker_id,
            site_id,
            list(_sites(caller)) if _sites(caller) is not None else None,
        )

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
        _require(caller, *ADMINS)
        _check_range(first, last)
        # A margin of max_shift + a day either side pairs shifts at the range's edges in any
        # zone; the pairing reports only shifts whose day is inside the range.
        margin = self.max_shift + timedelta(days=1)
        start = datetime.combine(first, datetime.min.time(), UTC) - margin
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC) + margin
        async with self._tx(caller) as conn:
            rows = await self._effective(conn, caller, start, end, worker_id, site_id)
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
            )
            for r in rows
        ]
        names = {r["worker_id"]: (r["employee_id"], r["display_name"]) for r in rows}
        sheets = ts.build_timesheets(
            punches, first, last, max_shift=self.max_shift, now=datetime.now(UTC)
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
        _require(caller, *ADMINS)
        _check_range(first, last)
        start = datetime.combine(first, datetime.min.time(), UTC) - timedelta(hours=14)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC) + timedelta(
            hours=14
        )
        async with self._tx(caller) as conn:
            rows = await self._effective(conn, caller, start, end, None, site_id)
            worker_ids = sorted({r["worker_id"] for r in rows if r["method"] == "PIN"})
            history = await conn.fetch(
                """
                SELECT p.id::text, p.worker_id::text, p.clock_id::text, p.punched_at,
                       p.time_zone, p.method
                FROM punches p
                WHERE p.tenant_id = $1 AND p.kind = 'RECORDED' AND p.worker_id = ANY($2::uuid[])
                  AND p.punched_at >= $3 AND p.punched_at < $4
                """,
                caller.tenant_id,
                worker_ids,
                start - timedelta(days=HISTORY_DAYS),
                start,
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
            if r["method"] == "PIN"
            and first <= r["punched_at"].astimezone(ZoneInfo(r["time_zone"])).date() <= last
        ]
        flags = sus.find_suspicious(candidates, [pin_punch(r) for r in history])
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
            }
            for f in flags
        ]


def _check_range(first: date, last: date) -> None:
    if last < first:
        raise ApiError(422, "INVALID", "'to' is before 'from'", "to")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ApiError(422, "INVALID", f"at most {MAX_RANGE_DAYS} days at a time", "to")
