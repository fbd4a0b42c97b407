"""Suspicious PIN use: punches that suggest a PIN is shared ("buddy punching").

A PIN can be told to a colleague; a face cannot. Admins are advised to watch for shared PINs,
and this report points at the PIN punches worth a look. A flag is a hint for a human, never a
verdict: nothing is voided or changed because of it.

Inputs: ``candidates``, the punches of the report range (only ``method == "PIN"`` ones are
judged or counted); ``history``, every punch (any method: FACE and MANUAL count) of those
workers in a look-back window before the range. The history is the baseline of what is usual
for a worker; the candidates are not part of it, and a candidate that is also in the history
(same ``punch_id``) is left out of the baseline for its own judgement.

Reasons (a punch is flagged once, with every reason that applies, sorted):

* ``UNUSUAL_CLOCK``: the worker has at least ``unusual_clock_min_history`` history punches, and
  this clock has at most ``unusual_clock_max_share`` of them and fewer than 2 (so a worker who
  punched once at a clock in 10 punches is not flagged there, but one who did once in 37 is).
* ``PIN_BURST``: at least ``burst_min_workers`` different workers punched by PIN at the same
  clock within ``burst_window`` (first to last punch, inclusive): every PIN punch of such a
  window is flagged, whoever's it is. One person keying in colleagues' PINs looks like this.
* ``UNUSUAL_HOUR``: the worker has at least ``unusual_hour_min_history`` history punches and
  none of them is within ``unusual_hour_margin_h`` hours (inclusive) of this punch's local time
  of day. Times of day are wall-clock times in each punch's own zone, and the distance is
  circular (23:30 and 00:30 are 1 h apart).

* ``FACE_NOT_WORKERS`` / ``NO_FACE``: the punch's evidence photo, compared 1:1 with the
  worker's enrolled face by face-match (``evidence``: punch id -> check), showed someone else,
  or nobody, in front of the camera. The strongest signs: they rank first.
* ``PIN_AFTER_FACE_FAILED``: a face attempt failed at the same clock (``face_failures``: no
  match, ambiguous, several faces, a spoof suspected) at most ``face_failure_window`` before
  this PIN punch: someone the camera refused, then a PIN.
* ``FACE_ENROLLED``: the worker has an enrolled face (``face_enrolled``) yet punched by PIN —
  unless the punch's photo showed the worker's own face (``FACE_MATCHED``).

Flags are ranked: by their strongest reason (``RANK``: FACE_NOT_WORKERS, NO_FACE,
PIN_AFTER_FACE_FAILED, PIN_BURST, FACE_ENROLLED, UNUSUAL_CLOCK, UNUSUAL_HOUR), then by time.

A worker with too little history is never flagged for UNUSUAL_CLOCK or UNUSUAL_HOUR.
The work is O(n log n) in the number of punches: a sort per clock for bursts, per-worker
counts and one sorted list of times of day for the baselines.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict, deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .model import Method

PIN = Method.PIN
UNUSUAL_CLOCK = "UNUSUAL_CLOCK"
PIN_BURST = "PIN_BURST"
UNUSUAL_HOUR = "UNUSUAL_HOUR"
FACE_NOT_WORKERS = "FACE_NOT_WORKERS"
NO_FACE = "NO_FACE"
PIN_AFTER_FACE_FAILED = "PIN_AFTER_FACE_FAILED"
FACE_ENROLLED = "FACE_ENROLLED"
# Strongest first: a flag's rank is its strongest reason's, and its reasons are listed so.
RANK = (
    FACE_NOT_WORKERS,
    NO_FACE,
    PIN_AFTER_FACE_FAILED,
    PIN_BURST,
    FACE_ENROLLED,
    UNUSUAL_CLOCK,
    UNUSUAL_HOUR,
)
REASONS = tuple(sorted(RANK))
# face-match's evidence checks that are reasons themselves, and the one that clears
# FACE_ENROLLED (the photo showed the worker's own face).
EVIDENCE_FLAGS = {"FACE_NOT_WORKERS": FACE_NOT_WORKERS, "NO_FACE": NO_FACE}
FACE_MATCHED = "FACE_MATCHED"

_DAY_US = 24 * 3600 * 1_000_000
_HOUR_US = 3600 * 1_000_000


@dataclass(frozen=True)
class PinPunch:
    punch_id: str
    worker_id: str
    clock_id: str
    at: datetime  # aware
    time_zone: str  # IANA zone of the clock
    method: str  # a Method
    # When the server recorded it (None: ``at``): a PIN punch is compared with refused face
    # attempts on the server's clock, which an offline kiosk's capture time is not.
    server_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"punch {self.punch_id}: time must be timezone-aware")
        try:
            ZoneInfo(self.time_zone)  # an unknown zone fails here, not in the middle of a report
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"punch {self.punch_id}: unknown time zone {self.time_zone!r}"
            ) from None


@dataclass(frozen=True)
class SuspicionRules:
    # The worker needs at least this many history punches to judge a clock unusual.
    unusual_clock_min_history: int = 5
    # A clock with <= this share of the worker's history punches (and < 2 of them) is unusual.
    unusual_clock_max_share: float = 0.05
    burst_window: timedelta = timedelta(minutes=2)
    # >= this many DIFFERENT workers punching by PIN at one clock within burst_window.
    burst_min_workers: int = 3
    unusual_hour_min_history: int = 10
    # No history punch within +-margin hours (circular, local time of day): unusual hour.
    unusual_hour_margin_h: int = 2
    # A failed face attempt at the same clock at most this long before a PIN punch.
    face_failure_window: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        if self.unusual_clock_min_history < 1 or self.unusual_hour_min_history < 1:
            raise ValueError("the minimum history must be at least 1 punch")
        if not 0 <= self.unusual_clock_max_share <= 1:
            raise ValueError("unusual_clock_max_share must be within [0, 1]")
        if self.burst_window < timedelta(0):
            raise ValueError("burst_window must not be negative")
        if self.burst_min_workers < 2:
            raise ValueError("burst_min_workers must be at least 2")
        if not 0 <= self.unusual_hour_margin_h < 12:
            raise ValueError("unusual_hour_margin_h must be within [0, 12)")
        if self.face_failure_window < timedelta(0):
            raise ValueError("face_failure_window must not be negative")


DEFAULT_RULES = SuspicionRules()


@dataclass(frozen=True)
class FaceFailure:
    """A face attempt refused at a clock (no match, ambiguous, several faces, a spoof)."""

    clock_id: str
    at: datetime  # aware


@dataclass(frozen=True)
class Flag:
    punch: PinPunch
    reasons: tuple[str, ...]  # of RANK, strongest first
    detail: str  # a short sentence for the report

    @property
    def rank(self) -> int:
        return RANK.index(self.reasons[0])


def find_suspicious(
    candidates: Sequence[PinPunch],
    history: Sequence[PinPunch],
    rules: SuspicionRules = DEFAULT_RULES,
    *,
    evidence: Mapping[str, str] | None = None,
    face_enrolled: Collection[str] = (),
    face_failures: Sequence[FaceFailure] = (),
) -> list[Flag]:
    """The flagged PIN punches among ``candidates``, ranked: strongest reason first, then by
    ``(at, punch_id)``. ``evidence``: punch id -> face-match's check of its photo;
    ``face_enrolled``: the workers with an enrolled face; ``face_failures``: refused face
    attempts around the range."""
    evidence = evidence or {}
    pins = _unique_pins(candidates)
    baselines = _baselines(history)
    bursts = _bursts(pins, rules)
    failures = _failures_by_clock(face_failures)
    enrolled = set(face_enrolled)
    flags = []
    for punch in sorted(pins, key=_order):
        found: dict[str, str] = {}
        check = evidence.get(punch.punch_id)
        if check in EVIDENCE_FLAGS:
            found[EVIDENCE_FLAGS[check]] = _evidence_detail(check)
        failed = _failure_before(
            failures.get(punch.clock_id, []), punch.server_at or punch.at, rules
        )
        if failed is not None:
            found[PIN_AFTER_FACE_FAILED] = _failure_detail(failed)
        if punch.punch_id in bursts:
            found[PIN_BURST] = _burst_detail(bursts[punch.punch_id], rules.burst_window)
        if punch.worker_id in enrolled and check != FACE_MATCHED:
            found[FACE_ENROLLED] = "the worker has an enrolled face, yet punched by PIN"
        baseline = baselines.get(punch.worker_id)
        if baseline is not None:
            found.update(baseline.judge(punch, rules))
        if found:
            reasons = tuple(r for r in RANK if r in found)
            flags.append(Flag(punch, reasons, "; ".join(found[r] for r in reasons)))
    flags.sort(key=lambda f: (f.rank, f.punch.at, f.punch.punch_id))
    return flags


def _evidence_detail(check: str) -> str:
    if check == "FACE_NOT_WORKERS":
        return "the photo at the punch is not the worker's face"
    return "no face in front of the camera at the punch"


def _failures_by_clock(failures: Sequence[FaceFailure]) -> dict[str, list[datetime]]:
    per_clock: dict[str, list[datetime]] = defaultdict(list)
    for failure in failures:
        per_clock[failure.clock_id].append(failure.at.astimezone(UTC))
    for times in per_clock.values():
        times.sort()
    return dict(per_clock)


def _failure_before(times: list[datetime], at: datetime, rules: SuspicionRules) -> timedelta | None:
    """How long before ``at`` the latest face failure within the window was (None: none)."""
    if not times:
        return None
    i = bisect.bisect_right(times, at.astimezone(UTC))
    if i == 0:
        return None
    gap = at - times[i - 1]
    return gap if gap <= rules.face_failure_window else None


def _failure_detail(gap: timedelta) -> str:
    return f"a face attempt failed at this clock {int(gap.total_seconds())} s before"


def _order(punch: PinPunch) -> tuple[datetime, str]:
    return (punch.at, punch.punch_id)


def _unique_pins(candidates: Sequence[PinPunch]) -> list[PinPunch]:
    """The PIN candidates, each punch once."""
    unique: dict[str, PinPunch] = {}
    for punch in candidates:
        if punch.method == PIN:
            unique.setdefault(punch.punch_id, punch)
    return list(unique.values())


def _time_of_day_us(punch: PinPunch) -> int:
    """Microseconds since local midnight, on the wall clock of the punch's zone."""
    local = punch.at.astimezone(ZoneInfo(punch.time_zone)).time()
    return ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond


