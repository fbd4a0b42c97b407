"""Clock roles and badge cards in device-sync, on fakes: the profile each clock receives (the
worker's, with that clock's role, inserted exactly as canonical JSON would place it), who may
grant which role, a role change re-queuing UPSERT_WORKER and republishing the assignment, and
identity's card lists reaching every clock of the worker."""

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from punchcard.v1 import device_pb2
from punchcard_device_sync.domain.model import (
    ClockRole,
    CommandKind,
    WorkerFacts,
    WorkerStatus,
    canonical,
    clock_profile,
    may_set_clock_role,
)
from punchcard_device_sync.domain.roster import Holding, resync_commands, role_commands
from punchcard_device_sync.service_layer import admin, projection
from punchcard_kit.errors import Forbidden
from punchcard_kit.internal_auth import Caller
from punchcard_kit.messaging.catalogue import DEVICE_CLOCK_ASSIGNMENTS, DEVICE_CLOCKS

from .fakes import FakeUnitOfWork, Store, factory

TENANT = str(uuid.uuid4())
SYSADMIN = Caller(TENANT, "u1", "sysadmin")
MANAGER = Caller(TENANT, "u2", "manager", sites=("north",))
USER, MANAGER_ROLE, ADMIN_ROLE = ClockRole.USER, ClockRole.MANAGER, ClockRole.ADMINISTRATOR

W = WorkerFacts(
    id="11111111-1111-1111-1111-111111111111",
    employee_id="E1",
    display_name="Ana Pérez",
    status=WorkerStatus.ACTIVE,
    pin_set=True,
    cards=("0012", "900"),
)


# --- the profile a clock receives -----------------------------------------------------------


@given(
    name=st.text(max_size=40),
    employee_id=st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
    cards=st.lists(st.from_regex(r"[0-9]{1,20}", fullmatch=True), max_size=4),
    role=st.sampled_from(list(ClockRole)),
)
def test_a_clock_profile_is_the_canonical_profile_with_the_role(name, employee_id, cards, role):
    worker = WorkerFacts(
        id=W.id,
        employee_id=employee_id,
        display_name=name,
        status=WorkerStatus.ACTIVE,
        cards=tuple(sorted(set(cards))),
    )
    profile = worker.profile()
    assert clock_profile(canonical(profile), role) == canonical({**profile, "clock_role": role})


def test_each_clock_gets_its_own_role():
    holding = Holding.of(W, {"a", "b"}, {"a": MANAGER_ROLE})
    assert json.loads(holding.profile_on("a"))["clock_role"] == "MANAGER"
    assert json.loads(holding.profile_on("b"))["clock_role"] == "USER"
    assert json.loads(holding.profile_on("b"))["cards"] == ["0012", "900"]


def test_a_role_change_sends_that_clock_the_profile_with_the_new_role():
    holding = Holding.of(W)
    [(clock, command)] = role_commands(holding, "a", USER, ADMIN_ROLE)
    assert clock == "a" and command.kind is CommandKind.UPSERT_WORKER
    assert json.loads(command.profile_json)["clock_role"] == "ADMINISTRATOR"
    assert role_commands(holding, "a", USER, USER) == []
    inactive = Holding.of(WorkerFacts(**{**W.__dict__, "status": WorkerStatus.INACTIVE}))
    assert role_commands(inactive, "a", USER, MANAGER_ROLE) == []


def test_a_resync_sends_each_worker_with_their_role_on_that_clock():
    roster = [Holding(W, canonical(W.profile()), frozenset(), {"a": MANAGER_ROLE})]
    [_, (_, upsert)] = resync_commands("a", "x", roster)
    assert json.loads(upsert.profile_json)["clock_role"] == "MANAGER"


@pytest.mark.parametrize(
    ("sysadmin", "before", "after", "allowed"),
    [
        (True, None, ADMIN_ROLE, True),
        (True, ADMIN_ROLE, USER, True),
        (False, None, USER, True),
        (False, None, MANAGER_ROLE, True),
        (False, USER, MANAGER_ROLE, True),
        (False, MANAGER_ROLE, USER, True),
        (False, None, ADMIN_ROLE, False),
        (False, USER, ADMIN_ROLE, False),
        (False, ADMIN_ROLE, USER, False),
        (False, ADMIN_ROLE, MANAGER_ROLE, False),
        (False, ADMIN_ROLE, ADMIN_ROLE, True),  # keeping what is there
    ],
)
def test_only_a_sysadmin_grants_or_takes_away_administrator(sysadmin, before, after, allowed):
    assert may_set_clock_role(sysadmin, before, after) is allowed


def test_clock_roles_are_the_contracts_by_name():
    assert [f"CLOCK_ROLE_{r.name}" for r in ClockRole] == device_pb2.ClockRole.keys()[1:]


# --- the use cases --------------------------------------------------------------------------


@pytest.fixture
def store() -> Store:
    return Store()


