"""The pure rules of device-sync: which command each clock gets for a change, the profile a
clock holds, the roster digest, credentials and status."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

from punchcard_device_sync.domain.model import (
    ClockStatus,
    Command,
    CommandKind,
    SyncState,
    WorkerFacts,
    canonical,
    clock_status,
    credential_clock_id,
    credential_hash,
    new_credential,
    roster_digest,
    sync_state,
    worker_commands,
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


def kinds(commands):
    return {clock: cmd.kind for clock, cmd in commands}


def test_profile_carries_methods_but_no_secret():
    profile = W.profile()
    assert profile == {
        "worker_id": W.id,
        "employee_id": "E1",
        "display_name": "Ana Pérez",
        "status": "Active",
        "allowed_methods": ["FACE", "PIN"],
        "pin_set": True,
    }
    assert WorkerFacts(**{**W.__dict__, "pin_allowed": False}).profile()["allowed_methods"] == [
        "FACE"
    ]
    assert WorkerFacts(**{**W.__dict__, "pin_set": False}).profile()["allowed_methods"] == ["FACE"]


def test_assigned_clock_gets_upsert_and_unassigned_gets_remove():
    profile = canonical(W.profile())
    commands = worker_commands(W, profile, W, {"a", "b"}, {"b", "c"})
    assert kinds(commands) == {"a": CommandKind.REMOVE_WORKER, "c": CommandKind.UPSERT_WORKER}


def test_profile_change_goes_to_every_clock_and_no_change_to_none():
    profile = canonical(W.profile())
    renamed = WorkerFacts(**{**W.__dict__, "display_name": "Ana P. Gómez"})
    assert kinds(worker_commands(W, profile, renamed, {"a", "b"}, {"a", "b"})) == {
        "a": CommandKind.UPSERT_WORKER,
        "b": CommandKind.UPSERT_WORKER,
    }
    same_site_moved = WorkerFacts(**{**W.__dict__, "site_id": "north"})  # not in the profile
    assert worker_commands(W, profile, same_site_moved, {"a"}, {"a"}) == []


def test_deactivation_removes_everywhere_and_reactivation_restores():
    profile = canonical(W.profile())
    inactive = WorkerFacts(**{**W.__dict__, "status": "Inactive"})
    removed = worker_commands(W, profile, inactive, {"a", "b"}, {"a", "b"})
    assert kinds(removed) == {"a": CommandKind.REMOVE_WORKER, "b": CommandKind.REMOVE_WORKER}
    assert removed[0][1].employee_id == "E1"
    back = worker_commands(inactive, canonical(inactive.profile()), W, {"a"}, {"a"})
    assert kinds(back) == {"a": CommandKind.UPSERT_WORKER}


def test_pin_removed_means_profile_without_pin():
    profile = canonical(W.profile())
    no_pin = WorkerFacts(**{**W.__dict__, "pin_set": False})
    [(clock, command)] = worker_commands(W, profile, no_pin, {"a"}, {"a"})
    body = json.loads(command.body(str(uuid.uuid4()), 7))
    assert body["sequence"] == 7
    assert body["worker"]["pin_set"] is False
    assert "PIN" not in body["worker"]["allowed_methods"]


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
