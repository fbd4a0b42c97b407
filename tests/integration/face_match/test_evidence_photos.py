"""Evidence photos of punches (issue 17) against the real stack: a PIN punch's photo from the
kiosk evidence topic and identity's verdict naming its worker (either first) make face-match
compare the photo 1:1 with the worker's templates (the real model) and publish the flag; the
photo is stored encrypted, read back by a sysadmin, refused to a viewer, swept when expired,
and deleted with the worker's biometric data; a tenant without the policy keeps nothing."""

import uuid

import asyncpg
import pytest
from punchcard.v1 import common_pb2, evidence_pb2, identification_pb2, kiosk_pb2
from punchcard_kit.messaging import catalogue, decode_envelope, unpack_payload

from tests.support.face import astronaut, blank, labelled_photo, mirrored
from tests.support.face_match import enrol, known_worker, searchable
from tests.support.messaging import read_topic, wait_for
from tests.support.services import start_service
from tests.support.stack import KAFKA

PHOTOS = catalogue.KIOSK_EVIDENCE_PHOTOS.name
VERDICTS = catalogue.IDENTIFICATION_VERDICTS.name
CHECKS = catalogue.FACE_EVIDENCE_CHECKS.name


@pytest.fixture(scope="module")
async def face_match(tmp_path_factory):
    # Its own process: the retention sweep runs every second here.
    process = await start_service(
        "face-match", tmp_path_factory.mktemp("evidence"), EVIDENCE_SWEEP_INTERVAL_S="1"
    )
    yield process
    await process.stop()


def _context(attempt_id: str, clock_id: str) -> kiosk_pb2.PunchAttemptContext:
    context = kiosk_pb2.PunchAttemptContext(attempt_id=attempt_id, clock_id=clock_id)
    context.captured_at.GetCurrentTime()
    context.received_at.GetCurrentTime()
    return context


async def _photo(feed, attempt_id: str, clock_id: str, frame: bytes) -> None:
    event = evidence_pb2.EvidencePhotoCaptured(
        context=_context(attempt_id, clock_id),
        method=common_pb2.PUNCH_METHOD_PIN,
        frame_jpeg=frame,
    )
    await feed.publish(PHOTOS, attempt_id, event)


async def _identified(feed, attempt_id: str, clock_id: str, worker_id: str) -> None:
    verdict = identification_pb2.WorkerIdentified(
        context=_context(attempt_id, clock_id),
        worker_id=worker_id,
        method=common_pb2.PUNCH_METHOD_PIN,
    )
    await feed.publish(VERDICTS, worker_id, verdict)


async def _checks(tenant_id: str) -> dict[str, evidence_pb2.PunchEvidenceChecked]:
    found = {}
    for record in await read_topic(KAFKA, CHECKS):
        if record.value is None:
            continue
        envelope = decode_envelope(record.value)
        if envelope.tenant_id == tenant_id:
            event = unpack_payload(envelope)
            found.setdefault(event.attempt_id, []).append(event)
    return found


