"""device_sync_clocks{protocol, status}: the fleet counted by the one clock_status rule."""

from datetime import UTC, datetime, timedelta

from punchcard_device_sync.domain.model import ClockStatus, fleet_tally

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
AFTER = timedelta(seconds=90)


def test_clocks_are_counted_by_protocol_and_status():
    tally = fleet_tally(
        [
            ("KIOSK_APP", False, NOW - timedelta(seconds=10)),
            ("KIOSK_APP", False, NOW - timedelta(seconds=90)),  # on the boundary: online
            ("KIOSK_APP", False, NOW - timedelta(seconds=91)),
            ("KIOSK_APP", False, None),
            ("ZK_PUSH", False, NOW - timedelta(hours=3)),
            ("ZK_PUSH", True, NOW - timedelta(seconds=1)),  # revoked wins
        ],
        NOW,
        AFTER,
    )
    assert tally[("KIOSK_APP", ClockStatus.ONLINE)] == 2
    assert tally[("KIOSK_APP", ClockStatus.OFFLINE)] == 1
    assert tally[("KIOSK_APP", ClockStatus.NEVER_SEEN)] == 1
    assert tally[("KIOSK_APP", ClockStatus.REVOKED)] == 0
    assert tally[("ZK_PUSH", ClockStatus.OFFLINE)] == 1
    assert tally[("ZK_PUSH", ClockStatus.REVOKED)] == 1
    # Every status of every protocol seen is there (a count dropping to 0 is a 0, not a gap).
    assert len(tally) == 2 * len(ClockStatus)
    assert sum(tally.values()) == 6


def test_no_clocks_no_series():
    assert fleet_tally([], NOW, AFTER) == {}
