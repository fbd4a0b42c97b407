"""Timesheet invariants over random punch sequences, across DST changes in several zones."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from punchcard_punch.domain.timesheet import LedgerPunch, build_timesheets, pair_shifts

# Each zone's DST changes in 2026 (UTC instants; Lord Howe's are 30 minutes) and an ordinary
# day: punch sequences start up to a day and a half before one, so shifts cross it.
CHANGES = {
    "UTC": [datetime(2026, 6, 15, tzinfo=UTC)],
    "Europe/Berlin": [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)],
    "America/New_York": [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)],
    "Australia/Lord_Howe": [
        datetime(2026, 4, 4, 15, tzinfo=UTC),
        datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    ],
}
ORDINARY = datetime(2026, 6, 15, tzinfo=UTC)
MAX_SHIFTS = [timedelta(hours=h) for h in (8, 12, 20)]
ZERO = timedelta(0)

# Minutes between punches: 0 is the same instant; 480, 720 and 1200 hit max_shift exactly.
gaps = st.one_of(st.integers(0, 45), st.integers(0, 26 * 60), st.sampled_from([480, 720, 1200]))


@st.composite
def worker_punches(draw, worker="w1", max_size=24):
    """A worker's punches, in time order, over a few days in one zone."""
    zone = draw(st.sampled_from(sorted(CHANGES)))
    change = draw(st.sampled_from(CHANGES[zone] + [ORDINARY]))
    moment = change - timedelta(minutes=draw(st.integers(0, 36 * 60)))
    steps = draw(st.lists(st.tuples(gaps, st.sampled_from(["IN", "OUT"])), max_size=max_size))
    # Ids in a random order, so that punches at the same instant are not in generation order.
    ids = draw(st.permutations(range(len(steps))))
    punches = []
    for (gap, direction), n in zip(steps, ids, strict=True):
        moment += timedelta(minutes=gap)
        punches.append(LedgerPunch(f"{worker}-{n:03d}", worker, direction, moment, zone))
    return punches


def covering(punches):
    """A range with every punch's local day in it."""
    days = [p.local.date() for p in punches] or [date(2026, 1, 1)]
    return min(days) - timedelta(days=1), max(days) + timedelta(days=1)


def build(punches, max_shift, **kw):
    start, end = covering(punches)
    return build_timesheets(punches, start, end, max_shift=max_shift, **kw)


def shifts_of(sheets):
    return [shift for sheet in sheets for day in sheet.days for shift in day.shifts]


def total(sheets):
    return sum((sheet.total for sheet in sheets), ZERO)


def ordered(punches):
    # In time; at one instant the OUTs first, then by id.
    return sorted(punches, key=lambda p: (p.at, 0 if p.direction == "OUT" else 1, p.punch_id))


def reference(punches, max_shift):
    """The pairing rules restated: in time order, an IN immediately followed by an OUT at most
    max_shift (and more than 0) later is a shift; every other punch is a flagged shift alone."""
    punches = ordered(punches)
    result, i = [], 0
    while i < len(punches):
        p = punches[i]
        nxt = punches[i + 1] if i + 1 < len(punches) else None
        if p.direction == "IN" and nxt and nxt.direction == "OUT":
            if ZERO < nxt.at - p.at <= max_shift:
                result.append((p.punch_id, nxt.punch_id, None))
                i += 2
                continue
        flag = "MISSING_OUT" if p.direction == "IN" else "MISSING_IN"
        result.append(
            (p.punch_id, None, flag) if flag == "MISSING_OUT" else (None, p.punch_id, flag)
        )
        i += 1
    return result


def ids(shift):
    in_id = shift.in_punch.punch_id if shift.in_punch else None
    out_id = shift.out_punch.punch_id if shift.out_punch else None
    return (in_id, out_id, shift.flag)


@settings(deadline=None)
@given(worker_punches(), st.sampled_from(MAX_SHIFTS))
def test_every_punch_is_in_exactly_one_shift(punches, max_shift):
    seen = Counter()
    for shift in shifts_of(build(punches, max_shift)):
        seen.update(p.punch_id for p in (shift.in_punch, shift.out_punch) if p is not None)
    assert seen == Counter(p.punch_id for p in punches)


@settings(deadline=None)
@given(worker_punches(), st.sampled_from(MAX_SHIFTS))
def test_complete_shifts_are_real_and_flagged_ones_count_nothing(punches, max_shift):
    for shift in shifts_of(build(punches, max_shift)):
        if shift.flag is None:
            i, o = shift.in_punch, shift.out_punch
            assert (i.direction, o.direction) == ("IN", "OUT")
            assert i.at < o.at
            assert shift.duration == o.at - i.at
            assert ZERO < shift.duration <= max_shift
        else:
            assert shift.duration is None
            if shift.flag == "MISSING_IN":
                assert shift.in_punch is None and shift.out_punch.direction == "OUT"
            else:
                assert shift.out_punch is None and shift.in_punch.direction == "IN"


