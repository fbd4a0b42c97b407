"""Identity for real: PostgreSQL (with row-level security), Redis and Kafka. Each test makes
its own tenant."""

import uuid

import asyncpg

from tests.support.databases import role_of
from tests.support.identity import reason


def tenant() -> str:
    return str(uuid.uuid4())


async def _worker(http, employee_id=None, status="Active", site_id="north"):
    response = await http.post(
        "/workers",
        json={
            "employee_id": employee_id or f"E{uuid.uuid4().hex[:6]}",
            "name": "Ada Lovelace",
            "job_title": "Engineer",
            "site_id": site_id,
            "status": status,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_worker_register_list_edit_and_errors(identity):
    t = tenant()
    async with identity.admin(t) as http:
        ada = await _worker(http, "E100")
        assert ada["status"] == "Active" and ada["pin_set"] is False and "pin" not in ada
        await _worker(http, "E101", status="Pending")

        duplicate = await http.post("/workers", json={"employee_id": "E100", "name": "Other"})
        assert duplicate.status_code == 409
        assert duplicate.json() == {
            "code": "DUPLICATE_EMPLOYEE_ID",
            "field": "employee_id",
            "message": duplicate.json()["message"],
        }
        invalid = await http.post("/workers", json={"employee_id": "bad id!", "name": "X"})
        assert invalid.status_code == 422 and invalid.json()["field"] == "employee_id"
        assert (await http.get("/workers")).json()["count"] == 2  # nothing changed

        found = (await http.get("/workers", params={"search": "e100"})).json()
        assert [w["employee_id"] for w in found["data"]] == ["E100"]
        pending = (await http.get("/workers", params={"status": "Pending"})).json()
        assert [w["employee_id"] for w in pending["data"]] == ["E101"]
        page = (await http.get("/workers", params={"limit": 1, "offset": 1})).json()
        assert page["count"] == 2 and len(page["data"]) == 1

        edited = await http.patch(
            f"/workers/{ada['id']}", json={"name": "Ada King", "status": "Inactive"}
        )
        assert edited.status_code == 200 and edited.json()["name"] == "Ada King"
        assert edited.json()["status"] == "Inactive"
        assert (await http.get(f"/workers/{uuid.uuid4()}")).status_code == 404
        assert (await http.get("/workers/not-a-uuid")).status_code == 404


async def test_roles_and_tenant_isolation(identity):
    a, b = tenant(), tenant()
    async with identity.admin(a) as http_a, identity.admin(b) as http_b:
        worker = await _worker(http_a)
        # Another tenant's worker does not exist for B: 404 for read, change and PIN alike.
        assert (await http_b.get(f"/workers/{worker['id']}")).status_code == 404
        assert (
            await http_b.patch(f"/workers/{worker['id']}", json={"name": "X"})
        ).status_code == 404
        assert (
            await http_b.put(f"/workers/{worker['id']}/pin", json={"pin": "8351"})
        ).status_code == 404
        assert (await http_b.get("/workers")).json()["count"] == 0
    async with identity.admin(a, role="viewer") as viewer:
        assert (await viewer.get(f"/workers/{worker['id']}")).status_code == 200
        assert (
            await viewer.post("/workers", json={"employee_id": "E9", "name": "X"})
        ).status_code == 403
        assert (
            await viewer.put(f"/workers/{worker['id']}/pin", json={"pin": "8351"})
        ).status_code == 403
    async with identity.admin(a, role="manager", sites=("south",)) as manager:
        assert (await manager.get(f"/workers/{worker['id']}")).status_code == 404  # not their site
        mine = await _worker(manager, site_id="south")
        assert (await manager.get("/workers")).json()["data"] == [mine]
        assert (
            await manager.put(f"/workers/{mine['id']}/pin", json={"pin": "8351"})
        ).status_code == 403


async def test_pin_lifecycle_verified_through_kafka(identity, kiosk):
    t = tenant()
    async with identity.admin(t) as http:
        worker = await _worker(http, "E200")
        wid = worker["id"]
        assert reason(await kiosk.punch(t, "E200", "8351")) == "PIN_NOT_SET"

        weak = await http.put(f"/workers/{wid}/pin", json={"pin": "1234"})
        assert weak.status_code == 422
        assert weak.json()["code"] == "PIN_SEQUENCE" and weak.json()["field"] == "pin"
        assert (await http.get(f"/workers/{wid}")).json()["pin_set"] is False

        response = await http.put(f"/workers/{wid}/pin", json={"pin": "8351"})
        assert response.status_code == 200 and response.json()["pin_set"] is True
        assert response.json()["pin_set_at"] and "8351" not in response.text

        identified = await kiosk.punch(t, "E200", "8351")
        assert reason(identified) == "IDENTIFIED" and identified.worker_id == wid
        wrong = await kiosk.punch(t, "E200", "8350")
        assert reason(wrong) == "WRONG_PIN" and wrong.attempts_remaining == 4

        assert (await http.put(f"/workers/{wid}/pin", json={"pin": "62917"})).status_code == 200
        assert reason(await kiosk.punch(t, "E200", "8351")) == "WRONG_PIN"
        assert reason(await kiosk.punch(t, "E200", "62917")) == "IDENTIFIED"

        generated = (await http.post(f"/workers/{wid}/pin/generate")).json()
        assert len(generated["pin"]) == 6 and generated["worker"]["pin_set"] is True
        assert reason(await kiosk.punch(t, "E200", generated["pin"])) == "IDENTIFIED"

        assert (await http.put(f"/workers/{wid}/pin-allowed", json={"allowed": False})).json()[
            "pin_allowed"
        ] is False
        assert reason(await kiosk.punch(t, "E200", generated["pin"])) == "PIN_NOT_ALLOWED"
        await http.put(f"/workers/{wid}/pin-allowed", json={"allowed": True})

        removed = await http.delete(f"/workers/{wid}/pin")
        assert removed.json()["pin_set"] is False
        assert reason(await kiosk.punch(t, "E200", generated["pin"])) == "PIN_NOT_SET"

        assert reason(await kiosk.punch(t, "NOBODY", "8351")) == "UNKNOWN_USER"
        await http.patch(f"/workers/{wid}", json={"status": "Inactive"})
        assert reason(await kiosk.punch(t, "E200", "8351")) == "INACTIVE"


async def test_lockout_after_five_failures_and_admin_unlock(identity, kiosk):
    t = tenant()
    async with identity.admin(t) as http:
        wid = (await _worker(http, "E300"))["id"]
        await http.put(f"/workers/{wid}/pin", json={"pin": "58203"})
        outcomes = [reason(await kiosk.punch(t, "E300", "00001")) for _ in range(5)]
        assert outcomes == ["WRONG_PIN"] * 4 + ["LOCKED_OUT"]
        # Locked: even the right PIN is refused, and the admin sees the lock.
        locked = await kiosk.punch(t, "E300", "58203")
        assert reason(locked) == "LOCKED_OUT" and locked.locked_until.seconds > 0
        assert (await http.get(f"/workers/{wid}")).json()["pin_locked_until"] is not None

        unlocked = await http.post(f"/workers/{wid}/pin/unlock")
        assert unlocked.json()["pin_locked_until"] is None
        assert reason(await kiosk.punch(t, "E300", "58203")) == "IDENTIFIED"


async def test_another_tenants_clock_cannot_verify_a_worker(identity, kiosk):
    a, b = tenant(), tenant()
    async with identity.admin(a) as http:
        wid = (await _worker(http, "E400"))["id"]
        await http.put(f"/workers/{wid}/pin", json={"pin": "47129"})
    assert reason(await kiosk.punch(b, "E400", "47129")) == "UNKNOWN_USER"
    assert reason(await kiosk.punch(a, "E400", "47129")) == "IDENTIFIED"


async def test_row_level_security_below_the_application(identity):
    a, b = tenant(), tenant()
    async with identity.admin(a) as http_a, identity.admin(b) as http_b:
        await _worker(http_a, "E500")
        await _worker(http_b, "E501")
    conn = await asyncpg.connect(identity.admin_url)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {await role_of(conn)}")
            assert await conn.fetchval("SELECT count(*) FROM workers") == 0  # no tenant set
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", a)
            rows = await conn.fetch("SELECT employee_id, tenant_id::text FROM workers")
            assert [(r[0], r[1]) for r in rows] == [("E500", a)]
            # Even a query naming the other tenant sees nothing of it.
            assert await conn.fetchval("SELECT count(*) FROM workers WHERE tenant_id = $1", b) == 0
            try:
                await conn.execute(
                    "INSERT INTO workers (id, tenant_id, employee_id, name, status)"
                    " VALUES ($1, $2, 'X', 'X', 'Active')",
                    uuid.uuid4(),
                    b,
                )
                raise AssertionError("RLS let a row into another tenant")
            except asyncpg.InsufficientPrivilegeError:
                pass
    finally:
        await conn.close()


async def test_a_clock_with_many_failures_takes_no_pin_for_a_while(identity, kiosk):
    t = str(uuid.uuid4())
    async with identity.admin(t) as http:
        wid = (await _worker(http, "E600"))["id"]
        await http.put(f"/workers/{wid}/pin", json={"pin": "30517"})
    # Someone tries Employee IDs at one clock: 30 failures (the default limit) ...
    for i in range(30):
        assert (
            reason(await kiosk.punch(t, f"GUESS{i}", "48213", clock_id="door-7")) == "UNKNOWN_USER"
        )
    # ... and that clock refuses even a right PIN, while another clock is unaffected.
    assert reason(await kiosk.punch(t, "E600", "30517", clock_id="door-7")) == "LOCKED_OUT"
    assert reason(await kiosk.punch(t, "E600", "30517", clock_id="door-8")) == "IDENTIFIED"


async def test_pin_attempts_are_verified_on_two_lanes(identity):
    """Two consumers of identity.pin-attempts in the process (PIN_VERIFY_LANES), both ready."""
    import httpx

    async with httpx.AsyncClient() as http:
        checks = (await http.get(identity.url + "/readyz")).json()["checks"]
    lanes = [name for name in checks if name.startswith("consumer:identity.pin-attempts")]
    assert len(lanes) == 2 and all(checks[name] == "ok" for name in lanes)


async def test_identity_serves_a_tenant_as_its_own_non_superuser_owner(identity):
    """Issue 14: the service logs in as the role that owns its database, no superuser, no
    CREATEDB, no CREATEROLE (as docs/deployment.md prescribes); it must still switch to its
    RLS role and serve a tenant. Before the fix: 500, "permission denied to set role"."""
    conn = await asyncpg.connect(identity.admin_url)
    try:
        owner = await conn.fetchrow(
            "SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls"
            " FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba"
            " WHERE d.datname = current_database()"
        )
    finally:
        await conn.close()
    assert identity.database_url.split("://", 1)[1].startswith(owner["rolname"] + ":")
    assert not any((owner["rolsuper"], owner["rolcreatedb"], owner["rolcreaterole"]))
    assert not owner["rolbypassrls"]
    async with identity.admin(tenant()) as http:
        worker = await _worker(http)
        listed = (await http.get("/workers")).json()["data"]
    assert [w["id"] for w in listed] == [worker["id"]]
