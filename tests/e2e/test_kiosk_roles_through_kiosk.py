"""Clock roles at the kiosk edge, end to end (issue 16): a worker's role on a clock (owned by
device-sync, projected by identity) decides what they may do at a kiosk app after signing in
with Employee ID and PIN — an Administrator opens the settings, a Manager enrols another
worker's face, a User is refused. Real gateway, identity, device-sync, punch and face-match
processes on the real stack.

Also: a sign-in punches nothing; a wrong PIN is refused and counted with the clock's wrong PINs
(the PIN punch's counters); no PIN in any log."""

from __future__ import annotations

import base64
import re

import httpx
import pytest

from tests.support.face import astronaut, blank
from tests.support.gateway import assign, create_tenant, kiosk, login, register_clock
from tests.support.identity import roles_known
from tests.support.messaging import wait_for
from tests.support.services import whole_system
from tests.support.stack import unique

PASSWORD = "a long admin password"
PINS = {"ADMINISTRATOR": "730519", "MANAGER": "604137", "USER": "418290", "TARGET": "552817"}
WRONG = "111999"


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    async with whole_system(tmp_path_factory.mktemp("kiosk_roles")) as started:
        yield started


async def worker_on(admin: httpx.AsyncClient, clock_id: str, name: str, role: str, pin: str):
    """A new Active worker with a PIN, assigned to the clock with ``role``: (id, Employee ID)."""
    employee_id = unique("E")[:20]
    created = await admin.post(
        "/workers", json={"employee_id": employee_id, "name": name, "status": "Active"}
    )
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    assert (await admin.put(f"/workers/{worker_id}/pin", json={"pin": pin})).status_code == 200
    assert (await assign(admin, clock_id, worker_id)).status_code in (200, 201)
    if role != "USER":
        changed = await admin.put(
            f"/clocks/{clock_id}/workers/{worker_id}", json={"clock_role": role}
        )
        assert changed.status_code in (200, 201), changed.text
    return worker_id, employee_id


async def punch_count(admin: httpx.AsyncClient, worker_id: str) -> int:
    response = await admin.get("/punches", params={"worker_id": worker_id})
    assert response.status_code == 200, response.text
    return len(response.json()["data"])


