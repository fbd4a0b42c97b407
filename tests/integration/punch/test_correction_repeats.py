"""A correction sent twice is made once (docs/punch.md "Corrections sent twice"), against
punch's own API and PostgreSQL as its service role: the same ``Idempotency-Key`` and request
answer with the first punch (also when both arrive together), saying so in the header
``Idempotent-Replayed: true``, another request under the key is refused, and a bad key is a 422
that names the header."""

from __future__ import annotations

import asyncio
import uuid

from tests.integration.punch.test_ledger_api import day_of_punches


def _missed_out(worker: str, clock: str, reason: str = "forgot to clock out") -> dict:
    return {
        "worker_id": worker,
        "direction": "OUT",
        "punched_at": "2026-11-17T17:00:00+01:00",
        "clock_id": clock,
        "reason": reason,
    }


async def _entries(punch, tenant_id: str, worker: str) -> list[str]:
    async with punch.admin(tenant_id) as http:
        listed = (await http.get("/punches", params={"worker_id": worker})).json()["data"]
    return [p["id"] for p in listed if p["kind"] == "CORRECTION"]


async def test_the_same_keyed_correction_sent_twice_and_together_is_made_once(punch, feed):
    worker, clock, _ = await day_of_punches(punch, feed)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    async with punch.admin(feed.tenant_id) as http:
        first = await http.post("/punches", json=_missed_out(worker["id"], clock), headers=key)
        again = await http.post("/punches", json=_missed_out(worker["id"], clock), headers=key)
        assert first.status_code == again.status_code == 201, (first.text, again.text)
        assert again.json() == first.json()
        assert "idempotent-replayed" not in first.headers
        assert again.headers["idempotent-replayed"] == "true"

        # Two at once (a double click): the second waits for the first's key and answers it.
        together = {"Idempotency-Key": f'"{uuid.uuid4()}"'}  # the draft standard's quoted form
        answers = await asyncio.gather(
            *(
                http.post("/punches", json=_missed_out(worker["id"], clock), headers=together)
                for _ in range(2)
            )
        )
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
        assert answers[0].json()["id"] == answers[1].json()["id"]
    made = await _entries(punch, feed.tenant_id, worker["id"])
    assert sorted(made) == sorted({first.json()["id"], answers[0].json()["id"]})


async def test_another_request_under_a_used_key_is_refused_and_changes_nothing(punch, feed):
    worker, clock, ids = await day_of_punches(punch, feed)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    async with punch.admin(feed.tenant_id) as http:
        made = await http.post("/punches", json=_missed_out(worker["id"], clock), headers=key)
        assert made.status_code == 201, made.text
        other = await http.post(
            "/punches", json=_missed_out(worker["id"], clock, "another reason"), headers=key
        )
        assert other.status_code == 422, other.text
        assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert other.json()["field"] == "Idempotency-Key"
        replaced = await http.post(
            f"/punches/{ids[0]}/replace", json={"reason": "clock was late"}, headers=key
        )
        assert replaced.status_code == 422 and replaced.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        for bad in ("short", "x" * 65, "not a key!", ""):
            refused = await http.post(
                "/punches",
                json=_missed_out(worker["id"], clock),
                headers={"Idempotency-Key": bad},
            )
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.json()["field"] == "Idempotency-Key", refused.json()
    assert await _entries(punch, feed.tenant_id, worker["id"]) == [made.json()["id"]]


async def test_a_keyed_replacement_sent_again_answers_with_its_replacement(punch, feed):
    _, _, ids = await day_of_punches(punch, feed)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"punched_at": "2026-11-16T07:30:00+01:00", "reason": "clock was late"}
    async with punch.admin(feed.tenant_id) as http:
        first = await http.post(f"/punches/{ids[0]}/replace", json=body, headers=key)
        again = await http.post(f"/punches/{ids[0]}/replace", json=body, headers=key)
        assert first.status_code == again.status_code == 201, (first.text, again.text)
        assert again.json()["id"] == first.json()["id"]
        assert (first.headers.get("idempotent-replayed"), again.headers["idempotent-replayed"]) == (
            None,
            "true",
        )
        unkeyed = await http.post(f"/punches/{ids[0]}/replace", json=body)
        assert unkeyed.status_code == 409 and unkeyed.json()["code"] == "ALREADY_VOIDED"


async def test_a_keyed_void_sent_again_answers_with_the_voided_punch(punch, feed):
    _, _, ids = await day_of_punches(punch, feed)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    async with punch.admin(feed.tenant_id) as http:
        first = await http.post(f"/punches/{ids[1]}/void", json={"reason": "test"}, headers=key)
        again = await http.post(f"/punches/{ids[1]}/void", json={"reason": "test"}, headers=key)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert again.json() == first.json() and first.json()["voided"] is True
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
