"""Applying a batch of commands, and the acknowledgements and sync body it builds (no I/O)."""

import pytest
from punchcard_kiosk_sim import (
    EMPTY_DIGEST,
    RESULT_NO_SPACE,
    RESULT_PARAMETER_ERROR,
    RESULT_UNKNOWN_COMMAND,
    SimulatedClock,
    clock_id_from_credential,
    roster_digest,
)


def worker(wid: str, name: str = "Ana", **extra) -> dict:
    return {
        "worker_id": wid,
        "employee_id": f"E-{wid}",
        "display_name": name,
        "status": "Active",
        "allowed_methods": ["PIN"],
        "pin_set": True,
        **extra,
    }


def upsert(seq: int, w: dict) -> dict:
    return {"command_id": f"c{seq}", "sequence": seq, "kind": "UPSERT_WORKER", "worker": w}


def remove(seq: int, wid: str) -> dict:
    return {
        "command_id": f"c{seq}",
        "sequence": seq,
        "kind": "REMOVE_WORKER",
        "worker": {"worker_id": wid, "employee_id": f"E-{wid}"},
    }


def resync(seq: int) -> dict:
    return {"command_id": f"c{seq}", "sequence": seq, "kind": "FULL_RESYNC", "reason": "test"}


def ack(seq: int, code: int = 0, detail: str = "") -> dict:
    return {"command_id": f"c{seq}", "sequence": seq, "result_code": code, "detail": detail}


def new_clock(**kw) -> SimulatedClock:
    return SimulatedClock("http://unused", "pcc_clock-1_secret", session=None, **kw)  # type: ignore[arg-type]


def test_a_batch_applies_in_order_and_is_acknowledged_one_by_one():
    clock = new_clock()
    a1, b, a2 = worker("a", "Ana"), worker("b", "Bo"), worker("a", "Ana Pérez", pin_set=False)
    acks = clock.apply_commands([upsert(1, a1), upsert(2, b), upsert(4, a2), remove(7, "b")])
    assert clock.roster == {"a": a2}  # the latest profile, exactly as received
    assert clock.applied_sequence == 7
    assert clock.applied == [
        (1, "UPSERT_WORKER", "a"),
        (2, "UPSERT_WORKER", "b"),
        (4, "UPSERT_WORKER", "a"),
        (7, "REMOVE_WORKER", "b"),
    ]
    assert acks == [ack(1), ack(2), ack(4), ack(7)]
    assert clock.pending_acks == acks
    assert clock.digest() == roster_digest([a2])


def test_sequences_already_applied_are_skipped_and_counted():
    clock = new_clock(applied_sequence=5)
    acks = clock.apply_commands(
        [upsert(4, worker("x")), upsert(5, worker("y")), upsert(6, worker("z"))]
    )
    assert list(clock.roster) == ["z"]
    assert clock.duplicates == 2
    assert acks == [ack(6)]
    # the same batch again: all duplicates, nothing new to acknowledge
    assert clock.apply_commands([upsert(6, worker("z"))]) == []
    assert clock.duplicates == 3
    assert len(clock.received) == 4  # every command received is recorded, duplicates too


def test_removing_a_worker_that_is_not_there_is_success():
    clock = new_clock()
    assert clock.apply_commands([remove(3, "ghost")]) == [ack(3, 0)]
    assert clock.roster == {}
    assert clock.applied == [(3, "REMOVE_WORKER", "ghost")]


def test_full_resync_clears_and_the_following_upserts_rebuild():
    clock = new_clock()
    clock.apply_commands([upsert(1, worker("a")), upsert(2, worker("b"))])
    clock.apply_commands([resync(10)])
    assert clock.roster == {}
    assert clock.digest() == EMPTY_DIGEST
    clock.apply_commands([upsert(11, worker("b", "Bo"))])
    assert clock.roster == {"b": worker("b", "Bo")}
    assert [a["sequence"] for a in clock.pending_acks] == [1, 2, 10, 11]


def test_configured_failures_are_acknowledged_with_their_code_and_not_applied():
    clock = new_clock(fail_codes={"UPSERT_WORKER": RESULT_NO_SPACE})
    acks = clock.apply_commands([upsert(1, worker("a")), remove(2, "a")])
    assert acks == [ack(1, RESULT_NO_SPACE, "simulated failure"), ack(2)]
    assert clock.roster == {}
    assert clock.failed == [(1, "UPSERT_WORKER", "a", RESULT_NO_SPACE)]
    assert clock.applied_sequence == 2  # a failed command is answered, not retried

    by_worker = new_clock(fail_codes={"b": -3})
    by_worker.apply_commands([upsert(1, worker("a")), upsert(2, worker("b"))])
    assert list(by_worker.roster) == ["a"]

    by_function = new_clock(fail_codes=lambda c: -3 if c["sequence"] == 2 else None)
    acks = by_function.apply_commands([upsert(1, worker("a")), upsert(2, worker("b"))])
    assert [a["result_code"] for a in acks] == [0, -3]