async def tenant_with_clock(system, names=("Grace Admin", "Mary Manager", "Uma User")):
    """A tenant, its admin client, a clock, and an Administrator, a Manager and a User of it."""
    gateway = system["gateway"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    clock_id, credential = await register_clock(admin)
    workers = {}
    for name, role in zip(names, ("ADMINISTRATOR", "MANAGER", "USER"), strict=True):
        workers[role] = await worker_on(admin, clock_id, name, role, PINS[role])
    await roles_known(
        system["identity"],
        tenant_id,
        [(clock_id, worker_id, role) for role, (worker_id, _) in workers.items()],
    )
    return tenant_id, admin, clock_id, credential, workers


async def test_roles_decide_what_a_sign_in_opens_and_a_sign_in_punches_nothing(system):
    gateway = system["gateway"]
    _, admin, clock_id, credential, workers = await tenant_with_clock(system)
    async with kiosk(gateway, credential) as http:
        admin_id, admin_eid = workers["ADMINISTRATOR"]
        signed = await http.post(
            "/sign-in", json={"employee_id": admin_eid, "pin": PINS["ADMINISTRATOR"]}
        )
        assert signed.status_code == 200, signed.text
        body = signed.json()
        assert body["worker_id"] == admin_id and body["name"] == "Grace Admin"
        assert body["clock_role"] == "ADMINISTRATOR"
        assert body["may"] == ["ENROL_FACE", "OPEN_SETTINGS"]
        assert body["elevation"] and body["expires_at"]
        assert signed.headers["cache-control"] == "no-store"
        admin_elevation = {"X-Kiosk-Elevation": body["elevation"]}

        # The Administrator's "Sync roster now": device-sync queues a full resync of this
        # clock (FULL_RESYNC and one command per worker), which the clock's sync receives.
        resync = await http.post("/roster/resync", headers=admin_elevation)
        assert resync.status_code == 202, resync.text
        assert resync.json()["commands_queued"] == 1 + len(workers)
        commands = (await http.post("/sync", json={"applied_sequence": 0, "wait_s": 0})).json()
        kinds = [c["kind"] for c in commands["commands"]]
        assert "FULL_RESYNC" in kinds, kinds
        roles = {
            c["worker"]["worker_id"]: c["worker"]["clock_role"]
            for c in commands["commands"][kinds.index("FULL_RESYNC") :]
            if c["kind"] == "UPSERT_WORKER"
        }
        assert roles == {worker_id: role for role, (worker_id, _) in workers.items()}
        # Without an elevation, or with a forged one: refused, nothing queued.
        for headers in ({}, {"X-Kiosk-Elevation": body["elevation"][:-4] + "AAAA"}):
            refused = await http.post("/roster/resync", headers=headers)
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "KIOSK_ELEVATION_INVALID"

        manager_id, manager_eid = workers["MANAGER"]
        signed = await http.post(
            "/sign-in", json={"employee_id": manager_eid, "pin": PINS["MANAGER"]}
        )
        assert signed.status_code == 200, signed.text
        assert signed.json()["clock_role"] == "MANAGER"
        assert signed.json()["may"] == ["ENROL_FACE"]
        # A Manager does not open the settings.
        refused = await http.post(
            "/roster/resync", headers={"X-Kiosk-Elevation": signed.json()["elevation"]}
        )
        assert refused.status_code == 403 and refused.json()["code"] == "KIOSK_ROLE_REQUIRED"

        # A User: the right PIN, but their role opens nothing here.
        _, user_eid = workers["USER"]
        refused = await http.post("/sign-in", json={"employee_id": user_eid, "pin": PINS["USER"]})
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "KIOSK_ROLE_REQUIRED"
        assert refused.json()["field"] == "employee_id"

        # A wrong PIN: refused (403, never 401: that would unpair the kiosk) and counted.
        wrong = await http.post("/sign-in", json={"employee_id": admin_eid, "pin": WRONG})
        assert wrong.status_code == 403, wrong.text
        assert wrong.json()["code"] == "WRONG_PIN" and wrong.json()["field"] == "pin"
        assert wrong.json()["attempts_remaining"] >= 1
        counters = (await admin.get(f"/clocks/{clock_id}/pin-counters")).json()
        assert counters["wrong_pins"] == 1, counters
        # An unknown Employee ID: as at a punch.
        unknown = await http.post("/sign-in", json={"employee_id": "NOPE-404", "pin": WRONG})
        assert unknown.status_code == 403 and unknown.json()["code"] == "UNKNOWN_USER"

        # Bad input: a 422 naming the field, never echoing it.
        bad = await http.post("/sign-in", json={"employee_id": admin_eid, "pin": "12"})
        assert bad.status_code == 422 and bad.json()["field"] == "pin"
        assert "12" not in bad.json()["message"]
        assert (await http.post("/sign-in", content=b"nonsense")).status_code == 422

        # No punch was recorded by any sign-in.
        for worker_id, _ in workers.values():
            assert await punch_count(admin, worker_id) == 0
    await admin.aclose()

    async with kiosk(gateway, "pcc_nonsense") as http:
        answer = await http.post("/sign-in", json={"employee_id": admin_eid, "pin": WRONG})
        assert answer.status_code == 401

    for service in system["all"]:
        log = service.log_file.read_text()
        for pin in (*PINS.values(), WRONG):
            assert not re.search(rf"(?<![0-9a-fA-F]){pin}(?![0-9a-fA-F])", log), service.name


async def test_a_manager_enrols_another_workers_face_at_the_kiosk(system):
    gateway = system["gateway"]
    tenant_id, admin, clock_id, credential, workers = await tenant_with_clock(
        system, names=("Ada Admin", "Mo Manager", "Eileen Collins")
    )
    manager_id, manager_eid = workers["MANAGER"]
    target_id, target_eid = workers["USER"]
    # A worker of the tenant on no clock, and a worker of another tenant.
    lone_eid = unique("E")[:20]
    lone = await admin.post(
        "/workers", json={"employee_id": lone_eid, "name": "Lone", "status": "Active"}
    )
    assert lone.status_code == 201, lone.text
    other_email = f"{unique('admin')}@example.com"
    create_tenant(gateway, other_email, PASSWORD)
    other_admin = await login(gateway, other_email, PASSWORD)
    other_clock, other_credential = await register_clock(other_admin)
    stranger_id, stranger_eid = await worker_on(
        other_admin, other_clock, "Sam Stranger", "USER", PINS["TARGET"]
    )

    async with kiosk(gateway, credential) as http:
        signed = await http.post(
            "/sign-in", json={"employee_id": manager_eid, "pin": PINS["MANAGER"]}
        )
        assert signed.status_code == 200, signed.text
        elevation = {"X-Kiosk-Elevation": signed.json()["elevation"]}
        frame = base64.b64encode(astronaut(640)).decode()

        def body(employee_id: str, consent: bool = True) -> dict:
            return {"employee_id": employee_id, "consent": consent, "frame_jpeg": frame}

        async def enrolled():
            answer = await http.post("/face-enrolments", json=body(target_eid), headers=elevation)
            if answer.status_code == 404:  # face-match has not heard of the worker yet
                return None
            return answer

        answer = await wait_for(enrolled, timeout=60, what="face-match to know the worker")
        assert answer.status_code == 200, answer.text
        assert answer.json()["worker_id"] == target_id and answer.json()["enrolled"] is True
        assert answer.json()["employee_id"] == target_eid

        # A frame face-match refuses names the field the kiosk sent, frame_jpeg (it named the
        # portal's upload field, "photos" / "photos[0]", which no kiosk request has).
        for refused_frame, code in ((blank(), "PHOTO_REFUSED"), (b"\xff\xd8\xff", "INVALID_IMAGE")):
            refused = await http.post(
                "/face-enrolments",
                json={**body(target_eid), "frame_jpeg": base64.b64encode(refused_frame).decode()},
                headers=elevation,
            )
            assert refused.status_code == 422, refused.text
            assert (refused.json()["code"], refused.json()["field"]) == (code, "frame_jpeg")

        # Never themself; never without the worker's agreement; never without an elevation.
        myself = await http.post("/face-enrolments", json=body(manager_eid), headers=elevation)
        assert myself.status_code == 403 and myself.json()["code"] == "SELF_ENROLMENT"
        unwilling = await http.post(
            "/face-enrolments", json=body(target_eid, consent=False), headers=elevation
        )
        assert unwilling.status_code == 422 and unwilling.json()["field"] == "consent"
        bare = await http.post("/face-enrolments", json=body(target_eid))
        assert bare.status_code == 403 and bare.json()["code"] == "KIOSK_ELEVATION_INVALID"
        # A worker of the tenant not on this clock, and one of another tenant: not found.
        for employee_id in (lone_eid, stranger_eid):
            refused = await http.post("/face-enrolments", json=body(employee_id), headers=elevation)
            assert refused.status_code == 404, refused.text
            assert refused.json()["code"] == "WORKER_NOT_FOUND"

    # The elevation is worth nothing at another tenant's clock.
    async with kiosk(gateway, other_credential) as http:
        refused = await http.post("/face-enrolments", json=body(stranger_eid), headers=elevation)
        assert refused.status_code == 403 and refused.json()["code"] == "KIOSK_ELEVATION_INVALID"

    # The worker now has a face; the stranger does not.
    status = (await admin.get(f"/workers/{target_id}/face")).json()
    assert status["enrolled"] is True and status["template_count"] == 1
    stranger = (await other_admin.get(f"/workers/{stranger_id}/face")).json()
    assert stranger["enrolled"] is False

    # Audited: who enrolled whom, at which clock (and the refusals, with the ID typed).
    audit = (await admin.get("/audit-log", params={"limit": 100})).json()["data"]
    rows = [r for r in audit if r["action"] == "POST /kiosk/v1/face-enrolments"]
    done = [r for r in rows if r["status_code"] == 200]
    assert [(r["actor_id"], r["target_id"], r["clock_id"]) for r in done] == [
        (manager_id, target_id, clock_id)
    ]
    assert {(r["target_id"], r["status_code"]) for r in rows if r["status_code"] != 200} >= {
        (manager_eid, 403),
        (lone_eid, 404),
        (stranger_eid, 404),
    }
    other_audit = (await other_admin.get("/audit-log", params={"limit": 100})).json()["data"]
    assert not [r for r in other_audit if r["action"] == "POST /kiosk/v1/face-enrolments"]
    await admin.aclose()
    await other_admin.aclose()
