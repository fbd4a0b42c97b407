"""Suspicious PIN use: each rule at its boundary, and the burst and hour rules against a
brute-force restatement."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from punchcard_punch.domain.suspicious import (
    Flag,
    PinPunch,
    SuspicionRules,
    find_suspicious,
)

BERLIN = "Europe/Berlin"


def at(local: str, tz: str = BERLIN) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def pin(pid, worker, clock, local, tz=BERLIN, method="PIN") -> PinPunch:
    return PinPunch(pid, worker, clock, at(local, tz), tz, method)


def history(worker, n, clock="c1", hhmm="08:00", method="PIN", tz=BERLIN, first_day=1):
    """n punches of ``worker`` at ``clock``, one a day from January ``first_day`` (winter time),
    at local ``hhmm``."""
    days = [datetime(2026, 1, first_day) + timedelta(days=i) for i in range(n)]
    return [
        pin(
            f"h-{worker}-{clock}-{hhmm}-{d:%m%d}", worker, clock, f"{d:%Y-%m-%d} {hhmm}", tz, method
        )
        for d in days
    ]


def reasons(flags: list[Flag]) -> dict[str, tuple[str, ...]]:
    return {f.punch.punch_id: f.reasons for f in flags}


def judge(candidates, past=(), **rules):
    return reasons(find_suspicious(candidates, list(past), SuspicionRules(**rules)))


# --- UNUSUAL_CLOCK -----------------------------------------------------------------------------


def test_a_first_punch_at_a_clock_after_a_long_history_is_unusual():
    candidate = pin("x", "w1", "c2", "2026-03-02 08:00")
    (flag,) = find_suspicious([candidate], history("w1", 27) + history("w1", 10, "c3"))
    assert flag.punch == candidate and flag.reasons == ("UNUSUAL_CLOCK",)
    assert flag.detail == "first punch at this clock in 37 history punches"


def test_the_usual_clock_is_not_unusual():
    assert judge([pin("x", "w1", "c1", "2026-03-02 08:00")], history("w1", 37)) == {}


@pytest.mark.parametrize(("n", "flagged"), [(5, True), (4, False)])
def test_unusual_clock_needs_enough_history(n, flagged):
    result = judge([pin("x", "w1", "c2", "2026-03-02 08:00")], history("w1", n))
    assert result == ({"x": ("UNUSUAL_CLOCK",)} if flagged else {})


@pytest.mark.parametrize(("others", "flagged"), [(19, True), (18, False)])
def test_unusual_clock_share_boundary(others, flagged):
    # One history punch at c2 in 20 is 5 %: still unusual; one in 19 is not.
    past = history("w1", others) + history("w1", 1, "c2", first_day=25)
    candidates = [pin("x", "w1", "c2", "2026-03-02 08:00")]
    result = find_suspicious(candidates, past)
    if flagged:
        (flag,) = result
        assert flag.detail == "only 1 of 20 history punches at this clock"
    else:
        assert result == []


def test_two_history_punches_at_a_clock_make_it_usual_whatever_the_share():
    candidate = [pin("x", "w1", "c2", "2026-03-02 08:00")]
    once = history("w1", 27) + history("w1", 1, "c2", first_day=1)
    twice = history("w1", 26) + history("w1", 2, "c2", first_day=1)
    assert judge(candidate, once) == {"x": ("UNUSUAL_CLOCK",)}
    assert judge(candidate, twice, unusual_clock_max_share=0.5) == {}
    assert judge(candidate, history("w1", 27), unusual_clock_max_share=0.0) == {
        "x": ("UNUSUAL_CLOCK",)
    }


def test_the_judged_punch_is_never_its_own_baseline():
    candidate = pin("x", "w1", "c2", "2026-03-02 08:00")
    (flag,) = find_suspicious([candidate], history("w1", 20) + [candidate])
    assert flag.detail == "first punch at this clock in 20 history punches"
    # Four others and itself are not five punches of history.
    assert judge([candidate], history("w1", 4) + [candidate]) == {}


def test_face_punches_count_in_history():
    past = history("w1", 37, method="FACE")
    assert judge([pin("x", "w1", "c2", "2026-03-02 08:00")], past) == {"x": ("UNUSUAL_CLOCK",)}
    assert judge([pin("y", "w1", "c1", "2026-03-02 08:00")], past) == {}
    # Two history punches at c2 (by any method) make c2 known.
    past += history("w1", 2, "c2", method="MANUAL", first_day=20)
    assert judge([pin("x", "w1", "c2", "2026-03-02 08:00")], past) == {}


def test_history_is_per_worker():
    past = history("w2", 37, "c2")  # another worker's usual clock says nothing about w1
    assert judge([pin("x", "w1", "c2", "2026-03-02 08:00")], past + history("w1", 37)) == {
        "x": ("UNUSUAL_CLOCK",)
    }


def test_a_worker_without_history_is_not_flagged_for_clock_or_hour():
    candidate = pin("x", "w1", "c9", "2026-03-02 03:17")
    assert judge([candidate], history("w2", 40)) == {}
    assert judge([candidate], []) == {}


# --- PIN_BURST ---------------------------------------------------------------------------------


def burst(times, workers, clock="c1", method="PIN"):
    return [
        pin(f"b{i}", worker, clock, f"2026-03-02 {t}", method=method)
        for i, (t, worker) in enumerate(zip(times, workers, strict=True))
    ]


def test_three_workers_by_pin_at_one_clock_within_two_minutes_is_a_burst():
    candidates = burst(["08:00:00", "08:01:00", "08:02:00"], ["w1", "w2", "w3"])
    flags = find_suspicious(candidates, [])
    assert [f.punch.punch_id for f in flags] == ["b0", "b1", "b2"]
    assert {f.reasons for f in flags} == {("PIN_BURST",)}
    assert flags[0].detail == "3 workers by PIN at this clock within 2 min"


def test_a_burst_window_just_too_long_is_not_a_burst():
    assert judge(burst(["08:00:00", "08:01:00", "08:02:01"], ["w1", "w2", "w3"])) == {}


def test_two_workers_are_not_a_burst_however_often_they_punch():
    times = [f"08:00:{s:02d}" for s in range(0, 60, 5)]
    assert judge(burst(times, ["w1", "w2"] * 6)) == {}
    assert judge(burst(["08:00:00", "08:00:10", "08:00:20"], ["w1", "w1", "w1"])) == {}


def test_every_pin_punch_in_the_window_is_flagged_and_none_outside():
    candidates = burst(
        ["07:50:00", "08:00:00", "08:00:30", "08:01:00", "08:01:30", "08:05:00"],
        ["w4", "w1", "w2", "w3", "w1", "w2"],
    )
    assert judge(candidates) == {
        "b1": ("PIN_BURST",),
        "b2": ("PIN_BURST",),
        "b3": ("PIN_BURST",),
        "b4": ("PIN_BURST",),
    }


def test_a_sliding_burst_reports_the_most_workers_seen_with_the_punch():
    candidates = burst(
        ["08:00:00", "08:00:30", "08:01:00", "08:01:30", "08:02:30", "08:04:20"]
        + ["08:10:00", "08:10:30", "08:11:00"],
        ["w1", "w2", "w3", "w4", "w5", "w1"] + ["w1", "w2", "w3"],
    )
    flags = find_suspicious(candidates, [])
    # 08:02:30 is in 08:00:30-08:02:30 with w2..w5; 08:04:20 has only w5 within 2 min.
    assert [(f.punch.punch_id, f.detail[:9]) for f in flags] == [
        ("b0", "4 workers"),
        ("b1", "4 workers"),
        ("b2", "4 workers"),
        ("b3", "4 workers"),
        ("b4", "4 workers"),
        ("b6", "3 workers"),
        ("b7", "3 workers"),
        ("b8", "3 workers"),
    ]


def test_face_punches_neither_make_nor_join_a_burst():
    pins = burst(["08:00:00", "08:00:30"], ["w1", "w2"])
    face = pin("f", "w3", "c1", "2026-03-02 08:01:00", method="FACE")
    assert judge(pins + [face]) == {}
    third = pin("p", "w3", "c1", "2026-03-02 08:01:00")
    assert judge(pins + [face, third]) == {k: ("PIN_BURST",) for k in ("b0", "b1", "p")}


def test_bursts_are_per_clock():
    candidates = burst(["08:00:00", "08:00:30"], ["w1", "w2"]) + [
        pin("other", "w3", "c2", "2026-03-02 08:00:40")
    ]
    assert judge(candidates) == {}


@pytest.mark.parametrize(("workers", "flagged"), [(3, False), (4, True)])
def test_burst_rules_are_configurable(workers, flagged):
    names = [f"w{i}" for i in range(workers)]
    times = [f"08:00:{10 * i:02d}" for i in range(workers)]
    flags = find_suspicious(burst(times, names), [], SuspicionRules(burst_min_workers=4))
    assert bool(flags) == flagged
    short = SuspicionRules(burst_window=timedelta(seconds=30))
    assert find_suspicious(burst(["08:00:00", "08:00:15", "08:00:31"], names[:3]), [], short) == []
    (first, *_) = find_suspicious(burst(["08:00:00", "08:00:15", "08:00:30"], names[:3]), [], short)
    assert first.detail == "3 workers by PIN at this clock within 30 s"


# --- UNUSUAL_HOUR ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "flagged"),
    [
        ("10:00:00", False),
        ("10:00:01", True),
        ("06:00:00", False),
        ("05:59:59", True),
        ("03:00:00", True),
        ("08:30:00", False),
    ],
)
def test_unusual_hour_boundary(local, flagged):
    # Ten history punches at 08:00: +-2 h (inclusive) is usual.
    result = judge([pin("x", "w1", "c1", f"2026-03-02 {local}")], history("w1", 10))
    assert result == ({"x": ("UNUSUAL_HOUR",)} if flagged else {})


def test_unusual_hour_detail():
    (flag,) = find_suspicious([pin("x", "w1", "c1", "2026-03-02 03:15")], history("w1", 40))
    assert flag.detail == "no punch within 2 h of 03:15 local in 40 history punches"


@pytest.mark.parametrize(("n", "flagged"), [(10, True), (9, False)])
def test_unusual_hour_needs_enough_history(n, flagged):
    result = judge([pin("x", "w1", "c1", "2026-03-02 03:00")], history("w1", n))
    assert result == ({"x": ("UNUSUAL_HOUR",)} if flagged else {})


@pytest.mark.parametrize(
    ("usual", "local", "flagged"),
    [
        ("23:30", "00:30", False),  # 1 h across midnight
        ("23:30", "01:30", False),  # 2 h: inclusive
        ("23:30", "01:31", True),
        ("00:30", "22:30", False),
        ("00:30", "22:29", True),
        ("12:00", "00:00", True),  # the farthest a time of day can be
    ],
)
def test_hours_are_circular(usual, local, flagged):
    result = judge([pin("x", "w1", "c1", f"2026-03-02 {local}")], history("w1", 12, hhmm=usual))
    assert result == ({"x": ("UNUSUAL_HOUR",)} if flagged else {})


def test_hours_are_local_wall_times_across_dst():
    # Winter history at 08:00 CET (07:00 UTC); April candidate at 08:00 CEST (06:00 UTC).
    past = history("w1", 10)
    assert judge([pin("x", "w1", "c1", "2026-04-06 08:00")], past, unusual_hour_margin_h=0) == {}
    assert judge([pin("x", "w1", "c1", "2026-04-06 07:00")], past, unusual_hour_margin_h=0) == {
        "x": ("UNUSUAL_HOUR",)
    }


def test_each_punch_uses_its_own_zone():
    # History at 08:00 in Berlin; the candidate at a New York clock, 08:00 there (14:00 Berlin).
    past = history("w1", 10, clock="c1")
    candidate = pin("x", "w1", "c1", "2026-03-02 08:00", tz="America/New_York")
    assert judge([candidate], past) == {}


def test_several_usual_hours():
    past = history("w1", 10, hhmm="06:00") + history("w1", 10, hhmm="22:00")
    for local, flagged in [("08:00", False), ("14:00", True), ("20:00", False), ("02:00", True)]:
        result = judge([pin("x", "w1", "c1", f"2026-03-02 {local}")], past)
        assert bool(result) == flagged, local


def test_a_judged_punch_in_the_history_does_not_make_its_own_hour_usual():
    candidate = pin("x", "w1", "c1", "2026-03-02 03:00")
    assert judge([candidate], history("w1", 10) + [candidate]) == {"x": ("UNUSUAL_HOUR",)}
    twin = pin("y", "w1", "c1", "2026-02-27 03:00")  # another punch at that hour does
    assert judge([candidate], history("w1", 10) + [candidate, twin]) == {}


# --- together ----------------------------------------------------------------------------------


def test_all_reasons_together_sorted_with_their_details():
    past = history("w1", 37)
    candidates = burst(["03:00:00", "03:00:20", "03:00:40"], ["w1", "w2", "w3"], clock="c7")
    flags = find_suspicious(candidates, past)
    assert [f.reasons for f in flags] == [
        ("PIN_BURST", "UNUSUAL_CLOCK", "UNUSUAL_HOUR"),
        ("PIN_BURST",),
        ("PIN_BURST",),
    ]
    assert flags[0].detail == (
        "3 workers by PIN at this clock within 2 min; "
        "first punch at this clock in 37 history punches; "
        "no punch within 2 h of 03:00 local in 37 history punches"
    )


def test_face_and_manual_candidates_are_never_flagged():
    past = history("w1", 37)
    candidates = [
        pin("f", "w1", "c9", "2026-03-02 03:00", method="FACE"),
        pin("m", "w1", "c9", "2026-03-02 03:00:10", method="MANUAL"),
    ] + burst(["03:00:05", "03:00:15"], ["w2", "w3"], clock="c9", method="FACE")
    assert judge(candidates, past) == {}


@pytest.mark.parametrize("method", ["FINGERPRINT", "CARD"])
def test_a_hardware_clocks_fingerprint_and_card_punches_are_not_pin_punches(method):
    past = history("w1", 37)
    device = pin("d", "w1", "c9", "2026-03-02 03:00", method=method)
    assert judge([device], past) == {}
    pins = burst(["03:00:05", "03:00:15"], ["w2", "w3"], clock="c9")
    assert judge(pins + [device]) == {}  # nor does it make two PIN punches a burst


def test_flags_are_sorted_by_time_then_id_and_a_punch_appears_once():
    past = history("w1", 37) + history("w2", 37)
    a = pin("b", "w1", "c9", "2026-03-02 08:00")
    b = pin("a", "w2", "c9", "2026-03-02 08:00")
    c = pin("c", "w1", "c9", "2026-03-02 07:00")
    flags = find_suspicious([a, b, c, a], past)
    assert [f.punch.punch_id for f in flags] == ["c", "a", "b"]


def test_rules_are_checked():
    for bad in [
        dict(burst_min_workers=1),
        dict(unusual_clock_max_share=1.5),
        dict(unusual_hour_margin_h=12),
        dict(unusual_clock_min_history=0),
        dict(burst_window=timedelta(seconds=-1)),
    ]:
        with pytest.raises(ValueError):
            SuspicionRules(**bad)


def test_a_malformed_punch_is_refused():
    with pytest.raises(ValueError):
        PinPunch("x", "w1", "c1", datetime(2026, 3, 2, 8), BERLIN, "PIN")
    with pytest.raises(ValueError):
        PinPunch("x", "w1", "c1", datetime(2026, 3, 2, 8, tzinfo=UTC), "Nowhere/Else", "PIN")


def test_a_large_dense_report():
    # 20 000 PIN punches of 50 workers at one clock, one a second: every one is in a burst.
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    candidates = [
        PinPunch(f"p{i:05d}", f"w{i % 50}", "c1", start + timedelta(seconds=i), "UTC", "PIN")
        for i in range(20_000)
    ]
    flags = find_suspicious(candidates, [])
    assert len(flags) == 20_000
    assert flags[0].detail == "50 workers by PIN at this clock within 2 min"


# --- against brute force -----------------------------------------------------------------------


def brute_force_bursts(pins, window, min_workers):
    """Every PIN punch p such that some set of PIN punches at its clock, p among them,
    spanning at most ``window``, holds ``min_workers`` different workers."""
    found = set()
    for p in pins:
        same_clock = [q for q in pins if q.clock_id == p.clock_id]
        for lo in same_clock:  # windows [lo.at, lo.at + window] that contain p
            if lo.at <= p.at <= lo.at + window:
                inside = {q.worker_id for q in same_clock if lo.at <= q.at <= lo.at + window}
                if len(inside) >= min_workers:
                    found.add(p.punch_id)
    return found


def circular_minutes(a, b):
    gap = abs(a - b) % (24 * 60)
    return min(gap, 24 * 60 - gap)


random_pins = st.lists(
    st.tuples(
        st.integers(0, 600),  # seconds after 08:00
        st.sampled_from(["w1", "w2", "w3", "w4", "w5"]),
        st.sampled_from(["c1", "c2"]),
        st.sampled_from(["PIN", "PIN", "FACE"]),
    ),
    max_size=30,
)


@settings(deadline=None)
@given(random_pins, st.integers(0, 180), st.integers(2, 4))
def test_bursts_match_brute_force(rows, window_s, min_workers):
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    punches = [
        PinPunch(f"p{i:02d}", worker, clock, start + timedelta(seconds=s), "UTC", method)
        for i, (s, worker, clock, method) in enumerate(rows)
    ]
    rules = SuspicionRules(burst_window=timedelta(seconds=window_s), burst_min_workers=min_workers)
    flagged = {f.punch.punch_id for f in find_suspicious(punches, [], rules)}
    pins = [p for p in punches if p.method == "PIN"]
    assert flagged == brute_force_bursts(pins, rules.burst_window, min_workers)


@settings(deadline=None)
@given(
    st.lists(st.integers(0, 24 * 60 - 1), min_size=10, max_size=30),
    st.integers(0, 24 * 60 - 1),
    st.integers(0, 11),
)
def test_unusual_hour_matches_brute_force(history_minutes, minute, margin_h):
    def punch_at(pid, m, day):
        moment = datetime(2026, 2, day, tzinfo=UTC) + timedelta(minutes=m)
        return PinPunch(pid, "w1", "c1", moment, "UTC", "PIN")

    past = [punch_at(f"h{i}", m, 1 + i % 28) for i, m in enumerate(history_minutes)]
    candidate = punch_at("x", minute, 28)
    rules = SuspicionRules(unusual_hour_margin_h=margin_h, unusual_clock_min_history=10_000)
    flagged = bool(find_suspicious([candidate], past, rules))
    nearest = min(circular_minutes(minute, m) for m in history_minutes)
    assert flagged == (nearest > 60 * margin_h)


# --- evidence photos, face-enrolled workers, a PIN after a failed face (issue 17) ------------


def test_a_photo_that_is_not_the_worker_ranks_first_then_no_face():
    from punchcard_punch.domain.suspicious import FaceFailure

    burst = [pin(f"b{i}", f"bw{i}", "c9", f"2026-03-02 07:0{i}") for i in range(3)]
    shared = pin("s", "w1", "c1", "2026-03-02 12:00")
    nobody = pin("n", "w2", "c1", "2026-03-02 11:00")
    own = pin("o", "w3", "c1", "2026-03-02 10:00")
    after_face = pin("f", "w4", "c2", "2026-03-02 09:00")
    flags = find_suspicious(
        [*burst, shared, nobody, own, after_face],
        [],
        evidence={"s": "FACE_NOT_WORKERS", "n": "NO_FACE", "o": "FACE_MATCHED"},
        face_enrolled={"w1", "w2", "w3", "w5"},
        face_failures=[FaceFailure("c2", at("2026-03-02 08:59:10"))],
    )
    order = [(f.punch.punch_id, f.reasons) for f in flags]
    assert order == [
        ("s", ("FACE_NOT_WORKERS", "FACE_ENROLLED")),
        ("n", ("NO_FACE", "FACE_ENROLLED")),
        ("f", ("PIN_AFTER_FACE_FAILED",)),
        ("b0", ("PIN_BURST",)),
        ("b1", ("PIN_BURST",)),
        ("b2", ("PIN_BURST",)),
    ]  # "o": the worker's own face in the photo clears FACE_ENROLLED
    assert flags[0].detail.startswith("the photo at the punch is not the worker's face")
    assert flags[2].detail == "a face attempt failed at this clock 50 s before"


def test_a_pin_by_a_face_enrolled_worker_and_the_face_failure_window():
    from punchcard_punch.domain.suspicious import FaceFailure

    punch = pin("p", "w1", "c1", "2026-03-02 09:00")
    (flag,) = find_suspicious([punch], [], face_enrolled={"w1"})
    assert flag.reasons == ("FACE_ENROLLED",)
    assert find_suspicious([punch], [], face_enrolled={"w2"}) == []
    for failed_at, flagged in (
        ("2026-03-02 08:59:00", True),  # exactly a minute before
        ("2026-03-02 08:58:59", False),  # a second more
        ("2026-03-02 09:00:01", False),  # after the PIN
    ):
        failures = [FaceFailure("c1", at(failed_at))]
        found = find_suspicious([punch], [], face_failures=failures)
        assert bool(found) is flagged, failed_at
    other_clock = [FaceFailure("c2", at("2026-03-02 08:59:30"))]
    assert find_suspicious([punch], [], face_failures=other_clock) == []
    # A face punch is never judged, whatever its evidence says.
    face = pin("x", "w1", "c1", "2026-03-02 09:00", method="FACE")
    assert find_suspicious([face], [], evidence={"x": "NO_FACE"}, face_enrolled={"w1"}) == []
