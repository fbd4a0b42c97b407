"""Badge-card attempts at the kiosk edge (``method: "CARD"``, a card reader typing the number):
validated by the kit's card rule with a fixed message, sealed like a PIN, published only as the
sealed box on the card-attempts topic keyed by the clock (never by the number), left out of
the claim's fingerprint, and answered with the punch's method CARD."""

from __future__ import annotations

import json
import uuid

import pytest
from punchcard.v1 import common_pb2, kiosk_pb2, punch_pb2
from punchcard_gateway.domain.kiosk import Attempt, Clock, answer
from punchcard_gateway.domain.model import Invalid
from punchcard_gateway.entrypoints.kiosk import parse_attempt
from punchcard_gateway.service_layer.kiosk import KioskEdge, attempt_event
from punchcard_kit import credentials

from .test_kiosk_answers import ATTEMPT, CAPTURED, attempt
from .test_kiosk_edge import FakeLookup, FakeSealer, FakeStore, recorded

CARD = "0004211337"
CLOCK = Clock(tenant_id=str(uuid.uuid4()), clock_id=str(uuid.uuid4()), time_zone="UTC")


def body(**fields) -> bytes:
    values = {
        "attempt_id": ATTEMPT,
        "captured_at": "2026-01-12T08:01:30+01:00",
        "method": "CARD",
        "card": CARD,
    }
    values.update(fields)
    return json.dumps({k: v for k, v in values.items() if v is not ...}).encode()


def card_attempt(card: str = CARD) -> Attempt:
    return attempt(method="CARD", employee_id=None, pin=None, card=card)


def test_a_good_card_attempt_keeps_the_number_as_typed():
    parsed = parse_attempt(body(offline=True, direction="OUT"), 1024)
    assert parsed.method == "CARD" and parsed.card == CARD  # leading zeros kept
    assert parsed.employee_id is None and parsed.pin is None and parsed.offline is True
    assert CARD not in repr(parsed)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"card": ...}, "card"),
        ({"card": int(CARD)}, "card"),  # a number would lose its leading zeros
        ({"card": ""}, "card"),
        ({"card": "1" * (credentials.CARD_NUMBER_MAX_LENGTH + 1)}, "card"),
        ({"card": CARD + "a"}, "card"),
        ({"card": "٠٤٢"}, "card"),  # digits, but not ASCII ones
        ({"employee_id": "E1"}, "employee_id"),
        ({"pin": "4829"}, "pin"),
        ({"frame_jpeg": "/9j/"}, "frame_jpeg"),
        ({"method": "PIN", "employee_id": "E1", "pin": "4829"}, "card"),
        ({"method": "CARD!"}, "method"),
    ],
)
def test_bad_card_attempts_name_the_field_and_never_echo_the_number(fields, field):
    with pytest.raises(Invalid) as refused:
        parse_attempt(body(**fields), 1024)
    assert refused.value.field == field
    assert CARD not in refused.value.message and CARD[-6:] not in refused.value.message


def test_the_edge_takes_every_card_number_identity_takes():
    for number in ("0", "007", "9" * credentials.CARD_NUMBER_MAX_LENGTH):
        assert credentials.is_card_number(number)
        assert parse_attempt(body(card=number), 1024).card == number


def test_the_number_is_not_in_the_fingerprint():
    assert card_attempt("1").fingerprint == card_attempt("2").fingerprint
    assert attempt().fingerprint != card_attempt().fingerprint


def test_the_card_attempt_event_holds_only_the_sealed_box_keyed_by_the_clock():
    box = common_pb2.SealedBox(ciphertext=b"\x01" * 80, recipient_key_id="dev-1")
    topic, key, envelope = attempt_event(CLOCK, card_attempt(), CAPTURED, box)
    assert topic == "punchcard.kiosk.card-attempts.v1"
    assert key == f"{CLOCK.tenant_id}/{CLOCK.clock_id}"
    assert CARD.encode() not in envelope.SerializeToString() and CARD not in key
    payload = kiosk_pb2.CardPunchAttempted()
    assert envelope.payload.Unpack(payload)
    assert payload.sealed_card == box and payload.context.claimed_employee_id == ""
    assert payload.context.clock_id == CLOCK.clock_id


async def test_the_edge_seals_the_number_and_publishes_one_card_attempt():
    sealer, store = FakeSealer(), FakeStore()
    edge = KioskEdge(clocks=None, sealer=sealer, store=store, lookup=FakeLookup(), wait_s=0.05)

    def instant_outcome(claim):
        event = recorded(claim.attempt_id)
        event.method = common_pb2.PUNCH_METHOD_CARD
        edge.waiters.deliver((claim.tenant_id, claim.attempt_id), event)

    store.on_claim = instant_outcome
    status, answered = await edge.punch(CLOCK, card_attempt())
    assert status == 200 and answered["status"] == "recorded"
    assert answered["punch"]["method"] == "CARD"
    assert sealer.sealed == [(ATTEMPT, CARD)]
    [(topic, _, _)] = store.published
    assert topic == "punchcard.kiosk.card-attempts.v1"
    # Sent again: the stored outcome, and nothing published again.
    status, again = await edge.punch(CLOCK, card_attempt())
    assert again == answered and len(store.published) == 1


def test_an_unknown_card_is_unknown_user():
    event = punch_pb2.PunchRejected(
        attempt_id=ATTEMPT,
        reason=common_pb2.REJECT_REASON_UNKNOWN_USER,
        method=common_pb2.PUNCH_METHOD_CARD,
    )
    assert answer(ATTEMPT, event) == {
        "attempt_id": ATTEMPT,
        "status": "rejected",
        "reason": "UNKNOWN_USER",
        "message": "Unknown User",
    }
