"""Evidence on every punch, end to end (issue 17): a sysadmin turns on "keep a photo of every
punch" → the kiosk edge's whoami tells the app → a PIN punch carries the camera's still → the
edge publishes it beside the attempt → identity verifies the PIN, punch records the punch →
face-match keeps the photo sealed and compares it 1:1 with the worker's enrolled face →
punch records the flag → the suspicious-PIN report ranks the punch first with its attempt id,
and the photo is served to a sysadmin (never to a viewer) through the gateway; with the
tenant's evidence policy on, the kiosk is told "Please look at the camera" instead. Real gateway,
identity, device-sync, punch and face-match processes on the real stack."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.face import astronaut, labelled_photo, mirrored
from tests.support.face_match import enrol_at_gateway
from tests.support.gateway import (
    CLOCK_TIME_ZONE,
    create_tenant,
    kiosk,
    login,
    pin_attempt,
    punch_decided,
    worker_on_new_clock,
)
from tests.support.identity import assignments_known
from tests.support.messaging import wait_for
from tests.support.services import whole_system
from tests.support.stack import unique

PASSWORD = "a long admin password"
PIN = "604137"


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    # punch waits this long for a photo's check (the evidence policy) before it records the
    # punch without one: long enough for the real model on a shared machine.
    os.environ["EVIDENCE_WAIT_S"] = "30"
    try:
        async with whole_system(tmp_path_factory.mktemp("evidence")) as started:
            yield started
    finally:
        os.environ.pop("EVIDENCE_WAIT_S", None)


def evidence_attempt(employee_id: str, evidence: bytes) -> dict:
    return pin_attempt(employee_id, PIN, evidence_jpeg=base64.b64encode(evidence).decode())


async def enrolled_worker(system, admin, tenant_id: str) -> tuple[str, str]:
    """A worker with a PIN and the astronaut's face, assigned to a new clock, in a tenant that
    keeps evidence photos; returns (Employee ID, the clock's credential)."""
    employee_id = unique("E")[:20]
    worker_id, clock_id, credential = await worker_on_new_clock(
        system["punch"], admin, tenant_id, "Eileen", employee_id
    )
    await assignments_known(system["identity"], tenant_id, [(clock_id, worker_id)])
    assert (await admin.put(f"/workers/{worker_id}/pin", json={"pin": PIN})).status_code == 200

    await enrol_at_gateway(admin, worker_id, ("portrait.jpg", astronaut(640)))

    settings = await admin.put(
        "/face/settings", json={"evidence_photos": True, "evidence_retention_days": 7}
    )
    assert settings.status_code == 200, settings.text
    return employee_id, credential


async def test_a_shared_pin_is_caught_by_the_photo_at_the_punch(system):
    gateway = system["gateway"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    async with admin:
        employee_id, credential = await enrolled_worker(system, admin, tenant_id)

        someone_else = labelled_photo()
        async with kiosk(gateway, credential) as http:
            # The app learns the policy from whoami (the edge asks face-match as the clock).
            assert (await http.get("/whoami")).json()["evidence_photos"] is True
            shared = evidence_attempt(employee_id, someone_else)
            own = evidence_attempt(employee_id, mirrored(astronaut(640)))
            for attempt in (shared, own):
                answer = await punch_decided(http, attempt)
                assert answer.status_code == 200, answer.text
                assert answer.json()["status"] == "recorded", answer.text

        day = datetime.now(ZoneInfo(CLOCK_TIME_ZONE)).date().isoformat()  # the clock's day

        async def flagged():
            report = await admin.get(
                "/reports/suspicious-pin-punches", params={"from": day, "to": day}
            )
            assert report.status_code == 200, report.text
            rows = report.json()["data"]
            # Both photos checked: the shared PIN flagged, the worker's own face cleared (until
            # its check arrives, a face-enrolled worker's PIN is listed as FACE_ENROLLED).
            own_listed = any(r["attempt_id"] == own["attempt_id"] for r in rows)
            return rows if rows and rows[0]["evidence"] and not own_listed else None

        rows = await wait_for(flagged, timeout=90, what="the evidence flag in the report")
        first = rows[0]
        assert first["attempt_id"] == shared["attempt_id"]
        assert first["reasons"][0] == "FACE_NOT_WORKERS" and first["evidence"] == "FACE_NOT_WORKERS"
        assert [r["attempt_id"] for r in rows] == [shared["attempt_id"]]

        photo_answer = await admin.get(f"/face/evidence/{shared['attempt_id']}")
        assert photo_answer.status_code == 200, photo_answer.text
        assert photo_answer.content == someone_else
        assert photo_answer.headers["content-type"] == "image/jpeg"


async def test_a_tenant_that_refuses_such_punches_says_look_at_the_camera(system):
    """The evidence policy on (``PUT /api/v1/punch-policy``, sysadmins): the shared PIN's punch
    is refused at the kiosk, FACE_CHECK_FAILED, "Please look at the camera"; the worker's own
    face is recorded."""
    gateway = system["gateway"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    async with admin:
        employee_id, credential = await enrolled_worker(system, admin, tenant_id)
        assert (await admin.get("/punch-policy")).json()["refuse_unmatched_photos"] is False
        policy = await admin.put("/punch-policy", json={"refuse_unmatched_photos": True})
        assert policy.status_code == 200, policy.text
        assert (await admin.get("/punch-policy")).json()["refuse_unmatched_photos"] is True

        async with kiosk(gateway, credential) as http:
            shared = evidence_attempt(employee_id, labelled_photo())
            answer = await punch_decided(http, shared)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["status"] == "rejected" and body["reason"] == "FACE_CHECK_FAILED", body
            assert body["message"] == "Please look at the camera"
            own = evidence_attempt(employee_id, mirrored(astronaut(640)))
            answer = await punch_decided(http, own)
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "recorded", answer.text

        hour = timedelta(hours=1)
        around = {
            "from": (datetime.now(UTC) - hour).isoformat(),
            "to": (datetime.now(UTC) + hour).isoformat(),
        }
        punches = await admin.get("/punches", params=around)
        assert punches.status_code == 200, punches.text
        assert [p["method"] for p in punches.json()["data"]] == ["PIN"]  # the own face only
