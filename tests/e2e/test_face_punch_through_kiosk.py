"""A face punch end to end: an admin enrols a worker's photo through the gateway → face-match
stores the templates and publishes them → the kiosk posts a camera frame to the kiosk edge →
face-match identifies the worker → punch records the punch → the kiosk gets the worker's name.
Real gateway, identity, device-sync, punch and face-match processes on the real stack.

Also: a frame without a face is rejected with NO_FACE and records nothing; the admin sees the
"face enrolled" flag and deletes the biometric data, after which the face matches no one; the
frame never appears in a log."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from tests.support.face import astronaut, blank, mirrored
from tests.support.face_match import enrol_at_gateway
from tests.support.gateway import create_tenant, kiosk, login, punch_decided, worker_on_new_clock
from tests.support.messaging import wait_for
from tests.support.services import whole_system
from tests.support.spoof import live_burst, still_burst
from tests.support.stack import unique

PASSWORD = "a long admin password"


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    async with whole_system(tmp_path_factory.mktemp("face_punch")) as started:
        yield started


def face_attempt(frame: bytes) -> dict:
    return {
        "attempt_id": str(uuid.uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "method": "FACE",
        "frame_jpeg": base64.b64encode(frame).decode(),
    }


async def enrolled_worker_on_a_clock(system, admin, tenant_id: str) -> tuple[str, str]:
    """An Active worker, assigned to a new clock (punch knows both), their face (the
    astronaut) enrolled and searchable: (worker id, the clock's credential)."""
    worker_id, _, credential = await worker_on_new_clock(
        system["punch"], admin, tenant_id, "Eileen Collins"
    )
    answer = await enrol_at_gateway(admin, worker_id, ("portrait.jpg", astronaut(640)))
    assert answer.json()["enrolled"] is True
    return worker_id, credential


async def test_face_punch_through_the_kiosk_edge(system):
    gateway = system["gateway"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    async with admin:
        worker_id, credential = await enrolled_worker_on_a_clock(system, admin, tenant_id)

        async with kiosk(gateway, credential) as http:
            frame = mirrored(astronaut(640))
            answer = await punch_decided(http, face_attempt(frame))
            assert answer.status_code in (200, 202), answer.text
            body = answer.json()
            if body["status"] == "pending":
                attempt_id = body["attempt_id"]

                async def decided():
                    found = (await http.get(f"/punches/{attempt_id}")).json()
                    return found if found["status"] != "pending" else None

                body = await wait_for(decided, timeout=60, what="the face punch decided")
            assert body["status"] == "recorded", body
            assert body["punch"]["display_name"] == "Eileen Collins"

            no_face = (await punch_decided(http, face_attempt(blank()))).json()
            if no_face["status"] == "pending":
                no_face = await wait_for(
                    lambda: _decided(http, no_face["attempt_id"]), timeout=60, what="no face"
                )
            assert no_face["status"] == "rejected" and no_face["reason"] == "NO_FACE", no_face

        listed = (await admin.get("/punches", params={"worker_id": worker_id})).json()["data"]
        assert [(p["method"], p["display_name"]) for p in listed] == [("FACE", "Eileen Collins")]

        # The admin deletes the worker's biometric data: the face matches no one any more.
        assert (await admin.delete(f"/workers/{worker_id}/face")).status_code == 204
        status = (await admin.get(f"/workers/{worker_id}/face")).json()
        assert (status["enrolled"], status["template_count"]) == (False, 0)
        async with kiosk(gateway, credential) as http:

            async def rejected():
                found = (await punch_decided(http, face_attempt(frame))).json()
                if found["status"] == "pending":
                    found = await wait_for(
                        lambda: _decided(http, found["attempt_id"]), timeout=60, what="a verdict"
                    )
                return found["status"] == "rejected" and found["reason"] == "NO_MATCH"

            await wait_for(rejected, timeout=30, what="the deleted face to match no one")

    fragment = base64.b64encode(frame).decode()[200:260]
    for service in system["all"]:
        assert fragment not in service.log_file.read_text(), service.name


async def _decided(http, attempt_id: str):
    found = (await http.get(f"/punches/{attempt_id}")).json()
    return found if found["status"] != "pending" else None


async def test_a_burst_through_the_kiosk_edge_live_punches_a_still_photo_is_refused(system):
    """Issue 17: the kiosk's burst (frame_jpeg + burst_jpeg) goes through the edge to
    face-match; a live-ish burst punches, the same still frame three times is answered
    SPOOF_SUSPECTED ("Please look at the camera — or use your PIN") and records nothing."""
    gateway = system["gateway"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    async with admin:
        worker_id, credential = await enrolled_worker_on_a_clock(system, admin, tenant_id)
        mirrored_bgr = cv2.imdecode(
            np.frombuffer(mirrored(astronaut(640)), np.uint8), cv2.IMREAD_COLOR
        )

        async with kiosk(gateway, credential) as http:
            still = still_burst(mirrored_bgr)
            body = face_attempt(still[0])
            body["burst_jpeg"] = [base64.b64encode(f).decode() for f in still[1:]]
            refused = (await punch_decided(http, body)).json()
            if refused["status"] == "pending":
                refused = await wait_for(
                    lambda: _decided(http, refused["attempt_id"]), timeout=60, what="a verdict"
                )
            assert refused["status"] == "rejected", refused
            assert refused["reason"] == "SPOOF_SUSPECTED", refused
            assert refused["message"] == "Please look at the camera — or use your PIN"

            live = live_burst(mirrored_bgr, seed=5)
            body = face_attempt(live[0])
            body["burst_jpeg"] = [base64.b64encode(f).decode() for f in live[1:]]
            recorded = (await punch_decided(http, body)).json()
            if recorded["status"] == "pending":
                recorded = await wait_for(
                    lambda: _decided(http, recorded["attempt_id"]), timeout=60, what="a verdict"
                )
            assert recorded["status"] == "recorded", recorded
            assert recorded["punch"]["display_name"] == "Eileen Collins"

        listed = (await admin.get("/punches", params={"worker_id": worker_id})).json()["data"]
        assert [p["method"] for p in listed] == ["FACE"]
