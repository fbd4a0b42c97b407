"""Badge-card attempts at a kiosk: the rule (``domain.card_attempts.decide_card_attempt``, whose
first checks are the PIN rule's, ``identify_at_clock``) and the use case
(``service_layer.verification.CardIdentifier``) on fakes: the card opens with the PIN opener,
names its worker in the tenant, and the answer never tells whether a card exists."""

from __future__ import annotations

import uuid

import pytest
from punchcard.v1 import common_pb2, identification_pb2, kiosk_pb2
from punchcard_identity.domain.card_attempts import CardAttemptFacts, decide_card_attempt
from punchcard_identity.domain.model import Worker, WorkerStatus
from punchcard_identity.domain.pin_attempts import INACTIVE, UNKNOWN_USER, Identified, Reject
from punchcard_identity.service_layer.verification import (
    CardIdentifier,
    IdentifyCardAttempt,
)

from .fakes import FakeOpener, FakeUnitOfWork
from .test_verification import NOW, TENANT
from .test_verification import Kiosk as PinKiosk

ACTIVE = WorkerStatus.ACTIVE


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (CardAttemptFacts(False, True, True, ACTIVE), Reject(UNKNOWN_USER, count_unknown=True)),
        (CardAttemptFacts(True, False), Reject(UNKNOWN_USER, count_unknown=True)),
        (CardAttemptFacts(True, True, False, ACTIVE), Reject(UNKNOWN_USER, count_unknown=True)),
        (CardAttemptFacts(True, True, True, WorkerStatus.INACTIVE), Reject(INACTIVE)),
        (CardAttemptFacts(True, True, True, WorkerStatus.PENDING), Reject(INACTIVE)),
        (CardAttemptFacts(True, True, True, ACTIVE), Identified()),
    ],
)
def test_the_card_rule(facts, expected):
    assert decide_card_attempt(facts) == expected


class Kiosk(PinKiosk):
    """The PIN tests' workers and fakes, and a card identifier on them."""

    def __init__(self) -> None:
        super().__init__()
        self.identifier = CardIdentifier(
            opener=FakeOpener(), counters=self.counters, sleep=self.verifier.sleep
        )

    def card_holder(
        self, card: str, *, status: WorkerStatus = ACTIVE, clocks: tuple[str, ...] = ("c1",)
    ) -> Worker:
        worker = self.worker(f"E{len(self.store.workers)}", None, status=status, clocks=clocks)
        self.store.cards[(TENANT, card)] = (worker.id, NOW)
        return worker

    async def read(
        self, card: str, clock_id: str = "c1", *, attempt_id: str = "", sealed: bytes = b""
    ):
        attempt_id = attempt_id or str(uuid.uuid4())
        context = kiosk_pb2.PunchAttemptContext(attempt_id=attempt_id, clock_id=clock_id)
        attempt = kiosk_pb2.CardPunchAttempted(context=context)
        attempt.sealed_card.recipient_key_id = "k1"
        attempt.sealed_card.ciphertext = sealed or f"{attempt_id}:{card}".encode()
        command = IdentifyCardAttempt(TENANT, attempt, correlation_id="corr", causation_id="ev")
        async with FakeUnitOfWork(self.store, TENANT, consumer=True) as uow:
            return await self.identifier.identify(command, uow)


@pytest.fixture
def kiosk() -> Kiosk:
    return Kiosk()


async def test_a_card_of_the_tenant_identifies_its_worker_with_method_card(kiosk):
    ada = kiosk.card_holder("0042")
    verdict = await kiosk.read("0042")
    assert isinstance(verdict, identification_pb2.WorkerIdentified)
    assert verdict.worker_id == ada.id and verdict.method == common_pb2.PUNCH_METHOD_CARD
    assert verdict.checked_active and verdict.checked_assigned  # what punch need not recheck
    [(_, key, envelope)] = kiosk.verdicts()
    assert key == f"{TENANT}/{ada.id}"
    assert envelope.producer == "identity" and envelope.correlation_id == "corr"
    assert await kiosk.counters.clock_counts(TENANT, "c1") == (0, 0)


@pytest.mark.parametrize(
    "case",
    ["unknown card", "leading zero dropped", "another tenant's card", "not assigned", "sealed "
     "for another attempt", "not a card number"],
)  # fmt: skip
async def test_anything_but_a_card_of_a_worker_of_the_clock_is_unknown_user(kiosk, case):
    kiosk.card_holder("0042", clocks=("c2",) if case == "not assigned" else ("c1",))
    kiosk.store.cards[("t2", "777")] = (str(uuid.uuid4()), NOW)  # another tenant's card
    card = {
        "unknown card": "9999",
        "leading zero dropped": "42",
        "another tenant's card": "777",
        "not a card number": "0042x",
    }.get(case, "0042")
    sealed = b"another-attempt:0042" if case.startswith("sealed") else b""
    verdict = await kiosk.read(card, attempt_id="a-1", sealed=sealed)
    assert isinstance(verdict, identification_pb2.IdentificationRejected)
    assert verdict.reason == common_pb2.REJECT_REASON_UNKNOWN_USER and verdict.worker_id == ""
    assert verdict.method == common_pb2.PUNCH_METHOD_CARD
    # Counted with the clock's unknown IDs (the PIN path's counter); keyed by the attempt.
    assert await kiosk.counters.clock_counts(TENANT, "c1") == (1, 0)
    [(_, key, _)] = kiosk.verdicts()
    assert key == f"{TENANT}/a-1"


async def test_a_holder_assigned_a_moment_ago_is_looked_up_again_and_identified(kiosk):
    ada = kiosk.card_holder("0042", clocks=())
    kiosk.meanwhile = lambda: kiosk.store.assignments.add((TENANT, "c1", ada.id))
    verdict = await kiosk.read("0042")
    assert isinstance(verdict, identification_pb2.WorkerIdentified)
    assert verdict.worker_id == ada.id and kiosk.slept == [0.25]  # the assignment grace
    assert await kiosk.counters.clock_counts(TENANT, "c1") == (0, 0)


async def test_an_inactive_workers_card_is_rejected_as_inactive_and_not_counted(kiosk):
    ada = kiosk.card_holder("5", status=WorkerStatus.INACTIVE)
    verdict = await kiosk.read("5")
    assert verdict.reason == common_pb2.REJECT_REASON_INACTIVE and verdict.worker_id == ada.id
    assert await kiosk.counters.clock_counts(TENANT, "c1") == (0, 0)


async def test_an_attempt_redelivered_is_counted_once(kiosk):
    await kiosk.read("1", attempt_id="a-1")
    await kiosk.read("1", attempt_id="a-1")
    assert await kiosk.counters.clock_counts(TENANT, "c1") == (1, 0)
