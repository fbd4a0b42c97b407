"""The assignment use cases on fakes: who may assign what, all or nothing, the commands and
events each change queues, site rules, and worker changes reaching the clocks."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from punchcard_device_sync.domain.model import CommandKind, WorkerStatus, canonical
from punchcard_device_sync.service_layer import admin, projection
from punchcard_kit.errors import Conflict, Forbidden, Invalid, NotFound
from punchcard_kit.internal_auth import Caller
from punchcard_kit.messaging.catalogue import DEVICE_CLOCK_ASSIGNMENTS, DEVICE_CLOCKS

from .fakes import FakeUnitOfWork, Store, factory

TENANT = str(uuid.uuid4())
SYSADMIN = Caller(TENANT, "u1", "sysadmin")
MANAGER = Caller(TENANT, "u2", "manager", sites=("north",))
VIEWER = Caller(TENANT, "u3", "viewer")


@pytest.fixture
def store() -> Store:
    return Store()


async def assign(store, pairs=(), unassign=(), caller=SYSADMIN):
    cmd = admin.ChangeAssignments(caller, assign=list(pairs), unassign=list(unassign))
    return await admin.change_assignments(cmd, factory(store))


def kinds(store, clock_id):
    return [c.kind for c in store.commands_of(clock_id)]


def payload_types(store):
    return [(topic, envelope.type.rsplit(".", 1)[-1]) for topic, _, envelope in store.published]


# --- assigning and unassigning ------------------------------------------------------------


async def test_assigning_queues_the_profile_and_publishes_the_assignment(store):
    clock = store.add_clock()
    worker = store.add_worker()
    result = await assign(store, [(clock, worker.id)])
    assert result == admin.AssignmentsChanged(assigned=1, unassigned=0, commands_queued=1)
    [command] = store.commands_of(clock)
    assert command.kind is CommandKind.UPSERT_WORKER
    assert command.profile_json == canonical({**worker.profile(), "clock_role": "USER"})
    assert store.woken == [clock] and store.commits == 1
    assert payload_types(store) == [
        (DEVICE_CLOCKS.name, "WorkerAssignedToClock"),
        (DEVICE_CLOCK_ASSIGNMENTS.name, "ClockAssignment"),
    ]
    keys = [key for _, key, _ in store.published]
    assert keys == [f"{TENANT}/{clock}", f"{TENANT}/{clock}/{worker.id}"]


async def test_assigning_again_changes_nothing(store):
    clock, worker = store.add_clock(), store.add_worker()
    await assign(store, [(clock, worker.id)])
    again = await assign(store, [(clock, worker.id), (clock, worker.id)])
    assert again == admin.AssignmentsChanged(0, 0, 0)
    assert len(store.commands_of(clock)) == 1


async def test_unassigning_removes_and_tombstones(store):
    clock, worker = store.add_clock(), store.add_worker()
    await assign(store, [(clock, worker.id)])
    store.published.clear()
    result = await assign(store, unassign=[(clock, worker.id)])
    assert result == admin.AssignmentsChanged(0, 1, 1)
    # The unacknowledged upsert is replaced by the removal (it carries the full state).
    [command] = store.commands_of(clock)
    assert command.kind is CommandKind.REMOVE_WORKER
    assert (command.worker_id, command.employee_id) == (worker.id, worker.employee_id)
    assert payload_types(store) == [(DEVICE_CLOCKS.name, "WorkerUnassignedFromClock")]
    [tombstone] = store.records
    assert tombstone.topic == DEVICE_CLOCK_ASSIGNMENTS.name and tombstone.value is None
    assert tombstone.key == f"{TENANT}/{clock}/{worker.id}".encode()


async def test_unassigning_what_is_not_assigned_queues_nothing(store):
    clock, worker = store.add_clock(), store.add_worker()
    assert await assign(store, unassign=[(clock, worker.id)]) == admin.AssignmentsChanged(0, 0, 0)
    assert store.queue == [] and store.records == []


async def test_assigned_and_unassigned_in_one_request(store):
    clock, worker, other = store.add_clock(), store.add_worker(), store.add_worker()
    await assign(store, [(clock, other.id)])
    result = await assign(store, [(clock, worker.id)], [(clock, other.id)])
    assert result == admin.AssignmentsChanged(1, 1, 2)
    # (other's own UPSERT, not acknowledged yet, is superseded by its REMOVE)
    assert kinds(store, clock) == [CommandKind.UPSERT_WORKER, CommandKind.REMOVE_WORKER]


async def test_a_direct_unassignment_keeps_a_site_rule_worker(store):
    clock = store.add_clock("north")
    worker = store.add_worker("north")
    await admin.set_site_rule(admin.SetSiteRule(SYSADMIN, "north", True), factory(store))
    assert await assign(store, [(clock, worker.id)]) == admin.AssignmentsChanged(0, 0, 0)
    assert await assign(store, unassign=[(clock, worker.id)]) == admin.AssignmentsChanged(0, 0, 0)
    assert kinds(store, clock) == [CommandKind.UPSERT_WORKER]


async def test_an_inactive_worker_may_be_unassigned_without_a_command(store):
    clock, worker = store.add_clock(), store.add_worker()
    await assign(store, [(clock, worker.id)])
    facts, profile = store.workers[worker.id]
    store.workers[worker.id] = (replace(facts, status=WorkerStatus.INACTIVE), profile)
    assert await assign(store, unassign=[(clock, worker.id)]) == admin.AssignmentsChanged(0, 1, 0)


# --- all or nothing -----------------------------------------------------------------------


async def test_an_unknown_worker_is_worker_not_found_and_nothing_changes(store):
    clock, worker = store.add_clock(), store.add_worker()
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as error:
        await assign(store, [(clock, worker.id), (clock, unknown)])
    assert (error.value.code, error.value.field) == ("WORKER_NOT_FOUND", "worker_id")
    assert "try again" in error.value.message
    assert store.assignments == {} and store.queue == [] and store.commits == 0


async def test_a_worker_created_a_moment_ago_is_waited_for_then_assigned(store):
    """identity's event about the new worker reaches device-sync while the request waits
    (PROJECTION_WAIT_S): the assignment is made, once, instead of a 404 "try again"."""
    clock, arriving = store.add_clock(), store.add_worker()
    facts = store.workers.pop(arriving.id)
    opened = []

    def uow(tenant_id):
        opened.append(tenant_id)
        if len(opened) == 3:  # two refusals, then the event has been projected
            store.workers[arriving.id] = facts
        return FakeUnitOfWork(store, tenant_id)

    cmd = admin.ChangeAssignments(SYSADMIN, assign=[(clock, arriving.id)], worker_wait_s=5)
    result = await admin.change_assignments(cmd, uow)
    assert result == admin.AssignmentsChanged(assigned=1, unassigned=0, commands_queued=1)
    assert len(opened) == 3 and store.commits == 1
    # Without the wait (and for a worker that never comes): the 404 at once.
    with pytest.raises(NotFound):
        await admin.change_assignments(
            admin.ChangeAssignments(SYSADMIN, assign=[(clock, str(uuid.uuid4()))]), uow
        )
    assert len(opened) == 4


async def test_an_inactive_worker_is_not_assigned(store):
    clock = store.add_clock()
    worker = store.add_worker(status=WorkerStatus.INACTIVE)
    with pytest.raises(Conflict) as error:
        await assign(store, [(clock, worker.id)])
    assert error.value.code == "WORKER_INACTIVE"
    assert error.value.message == f"worker {worker.id} is Inactive"


async def test_an_unknown_clock_names_its_side(store):
    worker = store.add_worker()
    unknown = str(uuid.uuid4())
    for pairs, unassign, field in (
        ([(unknown, worker.id)], [], "assign"),
        ([], [(unknown, worker.id)], "unassign"),
    ):
        with pytest.raises(NotFound) as error:
            await assign(store, pairs, unassign)
        assert error.value.code == "CLOCK_NOT_FOUND" and error.value.field == field
        assert error.value.message == f"clock {unknown} not found"


async def test_a_pair_in_the_path_names_its_clock_id(store):
    # PUT/DELETE /clocks/{clock_id}/workers/{worker_id}: the request has no "assign" field.
    worker = store.add_worker()
    unknown = str(uuid.uuid4())
    for cmd in (
        admin.ChangeAssignments(SYSADMIN, assign=[(unknown, worker.id)], from_path=True),
        admin.ChangeAssignments(SYSADMIN, unassign=[(unknown, worker.id)], from_path=True),
    ):
        with pytest.raises(NotFound) as error:
            await admin.change_assignments(cmd, factory(store))
        assert (error.value.code, error.value.field) == ("CLOCK_NOT_FOUND", "clock_id")


async def test_a_revoked_clock_gets_no_new_worker_but_may_lose_one(store):
    clock, worker = store.add_clock(), store.add_worker()
    await assign(store, [(clock, worker.id)])
    store.clocks[clock] = replace(store.clocks[clock], revoked_at=datetime.now(UTC))
    with pytest.raises(Conflict) as error:
        await assign(store, [(clock, store.add_worker().id)])
    assert (error.value.code, error.value.field) == ("CLOCK_REVOKED", "assign")
    # Unassigning from a revoked clock is allowed; the clock gets nothing.
    assert await assign(store, unassign=[(clock, worker.id)]) == admin.AssignmentsChanged(0, 1, 0)


async def test_too_many_pairs(store):
    pairs = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(admin.MAX_BULK_PAIRS + 1)]
    with pytest.raises(Invalid) as error:
        await assign(store, pairs)
    assert (error.value.code, error.value.field) == ("TOO_MANY", "assign")
    with pytest.raises(Invalid) as error:
        await assign(store, unassign=pairs)
    assert (error.value.code, error.value.field) == ("TOO_MANY", "unassign")


async def test_a_pair_both_assigned_and_unassigned_changes_nothing(store):
    """Assigned and unassigned in one change, a pair's end state depends on an order the
    request does not state (and its clock was sent a profile, then its removal): refused."""
    clock = store.add_clock()
    kept, both = store.add_worker(), store.add_worker()
    with pytest.raises(Invalid) as error:
        await assign(store, [(clock, kept.id), (clock, both.id)], unassign=[(clock, both.id)])
    assert (error.value.code, error.value.field) == ("ASSIGNED_AND_UNASSIGNED", "unassign")
    assert store.commands_of(clock) == [] and store.published == [] and store.commits == 0


async def test_the_pair_limit_is_each_lists_as_the_openapi_declares_it(store):
    """A change within each list's maxItems is not refused for its size (the limit was on
    both lists together, which no JSON Schema states: a schema-valid request was refused)."""
    clock = store.add_clock()
    worker = store.add_worker()
    unknown = [(clock, str(uuid.uuid4())) for _ in range(admin.MAX_BULK_PAIRS)]
    changed = await assign(store, [(clock, worker.id)], unassign=unknown)
    assert changed.assigned == 1


# --- who may ------------------------------------------------------------------------------


async def test_a_viewer_assigns_nothing(store):
    clock, worker = store.add_clock(), store.add_worker()
    with pytest.raises(Forbidden):
        await assign(store, [(clock, worker.id)], caller=VIEWER)


async def test_a_manager_assigns_workers_of_their_sites_to_clocks_of_their_sites(store):
    north, south = store.add_clock("north"), store.add_clock("south")
    mine, theirs = store.add_worker("north"), store.add_worker("south")
    assert await assign(store, [(north, mine.id)], caller=MANAGER) == admin.AssignmentsChanged(
        1, 0, 1
    )
    with pytest.raises(NotFound) as error:  # another site's clock is not seen at all
        await assign(store, [(south, mine.id)], caller=MANAGER)
    assert error.value.code == "CLOCK_NOT_FOUND"
    with pytest.raises(Forbidden) as forbidden:
        await assign(store, [(north, theirs.id)], caller=MANAGER)
    assert (forbidden.value.code, forbidden.value.field) == ("SITE_NOT_MANAGED", "worker_id")


# --- site rules and clocks moving ---------------------------------------------------------


async def test_a_site_rule_puts_the_sites_active_workers_on_its_live_clocks(store):
    a, b = store.add_clock("north"), store.add_clock("north")
    store.add_clock("north", revoked=True)
    store.add_clock("south")
    w1, w2 = store.add_worker("north"), store.add_worker("north")
    store.add_worker("north", status=WorkerStatus.PENDING)
    store.add_worker("south")
    result = await admin.set_site_rule(admin.SetSiteRule(SYSADMIN, "north", True), factory(store))
    assert result == admin.SiteRuleSet("north", True, assigned=4, unassigned=0)
    for clock in (a, b):
        assert sorted(c.worker_id for c in store.commands_of(clock)) == sorted([w1.id, w2.id])
    off = await admin.set_site_rule(admin.SetSiteRule(SYSADMIN, "north", False), factory(store))
    assert off == admin.SiteRuleSet("north", False, assigned=0, unassigned=4)
    assert kinds(store, a) == [CommandKind.REMOVE_WORKER] * 2
    # Each switch took its site before setting the rule (the site's changes one at a time).
    assert store.site_rule_calls == ["lock", "set", "lock", "set"]
    assert store.site_locks == [["north"], ["north"]]


async def test_only_a_sysadmin_sets_site_rules(store):
    with pytest.raises(Forbidden):
        await admin.set_site_rule(admin.SetSiteRule(MANAGER, "north", True), factory(store))


async def test_a_clock_registered_at_a_rule_site_gets_its_workers(store):
    worker = store.add_worker("north")
    store.site_rules["north"] = True
    registered = await admin.register_clock(
        admin.RegisterClock(SYSADMIN, "SN1", "Door", "north", "Europe/Madrid"), factory(store)
    )
    assert registered.credential.startswith(f"pcc_{registered.clock_id}_")
    [command] = store.commands_of(registered.clock_id)
    assert command.worker_id == worker.id and command.kind is CommandKind.UPSERT_WORKER
    assert store.site_rule_calls[:2] == ["lock", "read"] and store.site_locks[0] == ["north"]
    with pytest.raises(Conflict) as error:
        await admin.register_clock(
            admin.RegisterClock(SYSADMIN, "SN1", "Door 2", "", "UTC"), factory(store)
        )
    assert error.value.code == "DUPLICATE_SERIAL_NUMBER"


async def test_a_clock_moved_off_a_rule_site_loses_its_workers(store):
    store.site_rules["north"] = True
    worker = store.add_worker("north")
    registered = await admin.register_clock(
        admin.RegisterClock(SYSADMIN, "SN1", "Door", "north", "UTC"), factory(store)
    )
    await admin.update_clock(
        admin.UpdateClock(SYSADMIN, registered.clock_id, site_id="south"), factory(store)
    )
    assert [(c.kind, c.worker_id) for c in store.commands_of(registered.clock_id)] == [
        (CommandKind.REMOVE_WORKER, worker.id)
    ]
    assert store.site_locks[-1] == ["north", "south"]  # the site it left and the one it joined


async def test_a_bad_time_zone_is_refused(store):
    with pytest.raises(Invalid) as error:
        await admin.register_clock(
            admin.RegisterClock(SYSADMIN, "SN1", "Door", "", "Mars/Olympus"), factory(store)
        )
    assert (error.value.code, error.value.field) == ("INVALID_TIME_ZONE", "time_zone")


async def test_a_resync_queues_the_roster_and_a_revoked_clock_refuses(store):
    clock, worker = store.add_clock(), store.add_worker()
    await assign(store, [(clock, worker.id)])
    queued = await admin.request_resync(admin.RequestResync(SYSADMIN, clock), factory(store))
    assert queued == 2
    assert kinds(store, clock) == [CommandKind.FULL_RESYNC, CommandKind.UPSERT_WORKER]
    await admin.revoke_clock(admin.RevokeClock(SYSADMIN, clock, "stolen"), factory(store))
    assert store.credentials_changed == [clock]
    with pytest.raises(Conflict) as error:
        await admin.request_resync(admin.RequestResync(SYSADMIN, clock), factory(store))
    assert error.value.code == "CLOCK_REVOKED"


# --- worker changes reach the clocks (the same rule) --------------------------------------


def event(cls, worker_id, **kw):
    return cls(worker_id=worker_id, event_type="test", **kw)


async def test_a_deactivated_worker_leaves_every_clock_and_comes_back(store):
    a, b = store.add_clock(), store.add_clock()
    worker = store.add_worker()
    await assign(store, [(a, worker.id), (b, worker.id)])
    uow = FakeUnitOfWork(store, TENANT)
    await projection.change_worker(
        event(projection.ChangeWorkerStatus, worker.id, status=WorkerStatus.INACTIVE), uow
    )
    assert kinds(store, a) == kinds(store, b) == [CommandKind.REMOVE_WORKER]
    await projection.change_worker(
        event(projection.ChangeWorkerStatus, worker.id, status=WorkerStatus.ACTIVE), uow
    )
    assert kinds(store, a) == [CommandKind.UPSERT_WORKER]


async def test_a_worker_moved_to_a_rule_site_joins_its_clocks(store):
    store.site_rules["north"] = True
    clock = store.add_clock("north")
    worker = store.add_worker("south")
    uow = FakeUnitOfWork(store, TENANT)
    await projection.change_worker(
        event(
            projection.UpdateWorker,
            worker.id,
            employee_id=worker.employee_id,
            display_name=worker.display_name,
            site_id="north",
        ),
        uow,
    )
    assert [(c.kind, c.worker_id) for c in store.commands_of(clock)] == [
        (CommandKind.UPSERT_WORKER, worker.id)
    ]
    assert payload_types(store)[0] == (DEVICE_CLOCKS.name, "WorkerAssignedToClock")
    # Both sites taken before either rule was read: the one left and the one joined.
    assert store.site_rule_calls[:2] == ["lock", "read"]
    assert store.site_locks == [["north", "south"]]


async def test_every_change_of_a_worker_takes_their_site_before_reading_its_rule(store):
    worker = store.add_worker("north")
    uow = FakeUnitOfWork(store, TENANT)
    await projection.change_worker(event(projection.SetPinSet, worker.id, pin_set=True), uow)
    assert store.site_rule_calls == ["lock", "read"]
    assert store.site_locks == [["north"]]
    nowhere = store.add_worker("")
    await projection.change_worker(event(projection.SetPinSet, nowhere.id, pin_set=True), uow)
    assert store.site_locks[-1] == []  # no site, no rule: nothing to take


async def test_a_face_flag_before_the_registration_is_kept(store):
    worker_id = str(uuid.uuid4())
    uow = FakeUnitOfWork(store, TENANT)
    await projection.set_face_enrolled(
        event(projection.SetFaceEnrolled, worker_id, enrolled=True), uow
    )
    assert store.workers[worker_id] == (None, None) and store.face_flags[worker_id] is True
    await projection.register_worker(
        event(
            projection.RegisterWorker,
            worker_id,
            employee_id="E9",
            display_name="Zoë",
            status=WorkerStatus.ACTIVE,
            site_id="",
            pin_allowed=True,
        ),
        uow,
    )
    facts, _ = store.workers[worker_id]
    assert facts.face_enrolled is True and facts.pin_set is False


async def test_an_event_for_an_unregistered_worker_is_ignored(store):
    worker_id = str(uuid.uuid4())
    await projection.change_worker(
        event(projection.SetPinSet, worker_id, pin_set=True), FakeUnitOfWork(store, TENANT)
    )
    assert store.workers[worker_id] == (None, None) and store.queue == []
