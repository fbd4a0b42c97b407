"""The suspicious-PIN report with face-match's evidence (issue 17), against the real punch
service and Kafka: a PIN punch whose photo is not the worker's ranks first with its attempt id
beside it (for the photo), a PIN right after a refused face at the same clock is flagged, a
face-enrolled worker's PIN is flagged unless the photo showed their own face, and a check
delivered twice is recorded once."""

from __future__ import annotations

import asyncpg
from punchcard.v1 import common_pb2, evidence_pb2, face_pb2
from punchcard_kit.messaging import catalogue

from tests.support.messaging import wait_for
from tests.support.punch import known, now, outcome

CHECKS = catalogue.FACE_EVIDENCE_CHECKS.name
ENROLMENTS = catalogue.FACE_ENROLMENTS.name


async def _check(feed, attempt_id, worker_id, clock_id, check: str) -> None:
    event = evidence_pb2.PunchEvidenceChecked(
        attempt_id=attempt_id,
        worker_id=worker_id,
        clock_id=clock_id,
        method=common_pb2.PUNCH_METHOD_PIN,
        check=evidence_pb2.EvidenceCheck.Value("EVIDENCE_CHECK_" + check),
    )
    await feed.publish(CHECKS, attempt_id, event)


async def test_evidence_and_face_facts_rank_the_suspicious_pin_report(punch, feed):
    clock_a = await feed.clock(time_zone="UTC")
    clock_b = await feed.clock(time_zone="UTC")
    shared, own, after_face = [await feed.worker(f"W{i}") for i in range(3)]
    ids = [shared["id"], own["id"], after_face["id"]]
    pairs = [(clock_a, shared["id"]), (clock_a, own["id"]), (clock_b, after_face["id"])]
    for clock, worker in pairs:
        await feed.assign(clock, worker)
    await known(punch, feed.tenant_id, workers=ids, clocks=[clock_a, clock_b], pairs=pairs)
    for worker in (shared, own):
        flag = face_pb2.FaceEnrolmentChanged(worker_id=worker["id"], enrolled=True)
        await feed.publish(ENROLMENTS, worker["id"], flag)

    a_shared = await feed.identified(shared["id"], clock_a)
    a_own = await feed.identified(own["id"], clock_a)
    refused = await feed.rejected(clock_b, "NO_MATCH")
    await outcome(punch, feed.tenant_id, refused)
    a_after = await feed.identified(after_face["id"], clock_b)
    for attempt in (a_shared, a_own, a_after):
        await outcome(punch, feed.tenant_id, attempt)
    await _check(feed, a_shared, shared["id"], clock_a, "FACE_NOT_WORKERS")
    await _check(feed, a_shared, shared["id"], clock_a, "FACE_MATCHED")  # a second word: ignored
    await _check(feed, a_own, own["id"], clock_a, "FACE_MATCHED")

    conn = await asyncpg.connect(punch.admin_url)
    try:

        async def recorded():
            checks = await conn.fetchval(
                "SELECT count(*) FROM punch_evidence WHERE tenant_id = $1", feed.tenant_id
            )
            enrolled = await conn.fetchval(
                "SELECT count(*) FROM face_enrolments WHERE tenant_id = $1", feed.tenant_id
            )
            return checks == 2 and enrolled == 2

        await wait_for(recorded, timeout=30, what="punch to record the evidence facts")
    finally:
        await conn.close()

    day = now().date().isoformat()
    async with punch.admin(feed.tenant_id) as http:
        answer = await http.get("/reports/suspicious-pin-punches", params={"from": day, "to": day})
        assert answer.status_code == 200, answer.text
        rows = answer.json()["data"]
    assert [(r["worker_id"], r["reasons"], r["evidence"]) for r in rows] == [
        (shared["id"], ["FACE_NOT_WORKERS", "FACE_ENROLLED"], "FACE_NOT_WORKERS"),
        (after_face["id"], ["PIN_AFTER_FACE_FAILED"], None),
    ]
    assert rows[0]["attempt_id"] == a_shared and rows[1]["attempt_id"] == a_after
    assert rows[0]["detail"].startswith("the photo at the punch is not the worker's face")
    assert "face attempt failed at this clock" in rows[1]["detail"]
