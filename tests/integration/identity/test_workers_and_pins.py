"""Identity for real: PostgreSQL (with row-level security), Redis and Kafka. Each test makes
its own tenant."""

import uuid

import asyncpg
from aiokafka import AIOKafkaProducer
from punchcard_kit.messaging.connection import kafka_options

from tests.support.databases import role_of
from tests.support.identity import reason
from tests.support.messaging import wait_for
from tests.support.stack import KAFKA


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


async def test_a_search_is_taken_literally(identity):
    """``_`` and ``%`` in a search are characters (Employee IDs hold ``_``), not wildcards."""
    async with identity.admin(tenant()) as http:
        for employee_id in ("EMP_001", "EMP-001", "EMPX001"):
            await _worker(http, employee_id)
        named = await http.post("/workers", json={"employee_id": "E7", "name": "Ana 100% Pérez"})
        assert named.status_code == 201, named.text

        async def found(search: str) -> list[str]:
            answer = await http.get("/workers", params={"search": search})
            assert answer.status_code == 200, answer.text
            return sorted(w["employee_id"] for w in answer.json()["data"])

        assert await found("emp_001") == ["EMP_001"]
        assert await found("EMP-0") == ["EMP-001"]
        assert await found("100%") == ["E7"]
        assert await found("%") == ["E7"]
        assert await found("_") == ["EMP_001"]
        assert await found("\\") == []


async def test_a_search_finds_names_in_any_case_of_any_script(identity):
    """The database's C locale lower-cases A-Z only; the search folds every script."""
    async with identity.admin(tenant()) as http:
        for employee_id, name in (
            ("A1", "Émile Zola"),
            ("A2", "ÉMILE ZOLA"),
            ("A3", "émile zola"),
            ("A4", "Ørjan Berg"),
            ("A5", "Åsa Lind"),
            ("A6", "Jürgen MÜLLER"),
            ("A7", "Zoë"),
        ):
            added = await http.post("/workers", json={"employee_id": employee_id, "name": name})
            assert added.status_code == 201, added.text

        async def found(search: str) -> list[str]:
            answer = await http.get("/workers", params={"search": search})
            assert answer.status_code == 200, answer.text
            return sorted(w["employee_id"] for w in answer.json()["data"])

        for search in ("Émile", "émile", "ÉMILE ZOLA"):
            assert await found(search) == ["A1", "A2", "A3"], search
        assert await found("ørjan") == ["A4"]
        assert await found("ÅSA") == ["A5"]
        assert await found("müller") == ["A6"]
        assert await found("ZOË") == ["A7"]


async def test_the_list_sorts_names_as_people_read_them_in_any_script(identity):
    """By name in ICU's root collation (``punchcard_kit.db.ordered``), not by the database's C
    locale's bytes, which put "Åsa" and "Émile" after "Zoë" and "anna" far from "Anna": case
    and accents only break ties. A page at a time, the sysadmin's list (the tenant's index) and
    a manager's (their sites' index) alike."""
    t = tenant()
    # (name, site), added out of order; the two sites' names interleave.
    workers = [
        ("Zoë", "north"),
        ("Åsa", "south"),
        ("anna", "north"),
        ("Émile", "south"),
        ("Bob", "north"),
        ("Anna", "south"),
        ("emile", "north"),
        ("Ørjan", "south"),
        ("Oscar", "north"),
    ]
    expected = ["anna", "Anna", "Åsa", "Bob", "emile", "Émile", "Ørjan", "Oscar", "Zoë"]
    async with identity.admin(t) as http:
        for n, (name, site_id) in enumerate(workers):
            body = {"employee_id": f"S{n}", "name": name, "site_id": site_id, "status": "Active"}
            added = await http.post("/workers", json=body)
            assert added.status_code == 201, added.text

        async def names(client, **params) -> list[str]:
            """Every page of the list, two workers a page."""
            listed, offset = [], 0
            while True:
                answer = await client.get(
                    "/workers", params={**params, "offset": offset, "limit": 2}
                )
                assert answer.status_code == 200, answer.text
                listed += [w["name"] for w in answer.json()["data"]]
                offset += 2
                if offset >= answer.json()["count"]:
                    return listed

        assert await names(http) == expected
        assert await names(http, status="Active") == expected
        # A search keeps the order: "a" is in every name but Bob's, the Emiles' and Zoë's.
        assert await names(http, search="a") == [n for n in expected if "a" in n.lower()]
    site = dict(workers)
    async with identity.admin(t, role="manager", sites=("north", "south")) as manager:
        assert await names(manager) == expected
    async with identity.admin(t, role="manager", sites=("south",)) as manager:
        assert await names(manager) == [n for n in expected if site[n] == "south"]


