"""A badge-card punch end to end, as a kiosk with a card reader makes it: the kiosk posts
``method: "CARD"`` with the number the reader typed → the edge seals it to identity's key and
publishes it on the card-attempts topic → identity finds the card's worker → punch decides →
the edge answers with the worker's name. Real gateway, identity, device-sync and punch
processes on real PostgreSQL, Redis and Kafka.

Also: the same attempt sent three times makes one punch (method CARD in the ledger); an
unknown card, and the card at a clock its worker is not assigned to, are "Unknown User"
(counted with the clock's unknown IDs) and record nothing; the card number is never on the
attempt path's topics (attempts, verdicts, punches) in the clear, nor in any service's log."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime

import httpx
from punchcard_kit.messaging import catalogue

from tests.e2e.test_pin_punch_through_kiosk import (
    at_front_door,
    system,  # noqa: F401 - the same processes
)
from tests.support.gateway import create_tenant, kiosk, login, punch_decided
from tests.support.messaging import read_topic, wait_for
from tests.support.stack import KAFKA, unique

PASSWORD = "a long admin password"


def card_number() -> str:
    """A fresh 14-digit number with a leading zero (kept as typed)."""
    return "0" + "".join(secrets.choice("0123456789") for _ in range(13))


def card_attempt(card: str, **extra) -> dict:
    return {
        "attempt_id": str(uuid.uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "method": "CARD",
        "card": card,
        **extra,
    }


async def ledger(http: httpx.AsyncClient, worker_id: str) -> list[dict]:
    response = await http.get("/punches", params={"worker_id": worker_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_card_punches_through_the_kiosk_edge(system):  # noqa: F811 - the fixture
    gateway = system["gateway"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    card, unknown_card = card_number(), card_number()
    async with admin:
        worker_id, (front, front_credential), (_, back_credential) = await at_front_door(
            system, admin, tenant_id, unique("E")[:20]
        )
        added = await admin.post(f"/workers/{worker_id}/cards", json={"number": card})
        assert added.status_code == 201, added.text

        attempt_ids = []
        async with kiosk(gateway, front_credential) as http:
            # The worker's card: recorded with their name, method CARD.
            attempt = card_attempt(card)
            attempt_ids.append(attempt["attempt_id"])
            answer = await punch_decided(http, attempt)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["status"] == "recorded", body
            assert body["punch"]["display_name"] == "Ana Pérez"
            assert body["punch"]["method"] == "CARD" and body["punch"]["direction"] == "IN"
            # The same attempt twice more: the same answer, no second punch.
            for _ in range(2):
                again = await punch_decided(http, attempt)
                assert again.status_code == 200, again.text
                assert again.json()["punch"]["punch_id"] == body["punch"]["punch_id"]

            # A card nobody of the tenant holds: "Unknown User", nothing recorded.
            stranger = card_attempt(unknown_card)
            attempt_ids.append(stranger["attempt_id"])
            unknown = (await punch_decided(http, stranger)).json()
            assert unknown == {
                "attempt_id": stranger["attempt_id"],
                "status": "rejected",
                "reason": "UNKNOWN_USER",
                "message": "Unknown User",
            }
            # A number that is no card number is refused at the edge, never echoed.
            refused = await punch_decided(http, card_attempt(card + "x"))
            assert refused.status_code == 422 and refused.json()["field"] == "card"
            assert card not in refused.text

        # The worker's own card at a clock they are not assigned to: the same "Unknown User".
        async with kiosk(gateway, back_credential) as http:
            elsewhere = card_attempt(card)
            attempt_ids.append(elsewhere["attempt_id"])
            there = (await punch_decided(http, elsewhere)).json()
            assert {k: v for k, v in there.items() if k != "attempt_id"} == {
                k: v for k, v in unknown.items() if k != "attempt_id"
            }

        # This punch service's ledger (on a shared Kafka another test's punch may have answered
        # first, and this one may still be waiting on someone else's verdict).
        listed = await wait_for(
            lambda: ledger(admin, worker_id), timeout=300, interval=1, what="the ledger row"
        )
        assert [(p["id"], p["method"], p["display_name"]) for p in listed] == [
            (body["punch"]["punch_id"], "CARD", "Ana Pérez")
        ]
        # The unknown card is counted with the front clock's unknown IDs (the PIN path's rule).
        counters = (await admin.get(f"/clocks/{front}/pin-counters")).json()
        assert counters["unknown_ids"] == 1, counters

    # The number is on no topic of the attempt's path in the clear (only sealed), nor in a key.
    for topic in (
        catalogue.KIOSK_CARD_ATTEMPTS.name,
        catalogue.IDENTIFICATION_VERDICTS.name,
        catalogue.PUNCH_PUNCHES.name,
    ):
        records = await read_topic(KAFKA, topic)
        if topic == catalogue.KIOSK_CARD_ATTEMPTS.name:  # each attempt published once
            mine = [
                r
                for r in records
                if (dict(r.headers or ()).get("correlation-id") or b"").decode() in attempt_ids
            ]
            assert len(mine) == len(attempt_ids)
        for record in records:
            blob = (record.key or b"") + (record.value or b"")
            assert card.encode() not in blob and unknown_card.encode() not in blob, topic

    # Nor in any service's log (standalone: not part of a longer number or hex id).
    for service in system["all"]:
        log = service.log_file.read_text()
        for number in (card, unknown_card):
            assert not re.search(rf"(?<![0-9a-fA-F]){number}(?![0-9a-fA-F])", log), service.name