@settings(deadline=None)
@given(worker_punches(), st.sampled_from(MAX_SHIFTS))
def test_totals_are_the_sum_of_complete_shifts(punches, max_shift):
    for sheet in build(punches, max_shift):
        for day in sheet.days:
            assert day.total == sum((s.duration for s in day.shifts if s.flag is None), ZERO)
            assert day.flagged == any(s.flag is not None for s in day.shifts)
        assert sheet.total == sum((d.total for d in sheet.days), ZERO)
        assert sheet.flagged_shifts == sum(
            1 for d in sheet.days for s in d.shifts if s.flag is not None
        )


@settings(deadline=None)
@given(worker_punches(), st.sampled_from(MAX_SHIFTS))
def test_shifts_are_consecutive_punches_as_the_rules_say(punches, max_shift):
    assert [ids(s) for s in pair_shifts(punches, max_shift=max_shift)] == reference(
        punches, max_shift
    )


@settings(deadline=None)
@given(worker_punches(), st.sampled_from(MAX_SHIFTS))
def test_a_shift_belongs_to_the_local_day_of_its_first_punch(punches, max_shift):
    sheets = build(punches, max_shift)
    for sheet in sheets:
        assert [d.day for d in sheet.days] == sorted({d.day for d in sheet.days})
        for day in sheet.days:
            for shift in day.shifts:
                first = shift.in_punch or shift.out_punch
                assert shift.day == day.day == first.local.date()


@settings(deadline=None)
@given(worker_punches(), st.sampled_from(MAX_SHIFTS), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(punches, max_shift, rnd):
    shuffled = list(punches)
    rnd.shuffle(shuffled)
    assert build(shuffled, max_shift) == build(punches, max_shift)


@settings(deadline=None)
# At least a minute after the last punch: an OUT at the instant of an IN comes before it
# (model.ledger_order), so it would not be appended (test_timesheet.py has that case).
@given(worker_punches(), st.sampled_from(MAX_SHIFTS), st.integers(1, 30 * 60))
def test_appending_an_out_never_decreases_the_total(punches, max_shift, gap_minutes):
    last = ordered(punches)[-1] if punches else None
    moment = (last.at if last else datetime(2026, 6, 1, tzinfo=UTC)) + timedelta(
        minutes=gap_minutes
    )
    zone = last.time_zone if last else "UTC"
    extra = LedgerPunch("zzz-out", "w1", "OUT", moment, zone)
    before, after = total(build(punches, max_shift)), total(build(punches + [extra], max_shift))
    assert after >= before
    gap = timedelta(minutes=gap_minutes)
    if last is not None and last.direction == "IN" and ZERO < gap <= max_shift:
        assert after == before + gap  # the open shift is now complete
    else:
        assert after == before


@settings(deadline=None)
@given(
    worker_punches(),
    st.sampled_from(MAX_SHIFTS),
    st.integers(-2, 6),
    st.integers(0, 4),
)
def test_a_range_reports_exactly_the_shifts_whose_day_is_in_it(punches, max_shift, skip, span):
    everything = shifts_of(build(punches, max_shift))
    first, _ = covering(punches)
    start = first + timedelta(days=skip)
    end = start + timedelta(days=span)
    in_range = build_timesheets(punches, start, end, max_shift=max_shift)
    assert shifts_of(in_range) == [s for s in everything if start <= s.day <= end]
    assert all(sheet.days for sheet in in_range)


@settings(deadline=None)
@given(worker_punches("w1", 12), worker_punches("w2", 12), st.sampled_from(MAX_SHIFTS))
def test_workers_are_paired_independently(a, b, max_shift):
    start, end = covering(a + b)
    together = build_timesheets(a + b, start, end, max_shift=max_shift)
    alone = build_timesheets(a, start, end, max_shift=max_shift) + build_timesheets(
        b, start, end, max_shift=max_shift
    )
    assert together == alone


@settings(deadline=None)
@given(worker_punches(), st.sampled_from(MAX_SHIFTS), st.integers(-60, 30 * 60))
def test_only_the_last_shift_can_be_open(punches, max_shift, minutes_after_last):
    last = ordered(punches)[-1] if punches else None
    now = (last.at if last else datetime(2026, 6, 1, tzinfo=UTC)) + timedelta(
        minutes=minutes_after_last
    )
    shifts = pair_shifts(punches, max_shift=max_shift, now=now)
    open_shifts = [s for s in shifts if s.flag == "OPEN"]
    assert len(open_shifts) <= 1
    if open_shifts:
        (shift,) = open_shifts
        assert shift.in_punch == last
        assert now - shift.in_punch.at < max_shift
    without_now = pair_shifts(punches, max_shift=max_shift)
    assert [s.flag or "" for s in shifts] == [
        "OPEN" if s in open_shifts else (t.flag or "")
        for s, t in zip(shifts, without_now, strict=True)
    ]