async def test_the_list_answers_for_the_workers_asked_about(identity):
    """``worker_id`` (repeated): those workers only, by name, as the caller may see them."""
    a, b = tenant(), tenant()
    async with identity.admin(a) as http, identity.admin(b) as other:
        north = [await _worker(http, site_id="north") for _ in range(3)]
        south = await _worker(http, site_id="south")
        theirs = await _worker(other)
        asked = [north[0]["id"], north[2]["id"].upper(), south["id"], theirs["id"]]
        answer = (await http.get("/workers", params={"worker_id": asked})).json()
        # Another tenant's worker is not there; an id is matched whatever its case.
        assert answer["count"] == 3
        assert {w["id"] for w in answer["data"]} == {north[0]["id"], north[2]["id"], south["id"]}
        page = (await http.get("/workers", params={"worker_id": asked, "limit": 2})).json()
        assert page["count"] == 3 and len(page["data"]) == 2
        none = (await http.get("/workers", params={"worker_id": [theirs["id"]]})).json()
        assert none == {"data": [], "count": 0}
        for bad, field in (
            ({"worker_id": [north[0]["id"], "not-a-uuid"]}, "worker_id.1"),
            ({"worker_id": [str(uuid.uuid4()) for _ in range(201)]}, "worker_id"),
        ):
            refused = await http.get("/workers", params=bad)
            assert refused.status_code == 422 and refused.json()["field"] == field, refused.text
    async with identity.admin(a, role="manager", sites=("south",)) as manager:
        mine = (await manager.get("/workers", params={"worker_id": asked})).json()
        assert [w["id"] for w in mine["data"]] == [south["id"]] and mine["count"] == 1


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
        # Adding or moving a worker to a site they do not manage: 403, as every service says.
        for call, path in ((manager.post, "/workers"), (manager.patch, f"/workers/{mine['id']}")):
            body = {"employee_id": "E10", "name": "Y", "site_id": "north"}
            refused = await call(path, json=body if call == manager.post else {"site_id": "north"})
            assert refused.status_code == 403 and refused.json()["code"] == "SITE_NOT_MANAGED"
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


async def test_five_wrong_pins_lock_the_worker_at_that_clock_only_until_unlocked(identity, kiosk):
    t = tenant()
    async with identity.admin(t) as http:
        wid = (await _worker(http, "E300"))["id"]
        await http.put(f"/workers/{wid}/pin", json={"pin": "58203"})
        outcomes = [reason(await kiosk.punch(t, "E300", "00001")) for _ in range(5)]
        assert outcomes == ["WRONG_PIN"] * 4 + ["LOCKED_OUT"]
        # Locked at that clock: even the right PIN is refused there ...
        locked = await kiosk.punch(t, "E300", "58203")
        assert reason(locked) == "LOCKED_OUT" and locked.locked_until.seconds > 0
        # ... but wrong PINs at one clock do not lock the worker at another (failed before:
        # 5 wrong PINs from any clock locked the worker everywhere).
        assert reason(await kiosk.punch(t, "E300", "58203", clock_id="clock-2")) == "IDENTIFIED"
        seen = (await http.get(f"/workers/{wid}")).json()
        assert seen["pin_locked_until"] is None
        # The admin sees where the PIN is locked (the kiosk said "ask your manager").
        (lock,) = seen["pin_locked_at_clocks"]
        assert lock["clock_id"] == "clock-1" and lock["locked_until"]

        unlocked = await http.post(f"/workers/{wid}/pin/unlock")
        assert unlocked.json()["pin_locked_until"] is None
        assert (await http.get(f"/workers/{wid}")).json()["pin_locked_at_clocks"] == []
        assert reason(await kiosk.punch(t, "E300", "58203")) == "IDENTIFIED"


