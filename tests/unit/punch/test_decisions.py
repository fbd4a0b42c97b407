"""The rules that turn an identified attempt into a punch (domain/decisions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from punchcard_punch.domain.decisions import (
    Nearby,
    Policy,
    Record,
    Reject,
    Repeat,
    check_capture_time,
    decide,
    needs_review,
    neighbours,
    toggled,
)

T = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
POLICY = Policy()


def at(**kw) -> datetime:
    return T + timedelta(**kw)


def run(*, previous=None, following=None, requested=None, captured=T, received=None, **kw):
    return decide(
        captured_at=captured,
        received_at=received or captured,
        offline=kw.get("offline", False),
        requested=requested,
        worker_active=kw.get("active", True),
        assigned=kw.get("assigned", True),
        previous=previous,
        following=following,
        policy=POLICY,
        checked_active=kw.get("checked_active", False),
        checked_assigned=kw.get("checked_assigned", False),
    )


def test_first_punch_is_an_inferred_in():
    assert run() == Record("IN", inferred=True)


def test_after_an_in_comes_an_out_and_after_an_out_an_in():
    assert run(previous=Nearby("p", "IN", at(hours=-8))) == Record("OUT", inferred=True)
    assert run(previous=Nearby("p", "OUT", at(hours=-1))) == Record("IN", inferred=True)


def test_a_forgotten_out_does_not_flip_the_next_morning():
    assert run(previous=Nearby("p", "IN", at(hours=-17))) == Record("IN", inferred=True)


def test_the_kiosk_direction_wins():
    assert run(previous=Nearby("p", "IN", at(hours=-2)), requested="IN") == Record("IN", False)


@pytest.mark.parametrize("seconds", [-60, -1, 0, 30, 60])
def test_within_the_window_is_a_double_tap(seconds):
    near = Nearby("p", "IN", at(seconds=seconds))
    previous, following = (near, None) if seconds <= 0 else (None, near)
    assert run(previous=previous, following=following) == Repeat(near)


def test_just_outside_the_window_is_a_new_punch():
    assert run(previous=Nearby("p", "IN", at(seconds=-61))) == Record("OUT", inferred=True)


def test_an_explicit_other_direction_within_the_window_is_recorded():
    near = Nearby("p", "IN", at(seconds=-20))
    assert run(previous=near, requested="OUT") == Record("OUT", inferred=False)
    assert run(previous=near, requested="IN") == Repeat(near)


def test_refusals_come_before_the_double_tap():
    near = Nearby("p", "IN", at(seconds=-5))
    assert run(previous=near, active=False) == Reject("INACTIVE")
    assert run(previous=near, assigned=False) == Reject("NOT_ASSIGNED_TO_CLOCK")


def test_what_the_verdicts_producer_checked_is_not_refused_on_punchs_lagging_copy():
    """identity checked Active and assigned when the PIN was typed: punch's copy, still behind
    the activation or the assignment, does not refuse it. Each check stands for itself only."""
    assert run(active=False, checked_active=True) == Record("IN", inferred=True)
    assert run(assigned=False, checked_assigned=True) == Record("IN", inferred=True)
    both = {"active": False, "assigned": False}
    assert run(**both, checked_active=True, checked_assigned=True) == Record("IN", True)
    assert run(**both, checked_assigned=True) == Reject("INACTIVE")
    assert run(**both, checked_active=True) == Reject("NOT_ASSIGNED_TO_CLOCK")
    # The capture time is punch's own rule: no producer's check passes a stale punch.
    stale = run(captured=at(days=-8), received=T, checked_active=True, checked_assigned=True)
    assert stale == Reject("CAPTURE_TIME_TOO_OLD")


def test_capture_time_bounds():
    for offline in (False, True):
        assert check_capture_time(at(seconds=121), T, POLICY, offline=offline) == (
            "CAPTURE_TIME_IN_FUTURE"
        )
        assert check_capture_time(at(seconds=120), T, POLICY, offline=offline) is None
    assert check_capture_time(at(days=-7), T, POLICY, offline=True) is None
    assert check_capture_time(at(days=-7, seconds=-1), T, POLICY, offline=True) == (
        "CAPTURE_TIME_TOO_OLD"
    )
    assert run(captured=at(days=-8), received=T, offline=True) == Reject("CAPTURE_TIME_TOO_OLD")


def test_an_online_attempt_cannot_be_backdated():
    """Not marked offline: captured at most the online allowance (5 min) before its receipt."""
    assert check_capture_time(at(minutes=-5), T, POLICY, offline=False) is None
    assert check_capture_time(at(minutes=-5, seconds=-1), T, POLICY, offline=False) == (
        "CAPTURE_TIME_TOO_OLD"
    )
    assert run(captured=at(days=-6), received=T) == Reject("CAPTURE_TIME_TOO_OLD")
    # The same capture time, sent by a kiosk that was offline, is a punch.
    assert run(captured=at(days=-6), received=T, offline=True) == Record("IN", inferred=True)


def test_old_offline_punches_are_flagged_for_review():
    assert not needs_review(at(hours=-24), T, POLICY, offline=True)
    assert needs_review(at(hours=-24, seconds=-1), T, POLICY, offline=True)
    assert needs_review(at(days=-6), T, POLICY, offline=True)
    # Online punches are never old enough to be flagged (they are refused instead).
    assert not needs_review(at(days=-6), T, POLICY, offline=False)


def test_neighbours_picks_the_closest_on_each_side():
    punches = [
        Nearby("a", "IN", at(hours=-3)),
        Nearby("b", "OUT", at(hours=-1)),
        Nearby("c", "IN", at(seconds=30)),
        Nearby("d", "OUT", at(seconds=90)),
    ]
    previous, following = neighbours(punches, T, timedelta(seconds=60))
    assert previous.punch_id == "b" and following.punch_id == "c"
    assert neighbours([], T, timedelta(seconds=60)) == (None, None)


def test_at_one_instant_the_in_is_the_later_neighbour_whatever_the_ids():
    # An OUT and an IN at one instant (a transfer): the toggle goes on from the IN, as the
    # timesheet pairs them (model.ledger_order).
    for out_id, in_id in (("a", "b"), ("b", "a")):
        punches = [Nearby(out_id, "OUT", at(hours=-1)), Nearby(in_id, "IN", at(hours=-1))]
        previous, _ = neighbours(punches, T, timedelta(seconds=60))
        assert previous.punch_id == in_id
        assert run(previous=previous) == Record("OUT", inferred=True)
        _, following = neighbours(punches, at(hours=-1, seconds=-30), timedelta(seconds=60))
        assert following.punch_id == out_id


# -- a hardware clock's explicit direction (its State: 0, 3, 4 IN; 1, 2, 5 OUT; 255 none) ----


def test_a_devices_check_in_after_an_in_is_an_in_not_a_toggle():
    assert run(previous=Nearby("p", "IN", at(hours=-2)), requested="IN") == Record("IN", False)


def test_a_devices_check_out_right_after_its_check_in_is_recorded():
    earlier = Nearby("p", "IN", at(seconds=-20))
    assert run(previous=earlier, requested="OUT") == Record("OUT", False)


def test_the_same_state_twice_within_the_window_is_a_double_tap():
    earlier = Nearby("p", "IN", at(seconds=-20))
    assert run(previous=earlier, requested="IN") == Repeat(earlier)


def test_an_undefined_state_follows_the_toggle():
    assert run(previous=Nearby("p", "IN", at(hours=-8))) == Record("OUT", True)


def test_a_device_record_sent_late_counts_only_when_marked_offline():
    late = at(minutes=10)
    assert run(requested="IN", received=late, offline=True) == Record("IN", False)
    assert run(requested="IN", received=late) == Reject("CAPTURE_TIME_TOO_OLD")


def test_the_toggle_resets_after_longer_than_a_shift_and_shorter_than_a_nights_rest():
    reset = POLICY.toggle_reset
    assert timedelta(hours=10) < reset < timedelta(hours=14)
    assert toggled("IN", T, T + reset, reset) == "OUT"
    assert toggled("IN", T, T + reset + timedelta(seconds=1), reset) == "IN"
    assert toggled("OUT", T, T + timedelta(minutes=5), reset) == "IN"