# --- a worker's baseline: UNUSUAL_CLOCK and UNUSUAL_HOUR -------------------------------------


@dataclass
class _Baseline:
    """What is usual for one worker: their history punches per clock and times of day."""

    punch_ids: set[str] = field(default_factory=set)
    per_clock: Counter[str] = field(default_factory=Counter)
    times: list[int] = field(default_factory=list)  # sorted by _baselines

    def add(self, punch: PinPunch) -> None:
        if punch.punch_id in self.punch_ids:
            return
        self.punch_ids.add(punch.punch_id)
        self.per_clock[punch.clock_id] += 1
        self.times.append(_time_of_day_us(punch))

    def judge(self, punch: PinPunch, rules: SuspicionRules) -> dict[str, str]:
        """The baseline reasons that apply to ``punch``, with their detail."""
        itself = 1 if punch.punch_id in self.punch_ids else 0  # never its own baseline
        total = len(self.punch_ids) - itself
        found: dict[str, str] = {}
        if total >= rules.unusual_clock_min_history:
            at_clock = self.per_clock[punch.clock_id] - itself
            if at_clock < 2 and at_clock / total <= rules.unusual_clock_max_share:
                found[UNUSUAL_CLOCK] = _clock_detail(at_clock, total)
        if total >= rules.unusual_hour_min_history:
            of_day = _time_of_day_us(punch)
            nearest = self._nearest_distance(of_day, skip_one=bool(itself))
            if nearest is None or nearest > rules.unusual_hour_margin_h * _HOUR_US:
                found[UNUSUAL_HOUR] = _hour_detail(of_day, rules.unusual_hour_margin_h, total)
        return found

    def _nearest_distance(self, of_day: int, *, skip_one: bool) -> int | None:
        """The circular distance from ``of_day`` to the nearest history time of day, one copy
        of ``of_day`` itself left out when ``skip_one`` (the punch being judged)."""
        times = self.times
        lo = bisect.bisect_left(times, of_day)
        hi = bisect.bisect_right(times, of_day)
        if hi - lo > (1 if skip_one else 0):
            return 0
        others = lo + len(times) - hi  # the times on either side of of_day's own copies
        if others == 0:
            return None
        if lo == 0:  # wrap around: the predecessor is the largest time above of_day
            neighbours = (times[-1], times[hi])
        elif hi == len(times):  # the successor is the smallest time below of_day
            neighbours = (times[lo - 1], times[0])
        else:
            neighbours = (times[lo - 1], times[hi])
        return min(_circular(of_day, t) for t in neighbours)