async def test_pin_punch_photos_are_kept_sealed_and_checked_against_the_workers_face(
    feed, face_match
):
    worker = await feed.worker()
    tenant, worker_id = feed.tenant_id, worker["id"]
    await known_worker(face_match, tenant, worker_id)
    assert (await enrol(face_match, tenant, worker_id, astronaut(640))).status_code == 200
    await searchable(face_match, tenant, worker_id)
    async with face_match.admin(tenant) as http:
        settings = {"evidence_photos": True, "evidence_retention_days": 30}
        answer = await http.put("/face/settings", json=settings)
        assert answer.status_code == 200, answer.text
        assert answer.json()["evidence_photos"] is True
        refused = await http.put("/face/settings", json={"evidence_retention_days": 366})
        assert refused.status_code == 422 and refused.json()["field"] == "evidence_retention_days"

    clock = str(uuid.uuid4())
    own, other, nobody = (str(uuid.uuid4()) for _ in range(3))
    someone_else = labelled_photo()
    frames = {own: mirrored(astronaut(640)), other: someone_else, nobody: blank()}
    # The photo first for two of them, the verdict first for the third.
    await _photo(feed, own, clock, frames[own])
    await _photo(feed, other, clock, frames[other])
    await _identified(feed, own, clock, worker_id)
    await _identified(feed, other, clock, worker_id)
    await _identified(feed, nobody, clock, worker_id)
    await _photo(feed, nobody, clock, frames[nobody])

    async def all_checked():
        found = await _checks(tenant)
        return found if len(found) == 3 else None

    found = await wait_for(all_checked, timeout=60, what="three evidence checks")
    assert {a: [e.check for e in events] for a, events in found.items()} == {
        own: [evidence_pb2.EVIDENCE_CHECK_FACE_MATCHED],
        other: [evidence_pb2.EVIDENCE_CHECK_FACE_NOT_WORKERS],
        nobody: [evidence_pb2.EVIDENCE_CHECK_NO_FACE],
    }
    [mismatch] = found[other]
    assert mismatch.worker_id == worker_id and mismatch.clock_id == clock
    assert mismatch.distance > mismatch.threshold
    assert found[own][0].distance <= found[own][0].threshold

    # At rest: sealed, not the JPEG.
    conn = await asyncpg.connect(face_match.admin_url)
    try:
        rows = await conn.fetch(
            "SELECT attempt_id::text, photo FROM evidence_photos WHERE tenant_id = $1", tenant
        )
        assert {r["attempt_id"] for r in rows} == {own, other, nobody}
        for r in rows:
            sealed = bytes(r["photo"])
            assert not sealed.startswith(b"\xff\xd8") and frames[r["attempt_id"]][:64] not in sealed
    finally:
        await conn.close()

    # Read back by a sysadmin; never by a viewer; a manager of another site sees nothing.
    async with face_match.admin(tenant) as http:
        answer = await http.get(f"/face/evidence/{other}")
        assert answer.status_code == 200 and answer.content == someone_else
        assert answer.headers["content-type"] == "image/jpeg"
        assert (await http.get(f"/face/evidence/{uuid.uuid4()}")).status_code == 404
    async with face_match.admin(tenant, "viewer") as http:
        assert (await http.get(f"/face/evidence/{other}")).status_code == 403
    async with face_match.admin(tenant, "manager", ("another-site",)) as http:
        assert (await http.get(f"/face/evidence/{other}")).status_code == 404
    async with face_match.admin(tenant, "manager", (worker["site_id"],)) as http:
        assert (await http.get(f"/face/evidence/{other}")).status_code == 200
        assert (await http.delete(f"/face/evidence/{other}")).status_code == 403

    # Retention: a photo past its time is swept (the sweep runs every second here).
    conn = await asyncpg.connect(face_match.admin_url)
    try:
        await conn.execute(
            "UPDATE evidence_photos SET expires_at = now() - interval '1 second'"
            " WHERE tenant_id = $1 AND attempt_id = $2",
            tenant,
            nobody,
        )

        async def swept():
            return not await conn.fetchval(
                "SELECT count(*) FROM evidence_photos WHERE attempt_id = $1", nobody
            )

        await wait_for(swept, timeout=30, what="the expired photo to be swept")
        assert (
            await conn.fetchval("SELECT count(*) FROM evidence_photos WHERE tenant_id = $1", tenant)
            == 2
        )

        # Deleting the worker's biometric data deletes their evidence photos too.
        async with face_match.admin(tenant) as http:
            assert (await http.delete(f"/workers/{worker_id}/face")).status_code == 204
        assert (
            await conn.fetchval("SELECT count(*) FROM evidence_photos WHERE tenant_id = $1", tenant)
            == 0
        )
    finally:
        await conn.close()


async def test_a_tenant_without_the_policy_keeps_no_photo(feed, face_match):
    worker = await feed.worker()
    tenant, worker_id = feed.tenant_id, worker["id"]
    await known_worker(face_match, tenant, worker_id)
    attempt, clock = str(uuid.uuid4()), str(uuid.uuid4())
    await _photo(feed, attempt, clock, blank())
    await _identified(feed, attempt, clock, worker_id)
    # A marker after them on the same partitions' consumer: another tenant's photo is kept
    # once face-match has read past ours.
    marker = await _marker(face_match)
    conn = await asyncpg.connect(face_match.admin_url)
    try:

        async def marked():
            return await conn.fetchval(
                "SELECT count(*) FROM evidence_photos WHERE attempt_id = $1", marker
            )

        await wait_for(marked, timeout=30, what="face-match to read the marker")
        assert not await conn.fetchval(
            "SELECT count(*) FROM evidence_photos WHERE tenant_id = $1", tenant
        )
    finally:
        await conn.close()
    assert attempt not in await _checks(tenant)


async def _marker(face_match) -> str:
    from tests.support.punch import Feed

    other = await Feed.open()
    try:
        async with face_match.admin(other.tenant_id) as http:
            answer = await http.put("/face/settings", json={"evidence_photos": True})
            assert answer.status_code == 200
        marker = str(uuid.uuid4())
        await _photo(other, marker, str(uuid.uuid4()), blank())
        return marker
    finally:
        await other.close()
