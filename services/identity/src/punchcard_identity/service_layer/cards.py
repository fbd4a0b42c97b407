"""Admin use cases: a worker's badge / proximity cards. A sysadmin, or a manager of the
worker's site, adds and deletes them (another site's worker is not found); each change
publishes the worker's full sorted list (``WorkerCardsChanged``) through the outbox in the
same transaction, so device-sync can send it to the worker's clocks. Reading is
``views.list_cards``."""

from __future__ import annotations

from dataclasses import dataclass

from punchcard.v1 import identity_pb2
from punchcard_kit.access import WRITERS, require_role
from punchcard_kit.caller import Caller
from punchcard_kit.logging import get_logger

from ..domain.cards import Card, adds_card, card_list, card_not_found, check_card_number
from .unit_of_work import UnitOfWork
from .workers import Services, emit, load_worker

log = get_logger(__name__)


@dataclass(frozen=True)
class AddCard:
    worker_id: str
    number: str


@dataclass(frozen=True)
class RemoveCard:
    worker_id: str
    number: str


async def _changed(uow: UnitOfWork, caller: Caller, worker_id: str) -> None:
    cards = card_list(c.number for c in await uow.cards.of_worker(worker_id))
    payload = identity_pb2.WorkerCardsChanged(worker_id=worker_id, cards=cards)
    await emit(uow, caller.tenant_id, worker_id, payload, caller)


async def add_card(s: Services, caller: Caller, command: AddCard) -> Card:
    """The card as held (idempotent: the worker's own card again changes nothing). 409
    ``DUPLICATE_CARD`` when another worker of the tenant holds it."""
    require_role(caller, *WRITERS)
    check_card_number(command.number)
    async with s.uow(caller.tenant_id) as uow:
        # The worker's row lock serialises changes of their cards (the limit holds).
        worker = await load_worker(uow, caller, command.worker_id, for_update=True)
        held = await uow.cards.of_worker(worker.id)
        if adds_card((c.number for c in held), command.number):
            await uow.cards.add(worker.id, command.number, s.clock())
            await _changed(uow, caller, worker.id)
            log.info("card added", worker_id=worker.id)
        card = next(c for c in await uow.cards.of_worker(worker.id) if c.number == command.number)
        await uow.commit()
    return card


async def remove_card(s: Services, caller: Caller, command: RemoveCard) -> None:
    """404 ``CARD_NOT_FOUND`` when the worker does not hold the card."""
    require_role(caller, *WRITERS)
    check_card_number(command.number)
    async with s.uow(caller.tenant_id) as uow:
        worker = await load_worker(uow, caller, command.worker_id, for_update=True)
        if not await uow.cards.remove(worker.id, command.number):
            raise card_not_found()
        await _changed(uow, caller, worker.id)
        await uow.commit()
    log.info("card removed", worker_id=worker.id)