def test_unknown_and_malformed_commands():
    clock = new_clock()
    acks = clock.apply_commands(
        [
            {"command_id": "c1", "sequence": 1, "kind": "REBOOT"},
            {"command_id": "c2", "sequence": 2, "kind": "UPSERT_WORKER", "worker": {"name": "x"}},
            {"command_id": "c3", "kind": "UPSERT_WORKER", "worker": worker("a")},  # no sequence
        ]
    )
    assert [(a["sequence"], a["result_code"]) for a in acks] == [
        (1, RESULT_UNKNOWN_COMMAND),
        (2, RESULT_PARAMETER_ERROR),
    ]
    assert clock.malformed == 1
    assert clock.roster == {}

    seen = []
    no_id = new_clock(on_command=lambda c, cmd, at: seen.append(cmd["sequence"]))
    acks = no_id.apply_commands([{"sequence": 3, "kind": "UPSERT_WORKER", "worker": worker("a")}])
    assert acks == [] and no_id.pending_acks == []  # nothing to acknowledge it by
    assert list(no_id.roster) == ["a"] and no_id.applied_sequence == 3 and seen == [3]


def test_the_sync_body_carries_state_and_pending_acks():
    clock = new_clock(wait_s=25, software_version="kiosk-app 1.4.2")
    body = clock.build_sync_request()
    assert body == {
        "applied_sequence": 0,
        "roster_digest": EMPTY_DIGEST,
        "software_version": "kiosk-app 1.4.2",
        "acks": [],
        "wait_s": 25,
    }
    a = worker("a")
    clock.apply_commands([upsert(41, a)])
    body = clock.build_sync_request(wait_s=0)
    assert body["applied_sequence"] == 41
    assert body["roster_digest"] == roster_digest([a])
    assert body["acks"] == [ack(41)]
    assert body["wait_s"] == 0
    assert "limit" not in body
    assert new_clock(limit=50).build_sync_request()["limit"] == 50
    assert repr(new_clock(wait_s=25.0).build_sync_request()["wait_s"]) == "25"  # an integer


def test_a_sync_carries_at_most_500_acks():
    clock = new_clock()
    clock.apply_commands([upsert(i, worker(f"w{i}")) for i in range(1, 1201)])
    assert len(clock.pending_acks) == 1200
    assert [a["sequence"] for a in clock.build_sync_request()["acks"]] == list(range(1, 501))


def test_on_command_sees_every_command_after_it_is_applied():
    seen = []
    clock = new_clock(
        on_command=lambda c, cmd, at: seen.append((cmd["sequence"], at, dict(c.roster)))
    )
    clock.apply_commands([upsert(1, worker("a")), upsert(1, worker("a"))], received_at=12.5)
    assert [(s, at) for s, at, _ in seen] == [(1, 12.5), (1, 12.5)]
    assert "a" in seen[0][2]


def test_a_failing_hook_does_not_stop_the_clock():
    clock = new_clock(on_command=lambda c, cmd, at: 1 / 0)
    assert clock.apply_commands([upsert(1, worker("a"))]) == [ack(1)]
    assert len(clock.hook_errors) == 1


def test_corrupt_roster_changes_the_digest_behind_the_servers_back():
    clock = new_clock()
    clock.apply_commands([upsert(1, worker("a")), upsert(2, worker("b"))])
    before = clock.digest()
    assert clock.corrupt_roster("rename", "a") == "a"
    assert clock.roster["a"]["display_name"] == "Ana (edited)"
    assert clock.digest() != before
    assert clock.corrupt_roster("drop") in ("a", "b")
    assert len(clock.roster) == 1
    phantom = clock.corrupt_roster("add")
    assert phantom in clock.roster and len(clock.roster) == 2
    empty = new_clock()
    empty.corrupt_roster("drop")  # nothing to drop: adds a worker instead
    assert empty.digest() != EMPTY_DIGEST
    with pytest.raises(ValueError):
        clock.corrupt_roster("shuffle")


def test_history_off_keeps_counters_only():
    clock = new_clock(history=False)
    clock.apply_commands([upsert(1, worker("a")), upsert(1, worker("a")), remove(2, "a")])
    assert clock.received == [] and clock.applied == []
    assert (clock.commands_received, clock.commands_applied, clock.duplicates) == (3, 2, 1)


def test_clock_id_from_credential():
    assert clock_id_from_credential("pcc_0b5e-11_s3cr_et") == "0b5e-11"
    assert clock_id_from_credential("pcc_only") is None
    assert clock_id_from_credential("Bearer x") is None
    assert new_clock().clock_id == "clock-1"
