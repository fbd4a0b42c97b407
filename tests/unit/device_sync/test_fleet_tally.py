"""device_sync_clocks{protocol, status}: the fleet counted by the one clock_status rule."""

from datetime import UTC, datetime, timedelta

from punchcard_device_sync.domain.model import FLEET_STATUSES, ClockStatus, fleet_tally

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
            ("ZK_PUSH", True, NOW - timedelta(seconds=1)),  # revoked: not the fleet's any more
            ("ZK_PUSH", True, None),
        ],
        NOW,
        AFTER,
    )
    assert tally[("KIOSK_APP", ClockStatus.ONLINE)] == 2
    assert tally[("KIOSK_APP", ClockStatus.OFFLINE)] == 1
    assert tally[("KIOSK_APP", ClockStatus.NEVER_SEEN)] == 1
    assert tally[("ZK_PUSH", ClockStatus.OFFLINE)] == 1
    assert tally[("ZK_PUSH", ClockStatus.ONLINE)] == 0
    assert tally[("ZK_PUSH", ClockStatus.NEVER_SEEN)] == 0
    # Every status of every protocol in service is there (a count dropping to 0 is a 0, not a
    # gap); revoked clocks are no status of the fleet's.
    assert set(tally) == {(p, s) for p in ("KIOSK_APP", "ZK_PUSH") for s in FLEET_STATUSES}
    assert sum(tally.values()) == 5


def test_no_clocks_no_series():
    assert fleet_tally([], NOW, AFTER) == {}
