"""A PIN punch end to end, as a kiosk makes it: the kiosk posts an attempt to the gateway's
kiosk edge with its clock credential → the edge seals the PIN and publishes the attempt →
identity verifies it → punch decides → the edge answers with the worker's name. Real gateway,
identity, device-sync and punch processes on real PostgreSQL, Redis and Kafka.

Also: a wrong PIN, an unknown Employee ID, a clock the worker is not assigned to and a locked
PIN each give their reason and record nothing; the same attempt sent three times makes one
punch; a revoked clock is refused at once; no PIN in any service's log."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.support.gateway import (
    assign,
    create_tenant,
    kiosk,
    login,
    pin_attempt,
    punch_decided,
    register_clock,
)
from tests.support.identity import assignments_known
from tests.support.punch import known
from tests.support.services import kiosk_system
from tests.support.stack import unique

PIN = "604137"
WRONG = "111999"
PASSWORD = "a long admin password"
LOCK_AFTER = 3


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pin_punch")
    async with kiosk_system(tmp, identity_env={"PIN_LOCKOUT_THRESHOLD": str(LOCK_AFTER)}) as system:
        yield system


async def punch_count(http: httpx.AsyncClient, worker_id: str) -> int:
    response = await http.get("/punches", params={"worker_id": worker_id})
    assert response.status_code == 200, response.text
    return len(response.json()["data"])


async def at_front_door(system, admin: httpx.AsyncClient, tenant_id: str, employee_id: str):
    """A new Active worker "Ana Pérez" assigned to a new clock "Front door" (not to the "Back
    door" registered beside it), once punch and identity know them: (worker id, (front clock,
    credential), (back clock, credential))."""
    created = await admin.post(
        "/workers", json={"employee_id": employee_id, "name": "Ana Pérez", "status": "Active"}
    )
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    front, back = [await register_clock(admin, name) for name in ("Front door", "Back door")]
    assigned = await assign(admin, front[0], worker_id)
    assert assigned.status_code in (200, 201), assigned.text
    await known(
        system["punch"],
        tenant_id,
        workers=[worker_id],
        clocks=[front[0], back[0]],
        pairs=[(front[0], worker_id)],
    )
    await assignments_known(system["identity"], tenant_id, [(front[0], worker_id)])
    return worker_id, front, back


async def test_pin_punches_through_the_kiosk_edge(system):
    gateway = system["gateway"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    async with admin:
        employee_id = unique("E")[:20]
        worker_id, (front, front_credential), (back, back_credential) = await at_front_door(
            system, admin, tenant_id, employee_id
        )
        assert (await admin.put(f"/workers/{worker_id}/pin", json={"pin": PIN})).status_code == 200

        async with kiosk(gateway, front_credential) as http:
            # The right PIN: recorded, with the worker's name.
            attempt = pin_attempt(employee_id, PIN)
            answer = await punch_decided(http, attempt)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["status"] == "recorded", body
            assert body["punch"]["display_name"] == "Ana Pérez"
            assert body["punch"]["direction"] == "IN"
            # The same attempt twice more: the same answer, no second punch.
            for _ in range(2):
                again = await punch_decided(http, attempt)
                assert again.status_code == 200 and again.json()["status"] == "recorded"
                assert again.json()["punch"]["punch_id"] == body["punch"]["punch_id"]
            fetched = await http.get(f"/punches/{attempt['attempt_id']}")
            assert fetched.json()["punch"]["punch_id"] == body["punch"]["punch_id"]

            # Unknown Employee ID.
            unknown = (await punch_decided(http, pin_attempt("NOPE-404", PIN))).json()
            assert unknown["status"] == "rejected" and unknown["reason"] == "UNKNOWN_USER"

            # Wrong PINs until the lock, then even the right PIN is locked out.
            for tries_left in range(LOCK_AFTER - 1, 0, -1):
                wrong = (await punch_decided(http, pin_attempt(employee_id, WRONG))).json()
                assert wrong["status"] == "rejected" and wrong["reason"] == "WRONG_PIN", wrong
                assert wrong["attempts_remaining"] == tries_left
            locked = (await punch_decided(http, pin_attempt(employee_id, WRONG))).json()
            assert locked["reason"] == "LOCKED_OUT" and locked["locked_until"]
            still = (await punch_decided(http, pin_attempt(employee_id, PIN))).json()
            assert still["reason"] == "LOCKED_OUT"

        assert await punch_count(admin, worker_id) == 1

        # The admin reads the ledger through the gateway, and voids the punch with a reason:
        # a new entry, audited with the punch as its target.
        punch_id = body["punch"]["punch_id"]
        listed = (await admin.get("/punches", params={"worker_id": worker_id})).json()["data"]
        assert [(p["id"], p["method"], p["display_name"]) for p in listed] == [
            (punch_id, "PIN", "Ana Pérez")
        ]
        today = datetime.now(UTC).date().isoformat()
        sheet = await admin.get("/timesheets", params={"from": today, "to": today})
        assert sheet.status_code == 200, sheet.text
        voided = await admin.post(f"/punches/{punch_id}/void", json={"reason": "test punch"})
        assert voided.status_code == 200 and voided.json()["voided"] is True, voided.text
        audit = (await admin.get("/audit-log", params={"limit": 100})).json()["data"]
        [void_entry] = [r for r in audit if r["action"] == "POST /api/v1/punches/{id}/void"]
        assert void_entry["target_id"] == punch_id and void_entry["status_code"] == 200

        unlocked = await admin.post(f"/workers/{worker_id}/pin/unlock")
        assert unlocked.status_code in (200, 204), unlocked.text

        # The clock's PIN counters, through the gateway to identity: read, and reset.
        counters = await admin.get(f"/clocks/{front}/pin-counters")
        assert counters.status_code == 200, counters.text
        assert counters.json()["unknown_ids"] == 1 and counters.json()["wrong_pins"] == LOCK_AFTER
        reset = await admin.post(f"/clocks/{front}/pin-counters/reset")
        assert reset.status_code == 200, reset.text
        assert (await admin.get(f"/clocks/{front}/pin-counters")).json()["wrong_pins"] == 0

        # A clock the worker is not assigned to answers "Unknown User", as hardware clocks do,
        # whether the PIN is right or wrong: it checks no PIN (failed before: "Wrong PIN" for a
        # wrong one, so the clock told a stranger which PIN was right).
        async with kiosk(gateway, back_credential) as http:
            other = (await punch_decided(http, pin_attempt(employee_id, PIN))).json()
            assert other["status"] == "rejected" and other["reason"] == "UNKNOWN_USER", other
            wrong_there = await punch_decided(http, pin_attempt(employee_id, WRONG))
            assert {k: v for k, v in wrong_there.json().items() if k != "attempt_id"} == {
                k: v for k, v in other.items() if k != "attempt_id"
            }
        assert await punch_count(admin, worker_id) == 1

        # A revoked clock is refused at once, and nothing it sends is published.
        revoked = await admin.post(f"/clocks/{back}/revoke", json={"reason": "stolen"})
        assert revoked.status_code == 200, revoked.text
        async with kiosk(gateway, back_credential) as http:
            refused = await punch_decided(http, pin_attempt(employee_id, PIN))
            assert refused.status_code == 401, refused.text
        async with kiosk(gateway, "pcc_nonsense") as http:
            assert (await punch_decided(http, pin_attempt(employee_id, PIN))).status_code == 401

    # Standalone (not part of a longer hex id or timestamp), neither PIN is in any log.
    for service in system["all"]:
        log = service.log_file.read_text()
        for pin in (PIN, WRONG):
            assert not re.search(rf"(?<![0-9a-fA-F]){pin}(?![0-9a-fA-F])", log), service.name


async def test_an_employee_id_typed_in_other_capitals_is_the_same_worker(system):
    """The kiosk's keypad types capitals: a worker entered as ``js…`` punches as ``JS…``, and
    no other worker may take ``JS…``."""
    gateway = system["gateway"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    async with admin:
        employee_id = f"js{uuid.uuid4().hex[:10]}"
        worker_id, (_, front_credential), _ = await at_front_door(
            system, admin, tenant_id, employee_id
        )
        assert (await admin.put(f"/workers/{worker_id}/pin", json={"pin": PIN})).status_code == 200
        taken = await admin.post(
            "/workers",
            json={"employee_id": employee_id.upper(), "name": "Other", "status": "Active"},
        )
        assert taken.status_code == 409 and taken.json()["code"] == "DUPLICATE_EMPLOYEE_ID"
        async with kiosk(gateway, front_credential) as http:
            answer = await punch_decided(http, pin_attempt(employee_id.upper(), PIN))
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["status"] == "recorded", body
            assert body["punch"]["display_name"] == "Ana Pérez"
        [punch] = (await admin.get("/punches", params={"worker_id": worker_id})).json()["data"]
        assert punch["method"] == "PIN"
        worker = (await admin.get(f"/workers/{worker_id}")).json()
        assert worker["employee_id"] == employee_id  # shown as the admin entered it