def _circular(a: int, b: int) -> int:
    gap = abs(a - b) % _DAY_US
    return min(gap, _DAY_US - gap)


def _baselines(history: Sequence[PinPunch]) -> dict[str, _Baseline]:
    baselines: dict[str, _Baseline] = defaultdict(_Baseline)
    for punch in history:
        baselines[punch.worker_id].add(punch)
    for baseline in baselines.values():
        baseline.times.sort()
    return dict(baselines)


def _clock_detail(at_clock: int, total: int) -> str:
    if at_clock == 0:
        return f"first punch at this clock in {total} history punches"
    return f"only {at_clock} of {total} history punches at this clock"


def _hour_detail(of_day: int, margin_h: int, total: int) -> str:
    seconds = of_day // 1_000_000
    local = time(seconds // 3600, seconds // 60 % 60)
    return f"no punch within {margin_h} h of {local:%H:%M} local in {total} history punches"


# --- PIN_BURST --------------------------------------------------------------------------------


def _bursts(pins: Sequence[PinPunch], rules: SuspicionRules) -> dict[str, int]:
    """punch_id -> the most different workers in a qualifying burst window containing it, for
    every PIN punch in a burst."""
    per_clock: dict[str, list[PinPunch]] = defaultdict(list)
    for punch in pins:
        per_clock[punch.clock_id].append(punch)
    found: dict[str, int] = {}
    for punches in per_clock.values():
        punches.sort(key=_order)
        widest = _widest_windows(punches, rules.burst_window)
        for punch, workers in zip(punches, widest, strict=True):
            if workers >= rules.burst_min_workers:
                found[punch.punch_id] = workers
    return found


def _widest_windows(punches: Sequence[PinPunch], window: timedelta) -> list[int]:
    """For each punch (sorted by time), the most different workers in any window of length
    ``window`` that contains it. O(n): two pointers, then a sliding maximum."""
    n = len(punches)
    at = [punch.at.astimezone(UTC) for punch in punches]
    # The windows worth looking at start at a punch i and reach as far as they can: ends[i].
    ends: list[int] = []
    workers_from: list[int] = []
    inside: Counter[str] = Counter()
    end = -1
    for i in range(n):
        while end + 1 < n and at[end + 1] - at[i] <= window:
            end += 1
            inside[punches[end].worker_id] += 1
        ends.append(end)
        workers_from.append(len(inside))
        worker = punches[i].worker_id
        inside[worker] -= 1
        if not inside[worker]:
            del inside[worker]
    # Punch k is in the windows i..k with ends[i] >= k; both bounds only move forward.
    best: list[int] = []
    starts: deque[int] = deque()  # window starts, by decreasing worker count
    for k in range(n):
        while starts and workers_from[starts[-1]] <= workers_from[k]:
            starts.pop()
        starts.append(k)
        while ends[starts[0]] < k:
            starts.popleft()
        best.append(workers_from[starts[0]])
    return best


def _burst_detail(workers: int, window: timedelta) -> str:
    seconds = int(window.total_seconds())
    span = f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
    return f"{workers} workers by PIN at this clock within {span}"
