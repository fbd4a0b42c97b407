"""Timesheets: a worker's IN and OUT punches paired into shifts, for payroll.

These rules are the product's payroll semantics. A payroll user must be able to trust every
number, so a missing punch is flagged, never guessed, and a flagged shift counts 0 hours.

Pairing (per worker; punches sorted by ``model.ledger_order``: by time, at one instant an OUT
before an IN, then by id):

* An IN opens a shift; the next OUT closes it. That is a complete shift whose duration is the
  elapsed time ``out.at - in.at``, computed in UTC: a shift across a DST change counts the time
  actually worked (00:30-05:30 in Europe/Berlin is 4 h on the spring-forward night, 6 h on the
  fall-back night).
* An IN while a shift is open: the open shift is flagged ``MISSING_OUT`` (no OUT, no duration)
  and the new IN opens a shift.
* An OUT with no open shift: a shift of its own, flagged ``MISSING_IN``.
* An OUT more than ``max_shift`` after the open IN closes nothing: the IN becomes a
  ``MISSING_OUT`` shift and the OUT a ``MISSING_IN`` one (a 3-day shift is never guessed). The
  same holds for an OUT at the very instant of its IN: a shift of zero length is flagged too.
* The shift still open at the end of the input is ``OPEN`` (the worker is on shift now, not an
  error) when its IN is less than ``max_shift`` before ``now``; otherwise, or without ``now``,
  it is ``MISSING_OUT``.
* A flagged shift (any flag, ``OPEN`` included) has no duration and adds 0 to the totals; a day
  with one is ``flagged``.

Days: a shift belongs to the local calendar date of its first punch (the IN; the OUT for a
``MISSING_IN`` shift), in that punch's ``time_zone``, the zone of the clock or site where it
was punched. An overnight shift 22:00-06:00 belongs, in full, to the day it started.

Range: only shifts whose day is within ``[start, end]`` (inclusive) are reported, and a worker
is listed only with at least one such shift. A site's report holds only the shifts that began
at the site (:func:`shift_site`). Pairing runs over the whole input, so the caller
passes punches from a margin around the range (at least ``max_shift`` on each side, e.g. a
day): a shift that started before ``start`` is not reported even if its OUT is in the range;
a shift that starts on ``end`` is paired with its OUT after ``end`` when that OUT is in the
input.

Exports: :func:`timesheets_csv` (one row per shift plus a TOTAL row per worker; hours as
decimal hours with 2 decimals, rounded half up from the exact elapsed time) and
:func:`to_json` (plain JSON-able dicts for the API).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .decisions import toggled
from .model import Direction, Method, ledger_order

IN = Direction.IN
OUT = Direction.OUT
MISSING_IN = "MISSING_IN"
MISSING_OUT = "MISSING_OUT"
OPEN = "OPEN"
FLAGS = frozenset({MISSING_IN, MISSING_OUT, OPEN})
DEFAULT_MAX_SHIFT = timedelta(hours=20)

CSV_HEADER = (
    "worker_id",
    "employee_id",
    "display_name",
    "date",
    "in_local",
    "out_local",
    "hours",
    "flag",
    "in_punch_id",
    "out_punch_id",
    "in_method",
    "out_method",
)
TOTAL = "TOTAL"

_ZERO = timedelta(0)
_MICROS_PER_HOUR = Decimal(3_600_000_000)
_CENT = Decimal("0.01")
# A cell starting with one of these is read as a formula by spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class LedgerPunch:
    """An effective (not voided) punch, as the ledger recorded it."""

    punch_id: str
    worker_id: str
    direction: str  # a Direction
    at: datetime  # aware; the instant the punch counts at
    time_zone: str  # IANA zone of the clock/site where it was punched
    clock_id: str | None = None
    site_id: str | None = None
    method: str = Method.PIN  # a Method (MANUAL: an admin's correction)
    # The kiosk gave no direction: the ledger guessed it (``decisions.toggled``), and the
    # timesheet guesses it again from the punches it has (``reread_guesses``).
    inferred: bool = False

    def __post_init__(self) -> None:
        if self.direction not in (IN, OUT):
            raise ValueError(f"punch {self.punch_id}: direction must be IN or OUT")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"punch {self.punch_id}: time must be timezone-aware")
        try:
            ZoneInfo(self.time_zone)  # an unknown zone fails here, not in the middle of a report
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"punch {self.punch_id}: unknown time zone {self.time_zone!r}"
            ) from None

    @property
    def local(self) -> datetime:
        """The punch time on the wall clock of the place where it was punched."""
        return self.at.astimezone(ZoneInfo(self.time_zone))


@dataclass(frozen=True)
class Shift:
    """An IN and its OUT, or a lone punch with the flag that says what is missing."""

    day: date
    in_punch: LedgerPunch | None
    out_punch: LedgerPunch | None
    duration: timedelta | None  # None when flagged
    flag: str | None  # None, "MISSING_IN", "MISSING_OUT" or "OPEN"


@dataclass(frozen=True)
class Day:
    day: date
    shifts: tuple[Shift, ...]
    total: timedelta  # complete shifts only
    flagged: bool  # some shift of the day has a flag


@dataclass(frozen=True)
class WorkerTimesheet:
    worker_id: str
    days: tuple[Day, ...]  # only days with a shift, sorted
    total: timedelta
    flagged_shifts: int


# --- pairing ------------------------------------------------------------------------------


def build_timesheets(
    punches: Iterable[LedgerPunch],
    start: date,
    end: date,
    *,
    max_shift: timedelta = DEFAULT_MAX_SHIFT,
    now: datetime | None = None,
    sites: Collection[str] | None = None,
    toggle_reset: timedelta | None = None,
) -> list[WorkerTimesheet]:
    """The timesheets of ``[start, end]``, one per worker with a shift there, by worker_id.

    ``punches`` are effective punches of any workers, in any order, covering a margin around
    the range (see the module docstring). ``now`` (aware) tells an ``OPEN`` shift from a
    ``MISSING_OUT`` one. ``sites``: a site's report (or a manager's, of their sites), only the
    shifts that began there (their first punch's site; the OUT may be elsewhere), so that a
    worker's hours at another site are on that site's report, not on both. ``toggle_reset``:
    guessed directions are guessed again (``reread_guesses``); None: as the ledger recorded
    them.
    """
    if start > end:
        raise ValueError("start is after end")
    _check_limits(max_shift, now)
    sheets = []
    for worker_id, worker_punches in sorted(_by_worker(punches).items()):
        shifts = [
            s
            for s in pair_shifts(
                worker_punches, max_shift=max_shift, now=now, toggle_reset=toggle_reset
            )
            if start <= s.day <= end and (sites is None or shift_site(s) in sites)
        ]
        if shifts:
            sheets.append(_worker_timesheet(worker_id, shifts))
    return sheets


def pair_shifts(
    punches: Iterable[LedgerPunch],
    *,
    max_shift: timedelta = DEFAULT_MAX_SHIFT,
    now: datetime | None = None,
    toggle_reset: timedelta | None = None,
) -> list[Shift]:
    """Every shift of one worker's punches (no range filter), in the order of their first
    punch. Every punch is in exactly one shift. ``toggle_reset``: see ``build_timesheets``."""
    _check_limits(max_shift, now)
    ordered = sorted(punches, key=_order)
    if toggle_reset is not None:
        ordered = reread_guesses(ordered, toggle_reset)
    open_in: LedgerPunch | None = None
    shifts: list[Shift] = []
    for punch in ordered:
        if punch.direction == IN:
            if open_in is not None:
                shifts.append(_missing_out(open_in))
            open_in = punch
        elif open_in is None:
            shifts.append(_missing_in(punch))
        elif _ZERO < _elapsed(open_in, punch) <= max_shift:
            shifts.append(_complete(open_in, punch))
            open_in = None
        else:
            shifts += [_missing_out(open_in), _missing_in(punch)]
            open_in = None
    if open_in is not None:
        shifts.append(_still_open(open_in, max_shift, now))
    return shifts


def reread_guesses(punches: Sequence[LedgerPunch], toggle_reset: timedelta) -> list[LedgerPunch]:
    """One worker's punches in ledger order, each whose direction the ledger guessed
    (``inferred``) guessed again by the same toggle (``decisions.toggled``) from the punch
    before it as read here. The ledger guessed with the punches it had then; an admin's missed
    punch added since, or an offline clock's upload that came later, changes what the next
    guesses should have been, and pay follows the punches, not the order they arrived in. The
    first punch keeps the ledger's direction (its guess saw the punches before the input)."""
    read: list[LedgerPunch] = []
    for punch in punches:
        if read and punch.inferred:
            before = read[-1]
            direction = toggled(before.direction, _utc(before.at), _utc(punch.at), toggle_reset)
            if direction != punch.direction:
                punch = replace(punch, direction=direction)
        read.append(punch)
    return read


def shift_site(shift: Shift) -> str | None:
    """The site a shift counts at: where its first punch was (the IN; the OUT of a
    ``MISSING_IN``)."""
    first = shift.in_punch or shift.out_punch
    assert first is not None
    return first.site_id


def _check_limits(max_shift: timedelta, now: datetime | None) -> None:
    if max_shift <= _ZERO:
        raise ValueError("max_shift must be positive")
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise ValueError("now must be timezone-aware")


def _by_worker(punches: Iterable[LedgerPunch]) -> dict[str, list[LedgerPunch]]:
    """Punches grouped by worker; a punch given twice (overlapping queries) counts once."""
    seen: dict[str, LedgerPunch] = {}
    grouped: dict[str, list[LedgerPunch]] = defaultdict(list)
    for punch in punches:
        known = seen.get(punch.punch_id)
        if known is not None:
            if known != punch:
                raise ValueError(f"punch {punch.punch_id} given twice with different data")
            continue
        seen[punch.punch_id] = punch
        grouped[punch.worker_id].append(punch)
    return grouped


def _order(punch: LedgerPunch) -> tuple[datetime, bool, str]:
    return ledger_order(punch.at, punch.direction, punch.punch_id)


def _utc(moment: datetime) -> datetime:
    # Two aware datetimes with the same tzinfo subtract as wall times (DST ignored): go to UTC.
    return moment.astimezone(UTC)


def _elapsed(first: LedgerPunch, second: LedgerPunch) -> timedelta:
    return _utc(second.at) - _utc(first.at)


def _day(punch: LedgerPunch) -> date:
    return punch.local.date()


def _complete(in_punch: LedgerPunch, out_punch: LedgerPunch) -> Shift:
    return Shift(_day(in_punch), in_punch, out_punch, _elapsed(in_punch, out_punch), None)


def _missing_out(in_punch: LedgerPunch) -> Shift:
    return Shift(_day(in_punch), in_punch, None, None, MISSING_OUT)


def _missing_in(out_punch: LedgerPunch) -> Shift:
    return Shift(_day(out_punch), None, out_punch, None, MISSING_IN)


def _still_open(in_punch: LedgerPunch, max_shift: timedelta, now: datetime | None) -> Shift:
    on_shift = now is not None and _utc(now) - _utc(in_punch.at) < max_shift
    return Shift(_day(in_punch), in_punch, None, None, OPEN if on_shift else MISSING_OUT)


def _worker_timesheet(worker_id: str, shifts: Sequence[Shift]) -> WorkerTimesheet:
    by_day: dict[date, list[Shift]] = defaultdict(list)
    for shift in shifts:
        by_day[shift.day].append(shift)
    days = tuple(_make_day(day, by_day[day]) for day in sorted(by_day))
    return WorkerTimesheet(
        worker_id=worker_id,
        days=days,
        total=sum((d.total for d in days), _ZERO),
        flagged_shifts=sum(1 for s in shifts if s.flag is not None),
    )


def _make_day(day: date, shifts: Sequence[Shift]) -> Day:
    return Day(
        day=day,
        shifts=tuple(shifts),
        total=sum((s.duration for s in shifts if s.duration is not None), _ZERO),
        flagged=any(s.flag is not None for s in shifts),
    )


# --- exports ------------------------------------------------------------------------------


def decimal_hours(duration: timedelta) -> Decimal:
    """Decimal hours, 2 decimals, rounded half up from the exact duration."""
    micros = Decimal(duration // timedelta(microseconds=1))
    return (micros / _MICROS_PER_HOUR).quantize(_CENT, rounding=ROUND_HALF_UP)


def timesheets_csv(
    timesheets: Iterable[WorkerTimesheet],
    names: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """CSV (header row first): one row per shift, then a TOTAL row per worker.

    Each shift row says how its IN and OUT were made (``in_method``, ``out_method``: FACE,
    PIN, FINGERPRINT, CARD — the last two from hardware clocks — or MANUAL for an admin's
    correction).

    ``names[worker_id] = (employee_id, display_name)``; a worker not in it gets empty cells.
    Times are local, ISO 8601 with their UTC offset; hours are empty for a flagged shift. The
    TOTAL row's hours are the exact total rounded (not the sum of the rounded rows) and its flag
    cell says how many shifts are flagged ("2 flagged"), empty when none.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for sheet in timesheets:
        employee_id, display_name = (names or {}).get(sheet.worker_id, ("", ""))
        who = [sheet.worker_id, _safe_cell(employee_id), _safe_cell(display_name)]
        for day in sheet.days:
            for shift in day.shifts:
                writer.writerow(who + _shift_cells(shift))
        flagged = f"{sheet.flagged_shifts} flagged" if sheet.flagged_shifts else ""
        total = [TOTAL, "", "", str(decimal_hours(sheet.total)), flagged, "", "", "", ""]
        writer.writerow(who + total)
    return out.getvalue()


def _shift_cells(shift: Shift) -> list[str]:
    return [
        shift.day.isoformat(),
        _local_iso(shift.in_punch),
        _local_iso(shift.out_punch),
        "" if shift.duration is None else str(decimal_hours(shift.duration)),
        shift.flag or "",
        shift.in_punch.punch_id if shift.in_punch else "",
        shift.out_punch.punch_id if shift.out_punch else "",
        shift.in_punch.method if shift.in_punch else "",
        shift.out_punch.method if shift.out_punch else "",
    ]


def _local_iso(punch: LedgerPunch | None) -> str:
    return "" if punch is None else punch.local.isoformat(timespec="seconds")


def _safe_cell(text: str) -> str:
    """Guard against CSV (formula) injection: a cell a spreadsheet would read as a formula
    is prefixed with a single quote."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def to_json(timesheets: Iterable[WorkerTimesheet]) -> list[dict[str, Any]]:
    """Plain JSON-able dicts for the API: dates and times as ISO strings, durations as whole
    seconds (``*_seconds``, rounded down) and hours (``*_hours``, float with 2 decimals)."""
    return [
        {
            "worker_id": sheet.worker_id,
            "total_seconds": _seconds(sheet.total),
            "total_hours": float(decimal_hours(sheet.total)),
            "flagged_shifts": sheet.flagged_shifts,
            "days": [_day_json(day) for day in sheet.days],
        }
        for sheet in timesheets
    ]


def _day_json(day: Day) -> dict[str, Any]:
    return {
        "date": day.day.isoformat(),
        "total_seconds": _seconds(day.total),
        "total_hours": float(decimal_hours(day.total)),
        "flagged": day.flagged,
        "shifts": [_shift_json(shift) for shift in day.shifts],
    }


def _shift_json(shift: Shift) -> dict[str, Any]:
    return {
        "date": shift.day.isoformat(),
        "in": _punch_json(shift.in_punch),
        "out": _punch_json(shift.out_punch),
        "duration_seconds": None if shift.duration is None else _seconds(shift.duration),
        "hours": None if shift.duration is None else float(decimal_hours(shift.duration)),
        "flag": shift.flag,
    }


def _punch_json(punch: LedgerPunch | None) -> dict[str, Any] | None:
    if punch is None:
        return None
    return {
        "punch_id": punch.punch_id,
        "at": _utc(punch.at).isoformat(),
        "local": punch.local.isoformat(),
        "time_zone": punch.time_zone,
        "clock_id": punch.clock_id,
        "site_id": punch.site_id,
        "method": punch.method,
    }


def _seconds(duration: timedelta) -> int:
    return duration // timedelta(seconds=1)