async def test_wrong_pins_at_many_clocks_lock_the_worker_everywhere(identity, kiosk):
    t = tenant()
    async with identity.admin(t) as http:
        wid = (await _worker(http, "E310"))["id"]
        await http.put(f"/workers/{wid}/pin", json={"pin": "58203"})
        outcomes = []
        for clock in ("c-1", "c-2", "c-3"):  # 5 at each: 15 in all (the default limit)
            outcomes += [
                reason(await kiosk.punch(t, "E310", "00001", clock_id=clock)) for _ in range(5)
            ]
        assert outcomes[-1] == "LOCKED_OUT" and outcomes[:4] == ["WRONG_PIN"] * 4
        # Locked everywhere, for a bounded time, and the admin sees it.
        assert reason(await kiosk.punch(t, "E310", "58203", clock_id="c-4")) == "LOCKED_OUT"
        assert (await http.get(f"/workers/{wid}")).json()["pin_locked_until"] is not None
        await http.post(f"/workers/{wid}/pin/unlock")
        assert reason(await kiosk.punch(t, "E310", "58203", clock_id="c-1")) == "IDENTIFIED"


async def test_a_correct_and_a_wrong_pin_at_an_unassigned_clock_answer_the_same(identity, kiosk):
    t = tenant()
    async with identity.admin(t) as http:
        wid = (await _worker(http, "E320"))["id"]
        await http.put(f"/workers/{wid}/pin", json={"pin": "58203"})
    # Failed before: the right PIN said "Identified" (then punch: "Unknown User") and a wrong
    # one "Wrong PIN", so an unassigned clock told a stranger whether a PIN was right.
    right = await kiosk.punch(t, "E320", "58203", clock_id="elsewhere", assigned=False)
    wrong = await kiosk.punch(t, "E320", "00001", clock_id="elsewhere", assigned=False)
    stranger = await kiosk.punch(t, "NOBODY-320", "58203", clock_id="elsewhere")
    assert reason(right) == reason(wrong) == reason(stranger) == "UNKNOWN_USER"
    assert right.worker_id == wrong.worker_id == stranger.worker_id == ""
    assert right.attempts_remaining == wrong.attempts_remaining == 0
    assert reason(await kiosk.punch(t, "E320", "58203", clock_id="assigned-here")) == "IDENTIFIED"


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


async def test_bogus_ids_at_a_clock_do_not_stop_a_known_workers_pin(identity, kiosk):
    t, door = str(uuid.uuid4()), str(uuid.uuid4())
    await kiosk.register_clock(t, door)
    async with identity.admin(t) as http:
        wid = (await _worker(http, "E600"))["id"]
        await http.put(f"/workers/{wid}/pin", json={"pin": "30517"})
        # Someone tries Employee IDs at one clock: 30 (the old clock limit) and more ...
        for i in range(31):
            verdict = await kiosk.punch(t, f"GUESS{i}", "48213", clock_id=door)
            assert reason(verdict) == "UNKNOWN_USER"
        # ... counted apart: the known worker's right PIN is still taken there (failed before:
        # LOCKED_OUT for everyone at that clock).
        assert reason(await kiosk.punch(t, "E600", "30517", clock_id=door)) == "IDENTIFIED"
        counters = await http.get(f"/clocks/{door}/pin-counters")
        assert counters.json() == {"clock_id": door, "unknown_ids": 31, "wrong_pins": 0}


