"""The tenant's evidence policy (issue 17): "refuse PIN and card punches whose photo is not the
worker's face", against the real punch and face-match processes (face-match's real model
compares each photo 1:1 with the worker's enrolled face) on the real stack. With the policy on,
punch holds a PIN verdict whose attempt has a photo until face-match's check arrives:
someone else's face or no face is refused ``FACE_CHECK_FAILED`` with nothing in the ledger, the
worker's own face is recorded; a check that never comes is recorded once the evidence wait has
passed (fail open); with the policy off the punch is recorded at once and the check is kept as
the report's flag, as before."""

from __future__ import annotations

import asyncpg
import pytest
from punchcard.v1 import common_pb2, evidence_pb2, identification_pb2
from punchcard_kit.messaging import catalogue

from tests.support.face import astronaut, blank, labelled_photo, mirrored
from tests.support.face_match import enrol, known_worker, searchable
from tests.support.messaging import wait_for
from tests.support.punch import known, outcome
from tests.support.services import start_service

PHOTOS = catalogue.KIOSK_EVIDENCE_PHOTOS.name
VERDICTS = catalogue.IDENTIFICATION_VERDICTS.name
# Long enough that the real model's check (on a shared machine) comes well within it.
WAIT_S = 30


@pytest.fixture(scope="module")
async def punch(tmp_path_factory):
    process = await start_service(
        "punch", tmp_path_factory.mktemp("punch-evidence"), EVIDENCE_WAIT_S=str(WAIT_S)
    )
    yield process
    await process.stop()


@pytest.fixture(scope="module")
async def face_match(tmp_path_factory):
    process = await start_service("face-match", tmp_path_factory.mktemp("face-evidence"))
    yield process
    await process.stop()


async def pin_punch(
    feed, worker_id: str, clock_id: str, frame: bytes | None, direction: str | None = None
) -> str:
    """A PIN punch as the edge and identity make it: the kiosk's photo on the evidence topic
    (``None``: the edge said it published one, but it never reaches face-match) and identity's
    verdict, its context marked ``evidence_photo``; returns the attempt id."""
    context = feed.context(clock_id, direction=direction)
    context.evidence_photo = True
    if frame is not None:
        captured = evidence_pb2.EvidencePhotoCaptured(
            context=context, method=common_pb2.PUNCH_METHOD_PIN, frame_jpeg=frame
        )
        await feed.publish(PHOTOS, context.attempt_id, captured)
    verdict = identification_pb2.WorkerIdentified(
        context=context, worker_id=worker_id, method=common_pb2.PUNCH_METHOD_PIN
    )
    await feed.publish(VERDICTS, worker_id, verdict)
    return context.attempt_id


def refused(answer: dict) -> bool:
    return (
        answer["type"] == "punchcard.v1.PunchRejected"
        and answer["payload"]["reason"] == "REJECT_REASON_FACE_CHECK_FAILED"
    )


async def test_punches_whose_photo_is_not_the_workers_face_are_refused(punch, face_match, feed):
    tenant = feed.tenant_id
    clock = await feed.clock(time_zone="UTC")
    enrolled, unchecked = await feed.worker("Eileen"), await feed.worker("Bo")
    for worker in (enrolled, unchecked):
        await feed.assign(clock, worker["id"])
    ids = [enrolled["id"], unchecked["id"]]
    await known(punch, tenant, workers=ids, clocks=[clock], pairs=[(clock, w) for w in ids])
    await known_worker(face_match, tenant, enrolled["id"])
    assert (await enrol(face_match, tenant, enrolled["id"], astronaut(640))).status_code == 200
    await searchable(face_match, tenant, enrolled["id"])
    async with face_match.admin(tenant) as http:
        answer = await http.put("/face/settings", json={"evidence_photos": True})
        assert answer.status_code == 200, answer.text

    # Off by default; a manager may read it, not change it; a sysadmin turns it on.
    async with punch.admin(tenant, "manager", ("site-1",)) as http:
        answer = await http.get("/punch-policy")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"refuse_unmatched_photos": False, "evidence_wait_s": WAIT_S}
        assert (
            await http.put("/punch-policy", json={"refuse_unmatched_photos": True})
        ).status_code == 403
    async with punch.admin(tenant) as http:
        bad = await http.put("/punch-policy", json={"refuse_unmatched_photos": "yes"})
        assert bad.status_code == 422 and bad.json()["field"] == "refuse_unmatched_photos"
        answer = await http.put("/punch-policy", json={"refuse_unmatched_photos": True})
        assert answer.status_code == 200 and answer.json()["refuse_unmatched_photos"] is True

    # The check that never comes first: it is decided once the wait has passed.
    never = await pin_punch(feed, unchecked["id"], clock, None)
    someone_else = await pin_punch(feed, enrolled["id"], clock, labelled_photo())
    nobody = await pin_punch(feed, enrolled["id"], clock, blank())
    own = await pin_punch(feed, enrolled["id"], clock, mirrored(astronaut(640)))

    timeout = WAIT_S + 90
    for attempt in (someone_else, nobody):
        answer = await outcome(punch, tenant, attempt, timeout=timeout)
        assert refused(answer), answer
        assert answer["payload"]["worker_id"] == enrolled["id"]
    answer = await outcome(punch, tenant, own, timeout=timeout)
    assert answer["type"] == "punchcard.v1.PunchRecorded", answer
    answer = await outcome(punch, tenant, never, timeout=timeout)
    assert answer["type"] == "punchcard.v1.PunchRecorded", answer

    conn = await asyncpg.connect(punch.admin_url)
    try:
        ledger = await conn.fetch(
            "SELECT attempt_id::text FROM punches WHERE tenant_id = $1", tenant
        )
        assert {r[0] for r in ledger} == {own, never}  # nothing of the refused ones
        checks = await conn.fetch(
            "SELECT attempt_id::text, evidence_check FROM punch_evidence WHERE tenant_id = $1",
            tenant,
        )
        assert dict((r[0], r[1]) for r in checks) == {
            someone_else: "FACE_NOT_WORKERS",
            nobody: "NO_FACE",
            own: "FACE_MATCHED",
        }
        # Fail open, not at once: decided no earlier than the wait after identity's verdict.
        waited = await conn.fetchval(
            "SELECT extract(epoch FROM a.decided_at - p.received_at) FROM attempts a"
            " JOIN punches p USING (tenant_id, attempt_id)"
            " WHERE a.tenant_id = $1 AND a.attempt_id = $2",
            tenant,
            never,
        )
        assert waited >= WAIT_S
        assert not await conn.fetchval(
            "SELECT count(*) FROM parked_verdicts WHERE tenant_id = $1", tenant
        )
    finally:
        await conn.close()

    # Policy off: someone else's face is recorded at once, and flagged as before.
    async with punch.admin(tenant) as http:
        answer = await http.put("/punch-policy", json={"refuse_unmatched_photos": False})
        assert answer.status_code == 200 and answer.json()["refuse_unmatched_photos"] is False
    shared = await pin_punch(feed, enrolled["id"], clock, labelled_photo(), direction="OUT")
    answer = await outcome(punch, tenant, shared, timeout=timeout)
    assert answer["type"] == "punchcard.v1.PunchRecorded", answer
    conn = await asyncpg.connect(punch.admin_url)
    try:

        async def flagged():
            return await conn.fetchval(
                "SELECT evidence_check FROM punch_evidence WHERE tenant_id = $1"
                " AND attempt_id = $2",
                tenant,
                shared,
            )

        assert await wait_for(flagged, timeout=90, what="the flag") == "FACE_NOT_WORKERS"
    finally:
        await conn.close()
