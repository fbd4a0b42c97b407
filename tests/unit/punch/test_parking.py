from datetime import UTC, datetime, timedelta

import pytest
from punchcard_punch.domain.parking import Hold, Parked, hold, ready_or_expired

MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    "worker_known, clock_known, earlier_parked, age, expected",
    [
        (True, True, False, timedelta(0), Hold.DECIDE),
        (True, True, True, timedelta(0), Hold.PARK),  # behind a parked verdict of the worker
        (False, True, False, timedelta(seconds=5), Hold.WAIT),  # the projection is on its way
        (True, False, False, timedelta(seconds=59), Hold.WAIT),
        (False, True, False, MINUTE, Hold.PARK),  # waited long enough: the partition moves on
        (True, False, False, timedelta(days=3), Hold.PARK),
    ],
)
def test_hold(worker_known, clock_known, earlier_parked, age, expected):
    assert (
        hold(
            worker_known=worker_known,
            clock_known=clock_known,
            earlier_parked=earlier_parked,
            age=age,
            park_after=MINUTE,
        )
        is expected
    )


NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_ready_keeps_each_workers_order_and_stops_at_the_first_that_must_wait():
    parked = [
        Parked(1, "w1", "c-unknown", NOW),  # w1's first still waits ...
        Parked(2, "w1", "c1", NOW),  # ... so its second does too
        Parked(3, "w2", "c1", NOW),
        Parked(4, "w2", "c1", NOW),
    ]
    ready, expired = ready_or_expired(parked, {"w1", "w2"}, {"c1"}, NOW, timedelta(days=7))
    assert [p.seq for p in ready] == [3, 4] and expired == []


def test_too_old_is_given_up_and_the_workers_next_can_go():
    parked = [Parked(2, "w1", "c1", NOW), Parked(1, "w1", "gone", NOW - timedelta(days=8))]
    ready, expired = ready_or_expired(parked, {"w1"}, {"c1"}, NOW, timedelta(days=7))
    assert [p.seq for p in expired] == [1] and [p.seq for p in ready] == [2]


def test_nothing_known_nothing_old_nothing_taken():
    ready, expired = ready_or_expired(
        [Parked(1, "w", "c", NOW)], set(), set(), NOW, timedelta(days=7)
    )
    assert (ready, expired) == ([], [])