async def test_many_wrong_pins_at_a_clock_stop_pins_there_until_an_admin_resets_it(identity, kiosk):
    t, door = str(uuid.uuid4()), str(uuid.uuid4())
    await kiosk.register_clock(t, door)
    async with identity.admin(t) as http:
        for n in range(7):
            wid = (await _worker(http, f"E61{n}"))["id"]
            await http.put(f"/workers/{wid}/pin", json={"pin": "30517"})
    # Someone tries PINs of six known workers at one clock: 30 wrong PINs (the limit) ...
    for n in range(6):
        for _ in range(5):
            await kiosk.punch(t, f"E61{n}", "00001", clock_id=door)
    # ... and that clock checks no PIN for now, not even a seventh worker's right one.
    assert reason(await kiosk.punch(t, "E616", "30517", clock_id=door)) == "LOCKED_OUT"
    async with identity.admin(t) as http:
        counts = (await http.get(f"/clocks/{door}/pin-counters")).json()
        assert counts == {"clock_id": door, "unknown_ids": 0, "wrong_pins": 30}
    # Viewers may not reset a clock; managers and sysadmins may.
    async with identity.admin(t, role="viewer") as viewer:
        refused = await viewer.post(f"/clocks/{door}/pin-counters/reset")
        assert refused.status_code == 403, refused.text
    # A manager of another site, and any caller asking of a clock no one registered: 404.
    async with identity.admin(t, role="manager", sites=("south",)) as elsewhere:
        for call in (elsewhere.get, elsewhere.post):
            path = f"/clocks/{door}/pin-counters" + ("/reset" if call == elsewhere.post else "")
            refused = await call(path)
            assert refused.status_code == 404 and refused.json()["code"] == "CLOCK_NOT_FOUND"
    async with identity.admin(t) as http:
        unknown = await http.get(f"/clocks/{uuid.uuid4()}/pin-counters")
        assert unknown.status_code == 404 and unknown.json()["field"] == "clock_id"
        assert (await http.get(f"/clocks/{door}/pin-counters")).json()["wrong_pins"] == 30
    async with identity.admin(t, role="manager", sites=("north",)) as manager:
        reset = await manager.post(f"/clocks/{door}/pin-counters/reset")
        assert reset.status_code == 200, reset.text
    assert reason(await kiosk.punch(t, "E616", "30517", clock_id=door)) == "IDENTIFIED"
    async with identity.admin(t) as http:
        assert (await http.get("/clocks/bad id!/pin-counters")).status_code in (404, 422)
        # A clock id is device-sync's UUID: anything else is refused, as at device-sync.
        assert (await http.get("/clocks/door-9/pin-counters")).status_code == 422


async def test_pin_attempts_are_verified_on_four_lanes(identity):
    """Four consumers of identity.pin-attempts in the process (PIN_VERIFY_LANES), all ready."""
    import httpx

    async with httpx.AsyncClient() as http:
        checks = (await http.get(identity.url + "/readyz")).json()["checks"]
    lanes = [name for name in checks if name.startswith("consumer:identity.pin-attempts")]
    assert len(lanes) == 4 and all(checks[name] == "ok" for name in lanes)


async def test_an_admin_edit_is_not_blocked_behind_a_batch_verifying_that_workers_pins(
    identity, kiosk
):
    """Failed before: verification held the worker's row lock (SELECT … FOR UPDATE) across
    argon2 for the whole batch, so an admin's edit of that worker waited for every hash of the
    batch (seconds at shift change)."""
    from punchcard_identity.adapters.sealing import seal_pin

    t = tenant()
    async with identity.admin(t) as http:
        wid = (await _worker(http, "E700"))["id"]
        await http.put(f"/workers/{wid}/pin", json={"pin": "30517"})
        await kiosk.assign_employee(t, "E700", "clock-1")
        # One batch of the worker's attempts (one Kafka batch: one fetch, one transaction).
        batcher = AIOKafkaProducer(**kafka_options(KAFKA, linger_ms=2000, max_batch_size=1 << 20))
        await batcher.start()
        try:
            sent = [
                await kiosk.send(t, "E700", "30517", "clock-1", seal_pin, batcher)
                for _ in range(60)
            ]
            await batcher.flush()
        finally:
            await batcher.stop()

        def verified() -> int:
            log = identity.log_file.read_text()
            return sum(1 for attempt_id in sent if attempt_id in log)

        async def started() -> bool:
            return verified() > 0

        await wait_for(started, timeout=60, interval=0.02, what="the batch started")
        edited = await http.patch(f"/workers/{wid}", json={"job_title": "Shift lead"})
        done_when_edited = verified()
        assert edited.status_code == 200, edited.text
        # The edit was answered while the batch was still verifying the worker's PINs.
        assert done_when_edited < len(sent), "the edit waited for the whole batch"

        # Every attempt of the batch verified, and identified (this identity's log: other
        # processes on the shared topics may answer too).
        async def all_verified() -> bool:
            return verified() == len(sent)

        await wait_for(all_verified, timeout=120, what="the whole batch verified")
        lines = [
            line for line in identity.log_file.read_text().splitlines() if "pin attempt" in line
        ]
        for attempt_id in sent:
            [line] = [x for x in lines if attempt_id in x]
            assert "WorkerIdentified" in line
        assert (await http.get(f"/workers/{wid}")).json()["job_title"] == "Shift lead"


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
