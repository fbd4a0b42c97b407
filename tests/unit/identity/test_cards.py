"""Badge / proximity cards: the rules (domain.cards) and the use cases (service_layer.cards)
on fakes — who may change them, uniqueness per tenant, idempotence, and the full sorted list
each change publishes."""

from __future__ import annotations

import pytest
from punchcard.v1 import identity_pb2
from punchcard_identity.domain.cards import (
    MAX_CARDS_PER_WORKER,
    adds_card,
    card_list,
    check_card_number,
)
from punchcard_identity.domain.model import WorkerStatus
from punchcard_identity.service_layer import cards as cards_uc
from punchcard_identity.service_layer import workers as uc
from punchcard_identity.views import list_cards
from punchcard_kit.errors import DomainError
from punchcard_kit.http_errors import status_of
from punchcard_kit.internal_auth import Caller

from .fakes import FakeCounters, FakeHasher, FakeUnitOfWork, Store

TENANT = "t1"
ADMIN = Caller(tenant_id=TENANT, user_id="admin", role="sysadmin")
NORTH = Caller(tenant_id=TENANT, user_id="boss", role="manager", sites=("north",))
SOUTH = Caller(tenant_id=TENANT, user_id="other", role="manager", sites=("south",))
VIEWER = Caller(tenant_id=TENANT, user_id="eyes", role="viewer")
OTHER_TENANT = Caller(tenant_id="t2", user_id="admin2", role="sysadmin")


def answer(error: DomainError) -> tuple[int, str, str | None]:
    return status_of(error), error.code, error.field


# --- rules -----------------------------------------------------------------------------------


def test_a_card_list_is_sorted_by_code_point_each_number_once():
    assert card_list(["9", "0012", "10", "9"]) == ["0012", "10", "9"]


@pytest.mark.parametrize("number", ["", "12a", "1" * 21, " 12", "١٢"])
def test_a_card_number_is_digits_only_1_to_20(number):
    with pytest.raises(DomainError) as refused:
        check_card_number(number)
    assert answer(refused.value) == (422, "CARD_FORMAT", "number")


def test_adding_a_held_card_changes_nothing_and_the_count_is_bounded():
    assert adds_card(["1", "2"], "3") is True
    assert adds_card(["1", "2"], "2") is False
    full = [str(n) for n in range(MAX_CARDS_PER_WORKER)]
    assert adds_card(full, "0") is False  # a repeat is never refused
    with pytest.raises(DomainError) as refused:
        adds_card(full, "99")
    assert answer(refused.value) == (409, "TOO_MANY_CARDS", "number")


# --- use cases -------------------------------------------------------------------------------


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def s(store) -> uc.Services:
    return uc.Services(
        uow=lambda tenant: FakeUnitOfWork(store, tenant),
        hasher=FakeHasher(),
        counters=FakeCounters(),
    )


async def _worker(s, caller=ADMIN, employee_id="E1", site_id="north"):
    command = uc.RegisterWorker(employee_id, "Ada", site_id=site_id, status=WorkerStatus.ACTIVE)
    return await uc.register_worker(s, caller, command)


def cards_events(store: Store) -> list[tuple[str, str, list[str]]]:
    found = []
    for topic, key, envelope in store.outbox:
        if envelope.type == "punchcard.v1.WorkerCardsChanged":
            event = identity_pb2.WorkerCardsChanged()
            envelope.payload.Unpack(event)
            found.append((topic, key, list(event.cards)))
    return found


async def test_each_change_publishes_the_full_sorted_list_keyed_by_the_worker(s, store):
    ada = await _worker(s)
    await cards_uc.add_card(s, ADMIN, cards_uc.AddCard(ada.id, "500"))
    await cards_uc.add_card(s, NORTH, cards_uc.AddCard(ada.id, "0042"))
    await cards_uc.remove_card(s, ADMIN, cards_uc.RemoveCard(ada.id, "500"))
    key = f"{TENANT}/{ada.id}"
    topic = "punchcard.identity.workers.v1"
    assert cards_events(store) == [
        (topic, key, ["500"]),
        (topic, key, ["0042", "500"]),
        (topic, key, ["0042"]),
    ]
    assert [c.number for c in await list_cards(s, VIEWER, ada.id)] == ["0042"]


async def test_the_same_card_again_is_idempotent_and_publishes_nothing(s, store):
    ada = await _worker(s)
    first = await cards_uc.add_card(s, ADMIN, cards_uc.AddCard(ada.id, "77"))
    again = await cards_uc.add_card(s, ADMIN, cards_uc.AddCard(ada.id, "77"))
    assert again == first
    assert len(cards_events(store)) == 1


async def test_another_workers_card_is_409_and_nothing_changes(s, store):
    ada = await _worker(s)
    bob = await _worker(s, employee_id="E2")
    await cards_uc.add_card(s, ADMIN, cards_uc.AddCard(ada.id, "77"))
    with pytest.raises(DomainError) as refused:
        await cards_uc.add_card(s, ADMIN, cards_uc.AddCard(bob.id, "77"))
    assert answer(refused.value) == (409, "DUPLICATE_CARD", "number")
    assert await list_cards(s, ADMIN, bob.id) == []
    assert len(cards_events(store)) == 1


async def test_another_tenant_may_use_the_same_number(s):
    ada = await _worker(s)
    zed = await _worker(s, caller=OTHER_TENANT)
    await cards_uc.add_card(s, ADMIN, cards_uc.AddCard(ada.id, "77"))
    await cards_uc.add_card(s, OTHER_TENANT, cards_uc.AddCard(zed.id, "77"))
    assert [c.number for c in await list_cards(s, OTHER_TENANT, zed.id)] == ["77"]
    # ...and neither tenant sees the other's worker.
    with pytest.raises(DomainError) as hidden:
        await list_cards(s, OTHER_TENANT, ada.id)
    assert status_of(hidden.value) == 404


async def test_roles_viewers_read_managers_of_other_sites_do_not_see_the_worker(s, store):
    ada = await _worker(s)
    with pytest.raises(DomainError) as viewer:
        await cards_uc.add_card(s, VIEWER, cards_uc.AddCard(ada.id, "1"))
    assert answer(viewer.value) == (403, "FORBIDDEN", None)
    with pytest.raises(DomainError) as south:
        await cards_uc.add_card(s, SOUTH, cards_uc.AddCard(ada.id, "1"))
    assert status_of(south.value) == 404
    with pytest.raises(DomainError) as south_read:
        await list_cards(s, SOUTH, ada.id)
    assert status_of(south_read.value) == 404
    assert cards_events(store) == []


async def test_deleting_a_card_the_worker_does_not_hold_is_404(s, store):
    ada = await _worker(s)
    bob = await _worker(s, employee_id="E2")
    await cards_uc.add_card(s, ADMIN, cards_uc.AddCard(bob.id, "5"))
    with pytest.raises(DomainError) as refused:
        await cards_uc.remove_card(s, ADMIN, cards_uc.RemoveCard(ada.id, "5"))
    assert answer(refused.value) == (404, "CARD_NOT_FOUND", "number")
    assert [c.number for c in await list_cards(s, ADMIN, bob.id)] == ["5"]
    assert len(cards_events(store)) == 1
