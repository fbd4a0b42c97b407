"""What a clock receives: the one rule (``domain.roster.clock_commands``) for every kind of
change — a worker's details, status, PIN or face enrolment, the worker's clocks, a resync —
and the two ways the service layer applies it (assignments, resyncs)."""

import json
import uuid
from dataclasses import replace

import pytest
from punchcard_device_sync.domain.model import (
    Command,
    CommandKind,
    WorkerFacts,
    WorkerStatus,
    canonical,
)
from punchcard_device_sync.domain.roster import (
    Holding,
    assignment_commands,
    both_ways,
    clock_commands,
    resync_commands,
    site_rule_changes,
)

W = WorkerFacts(
    id="11111111-1111-1111-1111-111111111111",
    employee_id="E1",
    display_name="Ana Pérez",
    status=WorkerStatus.ACTIVE,
    pin_set=True,
    pin_allowed=True,
    face_enrolled=True,
)


def kinds(commands):
    return {clock: cmd.kind for clock, cmd in commands}


def change(before, after, clocks_before, clocks_after):
    """One worker's change: facts before/after, clocks before/after."""
    return clock_commands(Holding.of(before, clocks_before), Holding.of(after, clocks_after))


# --- a worker's clocks change ------------------------------------------------------------


def test_assigned_clock_gets_upsert_and_unassigned_gets_remove():
    commands = change(W, W, {"a", "b"}, {"b", "c"})
    assert kinds(commands) == {"a": CommandKind.REMOVE_WORKER, "c": CommandKind.UPSERT_WORKER}


def test_commands_come_in_clock_id_order():
    commands = change(W, W, {"c", "a"}, {"b", "d"})
    assert [clock for clock, _ in commands] == ["a", "b", "c", "d"]


def test_an_upsert_carries_the_profile_and_a_remove_the_ids():
    [(_, upsert)] = change(W, W, set(), {"a"})
    assert upsert == Command.upsert(canonical({**W.profile(), "clock_role": "USER"}), W.id)
    [(_, remove)] = change(W, W, {"a"}, set())
    assert remove == Command.remove(W.id, "E1")


def test_nothing_changes_nothing_is_sent():
    assert change(W, W, {"a", "b"}, {"a", "b"}) == []
    assert change(W, W, set(), set()) == []


# --- a worker's facts change --------------------------------------------------------------


def test_profile_change_goes_to_every_clock_and_no_change_to_none():
    renamed = replace(W, display_name="Ana P. Gómez")
    assert kinds(change(W, renamed, {"a", "b"}, {"a", "b"})) == {
        "a": CommandKind.UPSERT_WORKER,
        "b": CommandKind.UPSERT_WORKER,
    }
    same_site_moved = replace(W, site_id="north")  # not in the profile
    assert change(W, same_site_moved, {"a"}, {"a"}) == []


def test_deactivation_removes_everywhere_and_reactivation_restores():
    inactive = replace(W, status=WorkerStatus.INACTIVE)
    removed = change(W, inactive, {"a", "b"}, {"a", "b"})
    assert kinds(removed) == {"a": CommandKind.REMOVE_WORKER, "b": CommandKind.REMOVE_WORKER}
    assert removed[0][1].employee_id == "E1"
    back = change(inactive, W, {"a"}, {"a"})
    assert kinds(back) == {"a": CommandKind.UPSERT_WORKER}


def test_an_inactive_worker_changing_stays_off_clocks():
    inactive = replace(W, status=WorkerStatus.INACTIVE)
    assert change(inactive, replace(inactive, display_name="X"), {"a"}, {"a"}) == []
    assert change(inactive, inactive, set(), {"a"}) == []  # assigned while Inactive


def test_a_pending_worker_is_on_clocks():
    pending = replace(W, status=WorkerStatus.PENDING)
    assert kinds(change(pending, pending, set(), {"a"})) == {"a": CommandKind.UPSERT_WORKER}
    assert kinds(change(pending, W, {"a"}, {"a"})) == {"a": CommandKind.UPSERT_WORKER}


def test_a_removal_names_the_worker_as_the_clock_held_them():
    renamed = replace(W, employee_id="E2", status=WorkerStatus.INACTIVE)
    [(_, remove)] = change(W, renamed, {"a"}, {"a"})
    assert remove.employee_id == "E1"


def test_pin_removed_means_profile_without_pin():
    no_pin = replace(W, pin_set=False)
    [(clock, command)] = change(W, no_pin, {"a"}, {"a"})
    body = json.loads(command.body(str(uuid.uuid4()), 7))
    assert body["sequence"] == 7
    assert body["worker"]["pin_set"] is False
    assert "PIN" not in body["worker"]["allowed_methods"]


@pytest.mark.parametrize(
    ("facts", "methods"),
    [
        ({"pin_allowed": False}, ["FACE"]),
        ({"face_enrolled": False}, ["PIN"]),
        ({"face_enrolled": False, "pin_set": False}, []),
    ],
)
def test_pin_and_face_changes_reach_the_clocks(facts, methods):
    [(_, command)] = change(W, replace(W, **facts), {"a"}, {"a"})
    assert json.loads(command.profile_json)["allowed_methods"] == methods


