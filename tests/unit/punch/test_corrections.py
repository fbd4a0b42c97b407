"""The rules of admin corrections (add, void, replace), on fakes: who may correct, where a
correction counts (clock, site, time zone), a punch voided once, and each change's event
committed with it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from punchcard_kit.errors import Conflict, Forbidden, Invalid, NotFound
from punchcard_kit.internal_auth import Caller
from punchcard_kit.messaging import catalogue
from punchcard_punch.domain.decisions import check_correction_time
from punchcard_punch.service_layer import admin

from .fakes import FakeUnitOfWork, Store

TENANT = str(uuid.uuid4())
WORKER = str(uuid.uuid4())
CLOCK = str(uuid.uuid4())
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def caller(role: str = "sysadmin", sites: tuple[str, ...] = ()) -> Caller:
    return Caller(tenant_id=TENANT, user_id=str(uuid.uuid4()), role=role, sites=sites)


@pytest.fixture
def store() -> Store:
    store = Store()
    store.worker(TENANT, WORKER, site_id="site-1")
    store.clock(TENANT, CLOCK, site_id="site-1", time_zone="Europe/Madrid")
    return store


def uow(store: Store) -> FakeUnitOfWork:
    return FakeUnitOfWork(store, TENANT)


def add(who: Caller, **kw) -> admin.AddPunch:
    return admin.AddPunch(
        **{
            "caller": who,
            "worker_id": WORKER,
            "direction": "IN",
            "punched_at": AT,
            "reason": "forgot to punch",
            **kw,
        }
    )


async def test_an_added_punch_is_a_correction_with_its_event(store):
    who = caller()
    punch_id = (await admin.add_punch(add(who, clock_id=CLOCK), uow(store))).punch_id
    (row,) = store.punches
    assert row["id"] == punch_id and row["kind"] == "CORRECTION" and row["method"] == "MANUAL"
    assert (row["site_id"], row["time_zone"]) == ("site-1", "Europe/Madrid")
    assert row["admin_id"] == who.user_id and row["refers_to"] is None
    (topic, key, envelope) = store.published[0]
    assert topic == catalogue.PUNCH_PUNCHES.name and key == f"{TENANT}/{WORKER}"
    assert envelope.correlation_id == who.request_id
    assert store.commits == 1


async def test_without_a_clock_a_correction_counts_at_the_workers_site_in_a_clocks_zone(store):
    await admin.add_punch(add(caller()), uow(store))
    assert (store.punches[0]["site_id"], store.punches[0]["time_zone"]) == (
        "site-1",
        "Europe/Madrid",
    )


async def test_a_site_without_a_clock_needs_the_time_zone(store):
    with pytest.raises(Invalid) as error:
        await admin.add_punch(add(caller(), site_id="site-2"), uow(store))
    assert (error.value.code, error.value.field) == ("INVALID", "time_zone")
    assert error.value.message == "give the clock or the time zone of the punch"
    await admin.add_punch(add(caller(), site_id="site-2", time_zone="Asia/Tokyo"), uow(store))
    assert store.punches[0]["time_zone"] == "Asia/Tokyo"


async def test_an_unknown_time_zone_is_refused(store):
    with pytest.raises(Invalid) as error:
        await admin.add_punch(add(caller(), site_id="site-1", time_zone="Mars/Base"), uow(store))
    assert error.value.message == "unknown time zone 'Mars/Base'"
    assert error.value.field == "time_zone" and not store.punches


async def test_unknown_worker_and_clock(store):
    with pytest.raises(NotFound) as error:
        await admin.add_punch(add(caller(), worker_id=str(uuid.uuid4())), uow(store))
    assert (error.value.code, error.value.field) == ("WORKER_NOT_FOUND", "worker_id")
    with pytest.raises(NotFound) as error:
        await admin.add_punch(add(caller(), clock_id=str(uuid.uuid4())), uow(store))
    assert (error.value.code, error.value.field) == ("CLOCK_NOT_FOUND", "clock_id")


async def test_a_worker_punch_has_not_learnt_yet_is_waited_for(store):
    # Created at identity a moment ago: its event reaches punch while the correction waits.
    fresh = str(uuid.uuid4())

    async def arrives():
        await asyncio.sleep(0.05)
        store.worker(TENANT, fresh, site_id="site-1")

    late = asyncio.create_task(arrives())
    made = await admin.add_punch(add(caller(), worker_id=fresh, projection_wait_s=2), uow(store))
    await late
    assert [row["id"] for row in store.punches] == [made.punch_id]
    assert store.punches[0]["worker_id"] == fresh


def test_a_correction_in_the_future_is_refused_and_now_is_not():
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    policy = admin.Policy()
    assert check_correction_time(now + policy.clock_skew, now, policy) is None
    assert check_correction_time(now - timedelta(days=400), now, policy) is None
    late = now + policy.clock_skew + timedelta(seconds=1)
    assert check_correction_time(late, now, policy) == "PUNCHED_AT_IN_FUTURE"


async def test_a_punch_added_or_moved_into_the_future_changes_nothing(store):
    future = datetime.now(UTC) + timedelta(days=3)
    with pytest.raises(Invalid) as error:
        await admin.add_punch(add(caller(), punched_at=future), uow(store))
    assert (error.value.code, error.value.field) == ("PUNCHED_AT_IN_FUTURE", "punched_at")
    made = await admin.add_punch(add(caller()), uow(store))
    with pytest.raises(Invalid):
        await admin.replace_punch(
            admin.ReplacePunch(caller(), made.punch_id, "typo", punched_at=future), uow(store)
        )
    assert [row["id"] for row in store.punches] == [made.punch_id]


async def test_a_viewer_never_corrects(store):
    with pytest.raises(Forbidden) as error:
        await admin.add_punch(add(caller("viewer")), uow(store))
    assert error.value.code == "FORBIDDEN" and not store.punches


async def test_a_manager_corrects_only_workers_and_sites_of_their_own(store):
    other = str(uuid.uuid4())
    store.worker(TENANT, other, site_id="site-2")
    manager = caller("manager", ("site-1",))
    with pytest.raises(Forbidden) as error:
        await admin.add_punch(add(manager, worker_id=other, clock_id=CLOCK), uow(store))
    assert (error.value.code, error.value.field) == ("SITE_NOT_MANAGED", "worker_id")
    with pytest.raises(Forbidden) as error:
        await admin.add_punch(add(manager, site_id="site-2", time_zone="Europe/Madrid"), uow(store))
    assert (error.value.code, error.value.field) == ("SITE_NOT_MANAGED", "site_id")
    await admin.add_punch(add(manager, clock_id=CLOCK), uow(store))
    assert len(store.punches) == 1


async def test_a_punch_is_voided_once(store):
    who = caller()
    punch_id = (await admin.add_punch(add(who, clock_id=CLOCK), uow(store))).punch_id
    assert (
        await admin.void_punch(admin.VoidPunch(who, punch_id, "wrong"), uow(store))
    ).punch_id == punch_id
    void = store.punches[-1]
    assert void["kind"] == "VOID" and void["refers_to"] == punch_id and void["reason"] == "wrong"
    assert store.published[-1][2].type == "punchcard.v1.PunchVoided"
    with pytest.raises(Conflict) as error:
        await admin.void_punch(admin.VoidPunch(who, punch_id, "again"), uow(store))
    assert error.value.code == "ALREADY_VOIDED"
    assert error.value.message == "this punch has already been voided"
    with pytest.raises(NotFound) as error:  # a VOID entry is not a punch to void
        await admin.void_punch(admin.VoidPunch(who, void["id"], "undo"), uow(store))
    assert error.value.code == "PUNCH_NOT_FOUND"


async def test_a_manager_voids_only_punches_at_their_sites(store):
    punch_id = (await admin.add_punch(add(caller(), clock_id=CLOCK), uow(store))).punch_id
    with pytest.raises(Forbidden) as error:
        await admin.void_punch(
            admin.VoidPunch(caller("manager", ("site-9",)), punch_id, "wrong"), uow(store)
        )
    assert error.value.code == "SITE_NOT_MANAGED" and error.value.field is None


async def test_a_replacement_voids_and_adds_in_one_unit_of_work(store):
    who = caller()
    punch_id = (await admin.add_punch(add(who, clock_id=CLOCK), uow(store))).punch_id
    later = AT.replace(hour=9)
    new_id = (
        await admin.replace_punch(
            admin.ReplacePunch(who, punch_id, "wrong time", punched_at=later), uow(store)
        )
    ).punch_id
    void, replacement = store.punches[-2:]
    assert void["kind"] == "VOID" and void["refers_to"] == punch_id
    assert replacement["id"] == new_id and replacement["refers_to"] == punch_id
    # What is not given is the original's: direction, clock, site, time zone.
    assert (replacement["direction"], replacement["punched_at"]) == ("IN", later)
    assert (replacement["clock_id"], replacement["time_zone"]) == (CLOCK, "Europe/Madrid")
    types = [item[2].type for item in store.published[-2:]]
    assert types == ["punchcard.v1.PunchVoided", "punchcard.v1.PunchCorrected"]
    assert store.commits == 2


async def test_a_refused_replacement_changes_nothing(store):
    who = caller()
    punch_id = (await admin.add_punch(add(who, clock_id=CLOCK), uow(store))).punch_id
    store.clocks.clear()  # the original's clock is no longer known
    before = (list(store.punches), list(store.published))
    with pytest.raises(NotFound):
        await admin.replace_punch(admin.ReplacePunch(who, punch_id, "wrong"), uow(store))
    assert (store.punches, store.published) == before


KEY = "0123456789abcdef0123456789abcdef"


async def test_a_keyed_correction_sent_twice_is_added_once(store):
    """A double click, or the portal retrying after a lost answer: one punch, one event."""
    who = caller()
    made = await admin.add_punch(add(who, clock_id=CLOCK, idempotency_key=KEY), uow(store))
    again = await admin.add_punch(add(who, clock_id=CLOCK, idempotency_key=KEY), uow(store))
    first = made.punch_id
    assert not made.repeated and again == admin.Made(first, repeated=True)
    assert [p["id"] for p in store.punches] == [first]
    assert len(store.published) == 1 and store.commits == 1


async def test_a_key_used_for_another_correction_is_refused(store):
    who = caller()
    await admin.add_punch(add(who, idempotency_key=KEY), uow(store))
    for other in (
        add(who, idempotency_key=KEY, direction="OUT"),
        add(caller(), idempotency_key=KEY),  # another admin
        add(who, idempotency_key=KEY, reason="another reason"),
    ):
        with pytest.raises(Invalid) as error:
            await admin.add_punch(other, uow(store))
        assert (error.value.code, error.value.field) == (
            "IDEMPOTENCY_KEY_REUSED",
            "Idempotency-Key",
        )
    assert len(store.punches) == 1 and len(store.published) == 1


async def test_without_a_key_each_request_is_a_new_correction(store):
    who = caller()
    await admin.add_punch(add(who), uow(store))
    await admin.add_punch(add(who), uow(store))
    assert len(store.punches) == 2


async def test_a_key_belongs_to_its_tenant(store):
    other_tenant = str(uuid.uuid4())
    store.worker(other_tenant, WORKER, site_id="site-1")
    store.clock(other_tenant, CLOCK, site_id="site-1", time_zone="Europe/Madrid")
    mine = (await admin.add_punch(add(caller(), idempotency_key=KEY), uow(store))).punch_id
    theirs = (
        await admin.add_punch(
            add(
                Caller(
                    tenant_id=other_tenant, user_id=str(uuid.uuid4()), role="sysadmin", sites=()
                ),
                idempotency_key=KEY,
            ),
            FakeUnitOfWork(store, other_tenant),
        )
    ).punch_id
    assert mine != theirs and len(store.punches) == 2


async def test_a_refused_keyed_correction_leaves_its_key_unused(store):
    """The key is kept with the punch it made, in the same transaction: a request refused
    (an unknown clock) keeps nothing, and the corrected request with the same key is made."""
    who = caller()
    with pytest.raises(NotFound):
        await admin.add_punch(add(who, clock_id=str(uuid.uuid4()), idempotency_key=KEY), uow(store))
    assert store.requests == {} and store.punches == []
    made = (
        await admin.add_punch(add(who, clock_id=CLOCK, idempotency_key=KEY), uow(store))
    ).punch_id
    assert [p["id"] for p in store.punches] == [made]


async def test_a_keyed_replacement_sent_twice_answers_with_the_same_replacement(store):
    """Without the key the second request would be refused: the original is voided already."""
    who = caller()
    punch_id = (await admin.add_punch(add(who, clock_id=CLOCK), uow(store))).punch_id
    replace = admin.ReplacePunch(
        who, punch_id, "wrong time", punched_at=AT.replace(hour=9), idempotency_key=KEY
    )
    first = await admin.replace_punch(replace, uow(store))
    assert not first.repeated
    assert await admin.replace_punch(replace, uow(store)) == admin.Made(first.punch_id, True)
    assert [p["kind"] for p in store.punches] == ["CORRECTION", "VOID", "CORRECTION"]
    with pytest.raises(Conflict):  # the same replacement without its key: a second one
        await admin.replace_punch(
            admin.ReplacePunch(who, punch_id, "wrong time", punched_at=AT.replace(hour=9)),
            uow(store),
        )


async def test_a_keyed_void_sent_twice_answers_with_the_voided_punch(store):
    who = caller()
    punch_id = (await admin.add_punch(add(who, clock_id=CLOCK), uow(store))).punch_id
    void = admin.VoidPunch(who, punch_id, "test punch", idempotency_key=KEY)
    assert await admin.void_punch(void, uow(store)) == admin.Made(punch_id)
    assert await admin.void_punch(void, uow(store)) == admin.Made(punch_id, repeated=True)
    assert [p["kind"] for p in store.punches] == ["CORRECTION", "VOID"]
    with pytest.raises(Conflict):  # without its key: ALREADY_VOIDED, as before
        await admin.void_punch(admin.VoidPunch(who, punch_id, "test punch"), uow(store))
