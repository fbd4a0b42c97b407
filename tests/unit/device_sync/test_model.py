"""The pure rules of device-sync: the profile a clock holds, command bodies, the roster
digest, credentials and status (which command each clock gets: test_roster_rule.py)."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

from punchcard_device_sync.domain.model import (
    ClockStatus,
    Command,
    SyncState,
    WorkerFacts,
    canonical,
    clock_status,
    credential_clock_id,
    credential_hash,
    new_credential,
    roster_digest,
    sync_state,
)

W = WorkerFacts(
    id="11111111-1111-1111-1111-111111111111",
    employee_id="E1",
    display_name="Ana Pérez",
    status="Active",
    pin_set=True,
    pin_allowed=True,
    face_enrolled=True,
)


def test_profile_carries_methods_but_no_secret():
    profile = W.profile()
    assert profile == {
        "worker_id": W.id,
        "employee_id": "E1",
        "display_name": "Ana Pérez",
        "status": "Active",
        "allowed_methods": ["FACE", "PIN"],
        "pin_set": True,
        "cards": [],
    }
    assert WorkerFacts(**{**W.__dict__, "cards": ("0012", "9")}).profile()["cards"] == [
        "0012",
        "9",
    ]
    assert WorkerFacts(**{**W.__dict__, "pin_allowed": False}).profile()["allowed_methods"] == [
        "FACE"
    ]
    assert WorkerFacts(**{**W.__dict__, "pin_set": False}).profile()["allowed_methods"] == ["FACE"]


def test_command_bodies_are_json():
    cid = str(uuid.uuid4())
    upsert = json.loads(Command.upsert(canonical(W.profile()), W.id).body(cid, 1))
    assert upsert == {
        "command_id": cid,
        "sequence": 1,
        "kind": "UPSERT_WORKER",
        "worker": W.profile(),
    }
    remove = json.loads(Command.remove(W.id, 'E"1').body(cid, 2))
    assert remove["worker"] == {"worker_id": W.id, "employee_id": 'E"1'}
    resync = json.loads(Command.resync('digest "mismatch"').body(cid, 3))
    assert resync["kind"] == "FULL_RESYNC" and resync["reason"] == 'digest "mismatch"'


def test_roster_digest_follows_the_documented_rule():
    profiles = [W.profile(), {**W.profile(), "worker_id": "0", "display_name": "Zoë"}]
    lines = sorted(
        json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for p in profiles
    )
    expected = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    assert roster_digest(canonical(p) for p in reversed(profiles)) == expected
    assert roster_digest([]) == hashlib.sha256(b"").hexdigest()


def test_credentials_name_their_clock_and_are_stored_hashed():
    clock_id = str(uuid.uuid4())
    credential = new_credential(clock_id)
    assert credential_clock_id(credential) == clock_id
    assert credential_hash(credential) == hashlib.sha256(credential.encode()).digest()
    assert new_credential(clock_id) != credential
    for bad in ("", "pcc_", f"pcc_{clock_id}", f"pcc_{clock_id}_", "pcc_notauuid_x", "Bearer x"):
        assert credential_clock_id(bad) is None


def test_clock_status():
    now = datetime.now(UTC)
    after = timedelta(seconds=90)
    assert clock_status(False, None, now, after) == "never_seen"
    assert clock_status(False, now - timedelta(seconds=10), now, after) == "online"
    assert clock_status(False, now - timedelta(seconds=91), now, after) == "offline"
    assert clock_status(True, now, now, after) == "revoked"


def test_sync_state_of_a_workers_command_on_a_clock():
    assert sync_state(True, 0, ClockStatus.OFFLINE) is SyncState.ACKNOWLEDGED
    assert sync_state(True, -3, ClockStatus.ONLINE) is SyncState.FAILED
    assert sync_state(False, None, ClockStatus.ONLINE) is SyncState.SENT
    assert sync_state(False, None, ClockStatus.OFFLINE) is SyncState.WAITING
    assert sync_state(False, None, ClockStatus.NEVER_SEEN) is SyncState.WAITING
    assert sync_state(False, None, ClockStatus.REVOKED) is SyncState.REVOKED


def test_a_clock_holds_at_most_its_long_polls_and_a_tenant_its_own():
    from punchcard_device_sync.domain.model import PollLimits, may_hold_poll

    limits = PollLimits(per_clock=2, per_tenant=3)
    assert may_hold_poll(0, 0, limits) and may_hold_poll(1, 2, limits)
    assert not may_hold_poll(2, 2, limits)  # the clock's two are held
    assert not may_hold_poll(0, 3, limits)  # the tenant's three are held


def test_a_clock_is_resynced_when_it_applied_everything_and_still_differs():
    from punchcard_device_sync.domain.model import RosterCheck, check_roster

    d, other = "a" * 64, "b" * 64
    assert check_roster(3, other, 5, d) is RosterCheck.CATCHING_UP
    assert check_roster(5, d, 5, d) is RosterCheck.IN_SYNC
    assert check_roster(5, other, 5, d) is RosterCheck.DIGEST_MISMATCH
    assert check_roster(9, d, 5, d) is RosterCheck.AHEAD
    assert [c for c in RosterCheck if c.needs_resync] == [
        RosterCheck.DIGEST_MISMATCH,
        RosterCheck.AHEAD,
    ]
    assert str(RosterCheck.DIGEST_MISMATCH) == "roster digest mismatch"
    assert str(RosterCheck.AHEAD) == "clock is ahead of the server's queue"


def test_at_most_one_automatic_resync_per_interval():
    from punchcard_device_sync.domain.model import may_auto_resync

    now, every = datetime.now(UTC), timedelta(minutes=5)
    assert may_auto_resync(None, now, every)
    assert not may_auto_resync(now - timedelta(minutes=4), now, every)
    assert may_auto_resync(now - every, now, every)


def test_only_a_clocks_administrator_acts_on_its_settings_from_the_clock():
    from punchcard_device_sync.domain.model import ClockRole, opens_clock_settings

    assert opens_clock_settings(ClockRole.ADMINISTRATOR)
    assert not opens_clock_settings(ClockRole.MANAGER)
    assert not opens_clock_settings(ClockRole.USER)
    assert not opens_clock_settings(None)


def test_a_clock_saying_nothing_new_is_written_once_per_interval():
    from punchcard_device_sync.domain.model import status_write_due

    now, every = datetime.now(UTC), timedelta(seconds=30)
    assert status_write_due(None, now, False, every)  # never written
    assert not status_write_due(now - timedelta(seconds=29), now, False, every)
    assert status_write_due(now - every, now, False, every)
    assert status_write_due(now - timedelta(seconds=1), now, True, every)  # something new


def test_a_calling_clock_is_written_well_inside_its_offline_window():
    from punchcard_device_sync.domain.model import status_write_every

    assert status_write_every(timedelta(seconds=30), timedelta(seconds=90)) == timedelta(seconds=30)
    # A short offline window (tests, tight settings) shrinks it to a third.
    assert status_write_every(timedelta(seconds=30), timedelta(seconds=3)) == timedelta(seconds=1)
    assert status_write_every(timedelta(0), timedelta(seconds=90)) == timedelta(0)