async def assign(store, pairs, roles=None, caller=SYSADMIN):
    cmd = admin.ChangeAssignments(caller, assign=list(pairs), roles=roles or {})
    return await admin.change_assignments(cmd, factory(store))


def roles_published(store) -> list[tuple[str, int]]:
    found = []
    for topic, _, envelope in store.published:
        kind = envelope.type.rsplit(".", 1)[-1]
        if kind == "WorkerAssignedToClock":
            message = device_pb2.WorkerAssignedToClock()
        elif kind == "ClockAssignment":
            message = device_pb2.ClockAssignment()
        else:
            continue
        envelope.payload.Unpack(message)
        found.append((topic, message.clock_role))
    return found


def profiles(store, clock_id) -> list[dict]:
    return [
        json.loads(c.profile_json)
        for c in store.commands_of(clock_id)
        if c.kind is CommandKind.UPSERT_WORKER
    ]


async def test_assigning_with_a_role_sends_and_publishes_it(store):
    a, b = store.add_clock(), store.add_clock()
    worker = store.add_worker()
    await assign(store, [(a, worker.id), (b, worker.id)], {(a, worker.id): MANAGER_ROLE})
    assert [p["clock_role"] for p in profiles(store, a)] == ["MANAGER"]
    assert [p["clock_role"] for p in profiles(store, b)] == ["USER"]
    assert sorted(roles_published(store)) == sorted(
        [
            (DEVICE_CLOCKS.name, device_pb2.CLOCK_ROLE_MANAGER),
            (DEVICE_CLOCK_ASSIGNMENTS.name, device_pb2.CLOCK_ROLE_MANAGER),
            (DEVICE_CLOCKS.name, device_pb2.CLOCK_ROLE_USER),
            (DEVICE_CLOCK_ASSIGNMENTS.name, device_pb2.CLOCK_ROLE_USER),
        ]
    )


async def test_a_role_change_requeues_upsert_and_republishes_the_assignment(store):
    a, b = store.add_clock(), store.add_clock()
    worker = store.add_worker()
    await assign(store, [(a, worker.id), (b, worker.id)])
    store.published.clear()
    result = await assign(store, [(a, worker.id)], {(a, worker.id): ADMIN_ROLE})
    assert result == admin.AssignmentsChanged(0, 0, 1, roles_changed=1)
    # The pending UPSERT collapsed into the new one, which carries the new role.
    assert [p["clock_role"] for p in profiles(store, a)] == ["ADMINISTRATOR"]
    assert [p["clock_role"] for p in profiles(store, b)] == ["USER"]
    assert roles_published(store) == [
        (DEVICE_CLOCKS.name, device_pb2.CLOCK_ROLE_ADMINISTRATOR),
        (DEVICE_CLOCK_ASSIGNMENTS.name, device_pb2.CLOCK_ROLE_ADMINISTRATOR),
    ]
    # The same role again, or no role: nothing.
    store.published.clear()
    assert await assign(store, [(a, worker.id)], {(a, worker.id): ADMIN_ROLE}) == (
        admin.AssignmentsChanged(0, 0, 0)
    )
    assert await assign(store, [(a, worker.id)]) == admin.AssignmentsChanged(0, 0, 0)
    assert store.published == []
    assert store.assignments[(a, worker.id)].clock_role is ADMIN_ROLE


async def test_a_manager_may_not_grant_administrator_and_nothing_changes(store):
    clock = store.add_clock("north")
    worker = store.add_worker("north")
    with pytest.raises(Forbidden) as refused:
        await assign(store, [(clock, worker.id)], {(clock, worker.id): ADMIN_ROLE}, MANAGER)
    assert (refused.value.code, refused.value.field) == ("CLOCK_ROLE_NOT_ALLOWED", "clock_role")
    assert store.assignments == {} and store.queue == []
    await assign(store, [(clock, worker.id)], {(clock, worker.id): MANAGER_ROLE}, MANAGER)
    assert store.assignments[(clock, worker.id)].clock_role is MANAGER_ROLE


async def test_cards_from_identity_reach_every_clock_with_each_clocks_role(store):
    a, b = store.add_clock(), store.add_clock()
    worker = store.add_worker()
    await assign(store, [(a, worker.id), (b, worker.id)], {(b, worker.id): MANAGER_ROLE})
    uow = FakeUnitOfWork(store, TENANT)
    event = projection.SetCards(worker_id=worker.id, event_type="test", cards=("900", "0012"))
    await projection.change_worker(event, uow)
    assert [(p["cards"], p["clock_role"]) for p in profiles(store, a)] == [
        (["0012", "900"], "USER")
    ]
    assert [(p["cards"], p["clock_role"]) for p in profiles(store, b)] == [
        (["0012", "900"], "MANAGER")
    ]
    facts, _ = store.workers[worker.id]
    assert facts.cards == ("0012", "900")
    # The same list again changes no profile: nothing more is queued.
    queued = len(store.queue)
    await projection.change_worker(event, uow)
    assert len(store.queue) == queued