def test_registration_reaches_the_clocks_already_assigned():
    # The worker was assigned (a site rule) in the same change that registered them.
    assert kinds(change(None, W, set(), {"a"})) == {"a": CommandKind.UPSERT_WORKER}
    assert change(None, replace(W, status=WorkerStatus.INACTIVE), set(), {"a"}) == []


def test_changes_and_moves_at_once():
    # Renamed, taken off "a" (its site lost the rule), put on "c", kept on "b".
    renamed = replace(W, display_name="Ana P.")
    assert kinds(change(W, renamed, {"a", "b"}, {"b", "c"})) == {
        "a": CommandKind.REMOVE_WORKER,
        "b": CommandKind.UPSERT_WORKER,
        "c": CommandKind.UPSERT_WORKER,
    }


def test_the_stored_profile_decides_whether_it_changed():
    # What clocks hold is the stored profile: a different one is resent even if the facts
    # are the same.
    stale = Holding(W, '{"old":true}', frozenset({"a"}))
    assert kinds(clock_commands(stale, Holding.of(W, {"a"}))) == {"a": CommandKind.UPSERT_WORKER}


# --- assignments --------------------------------------------------------------------------


def test_assignment_commands_upsert_the_assigned_and_remove_the_unassigned():
    other = replace(W, id="22222222-2222-2222-2222-222222222222", employee_id="E2")
    workers = {w.id: Holding.of(w) for w in (W, other)}
    commands = assignment_commands(workers, [("b", W.id), ("a", other.id)], [("c", W.id)])
    assert [(c, cmd.kind, cmd.worker_id) for c, cmd in commands] == [
        ("b", CommandKind.UPSERT_WORKER, W.id),
        ("a", CommandKind.UPSERT_WORKER, other.id),
        ("c", CommandKind.REMOVE_WORKER, W.id),
    ]
    assert commands[0][1].profile_json == workers[W.id].profile_on("b")
    assert json.loads(commands[0][1].profile_json) == {**W.profile(), "clock_role": "USER"}
    assert commands[2][1].employee_id == "E1"


def test_assignment_commands_send_the_profile_as_stored():
    workers = {W.id: Holding(W, '{"as":"stored"}')}
    [(_, command)] = assignment_commands(workers, [("a", W.id)], [])
    assert command.profile_json == '{"as":"stored"}'


def test_assignment_commands_skip_inactive_and_unknown_workers():
    inactive = Holding.of(replace(W, status=WorkerStatus.INACTIVE))
    assert assignment_commands({W.id: inactive}, [("a", W.id)], [("b", W.id)]) == []
    assert assignment_commands({}, [], [("b", W.id)]) == []


def test_assigned_then_unassigned_in_one_request_adds_then_removes():
    commands = assignment_commands({W.id: Holding.of(W)}, [("a", W.id)], [("a", W.id)])
    assert [cmd.kind for _, cmd in commands] == [
        CommandKind.UPSERT_WORKER,
        CommandKind.REMOVE_WORKER,
    ]


def test_an_assignment_is_the_same_rule_as_a_worker_change():
    workers = {W.id: Holding.of(W)}
    assert assignment_commands(workers, [("a", W.id)], []) == change(W, W, set(), {"a"})
    assert assignment_commands(workers, [], [("a", W.id)]) == change(W, W, {"a"}, set())


# --- resyncs and site rules ---------------------------------------------------------------


def test_a_resync_starts_over_and_sends_the_whole_roster():
    other = replace(W, id="22222222-2222-2222-2222-222222222222", employee_id="E2")
    commands = resync_commands("a", "digest mismatch", [Holding.of(W), Holding.of(other)])
    assert [(c, cmd.kind) for c, cmd in commands] == [
        ("a", CommandKind.FULL_RESYNC),
        ("a", CommandKind.UPSERT_WORKER),
        ("a", CommandKind.UPSERT_WORKER),
    ]
    assert commands[0][1].reason == "digest mismatch"
    assert [cmd.worker_id for _, cmd in commands[1:]] == [W.id, other.id]


def test_a_resync_of_an_empty_roster_is_the_resync_alone():
    assert [cmd.kind for _, cmd in resync_commands("a", "x", [])] == [CommandKind.FULL_RESYNC]


def test_site_rule_changes_are_sorted_differences():
    assign, unassign = site_rule_changes(
        [("a", "w2"), ("b", "w1")], [("c", "w1"), ("a", "w2"), ("a", "w1")]
    )
    assert assign == [("a", "w1"), ("c", "w1")]
    assert unassign == [("b", "w1")]


def test_a_pair_both_assigned_and_unassigned_is_found():
    assert both_ways([("c1", "w1"), ("c2", "w1")], [("c1", "w2"), ("c2", "w1")]) == ("c2", "w1")
    assert both_ways([("c1", "w1")], [("c1", "w2"), ("c2", "w1")]) is None
    assert both_ways([], [("c1", "w1")]) is None
