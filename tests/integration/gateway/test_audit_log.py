"""The audit log: who, what, when, from where — and never a body."""

import uuid

import asyncpg
from punchcard_gateway.adapters.postgres import AUDIT_PAGE_PLAN, audit_filter

from tests.support.plans import as_tenant, owner_connection, touched

from .conftest import CLIENT_IP, PASSWORD


async def _entries(gateway, admin, **params) -> dict:
    response = await gateway.http.get(
        "/api/v1/audit-log", headers=await gateway.headers(admin), params=params
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_change_and_logins_are_recorded_without_their_bodies(gateway):
    sysadmin = await gateway.new_tenant()
    viewer = await gateway.add_user(sysadmin, "viewer")
    secret_password = "failed-login-secret-Xq9"
    failed = await gateway.http.post(
        "/api/v1/auth/token", data={"username": viewer.email, "password": secret_password}
    )
    assert failed.status_code == 401
    headers = await gateway.headers(sysadmin)
    patched = await gateway.http.patch(
        f"/api/v1/users/{viewer.user_id}",
        headers={**headers, "User-Agent": "audit-test/1.0", "X-Request-Id": "req-audit-1"},
        json={"name": "Renamed Viewer"},
    )
    assert patched.status_code == 200
    assert patched.headers["x-request-id"] == "req-audit-1"

    log = await _entries(gateway, sysadmin)
    by_action: dict[str, list[dict]] = {}
    for entry in log["data"]:
        by_action.setdefault(entry["action"], []).append(entry)

    change = by_action["PATCH /api/v1/users/{id}"][0]
    assert change["actor_id"] == sysadmin.user_id
    assert change["target_id"] == viewer.user_id
    assert change["status_code"] == 200
    assert change["client_ip"] == CLIENT_IP
    assert change["user_agent"] == "audit-test/1.0"
    assert change["request_id"] == "req-audit-1"

    created = by_action["POST /api/v1/users"][0]
    assert created["status_code"] == 201 and created["actor_id"] == sysadmin.user_id

    logins = by_action["POST /api/v1/auth/token"]
    failure = next(e for e in logins if e["status_code"] == 401)
    assert failure["actor_id"] is None and failure["target_id"] == viewer.user_id
    assert any(e["status_code"] == 200 and e["actor_id"] == sysadmin.user_id for e in logins)

    # Reads are not recorded.
    assert not [e for e in log["data"] if e["action"].startswith("GET ")]

    # Filters.
    only_changes = await _entries(gateway, sysadmin, action="PATCH /api/v1/users/{id}")
    assert only_changes["count"] == 1
    by_actor = await _entries(gateway, sysadmin, actor=sysadmin.user_id)
    assert by_actor["count"] >= 3 and all(
        e["actor_id"] == sysadmin.user_id for e in by_actor["data"]
    )

    # Nothing from any body made it into the table.
    conn = await asyncpg.connect(gateway.admin_dsn)
    try:
        rows = await conn.fetch("SELECT * FROM audit_log WHERE tenant_id = $1", sysadmin.tenant_id)
    finally:
        await conn.close()
    dump = repr([dict(r) for r in rows])
    for secret in (secret_password, PASSWORD, "Renamed Viewer", viewer.email):
        assert secret not in dump


async def test_a_keyed_request_sent_again_is_recorded_as_a_repeat(gateway):
    """A service that answers a keyed request as the first time (punch's corrections: its
    ``Idempotent-Replayed: true``) changed nothing: the client learns it, and the audit row
    says so, so an auditor counts one correction. Any other answer is an action of its own."""
    sysadmin = await gateway.new_tenant()
    headers = {**await gateway.headers(sysadmin), "Idempotency-Key": "c0ffee00c0ffee01"}
    path = f"/api/v1/workers/{uuid.uuid4()}"
    first = await gateway.http.patch(f"{path}?status=201", headers=headers, json={})
    again = await gateway.http.patch(
        f"{path}?status=201&header=idempotent-replayed:true", headers=headers, json={}
    )
    odd = await gateway.http.patch(
        f"{path}?status=201&header=idempotent-replayed:yes", headers=headers, json={}
    )
    assert (first.status_code, again.status_code, odd.status_code) == (201, 201, 201)
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"

    log = await _entries(gateway, sysadmin, action="PATCH /api/v1/workers/{id}")
    assert [e["repeated"] for e in reversed(log["data"])] == [False, True, False]


async def test_failed_login_for_an_unknown_email_is_recorded_for_no_tenant(gateway):
    # Its own address and request id: the account's failed logins are counted in Redis, which
    # outlives the test's databases (a fixed address got 429 from the fourth run in a window).
    email = f"ghost-{uuid.uuid4().hex[:12]}@nowhere.example"
    request_id = f"req-ghost-{uuid.uuid4().hex}"
    response = await gateway.http.post(
        "/api/v1/auth/token",
        data={"username": email, "password": "ghost password 123"},
        headers={"X-Request-Id": request_id},
    )
    assert response.status_code == 401
    conn = await asyncpg.connect(gateway.admin_dsn)
    try:
        row = await conn.fetchrow("SELECT * FROM audit_log WHERE request_id = $1", request_id)
    finally:
        await conn.close()
    assert row["tenant_id"] is None and row["actor_id"] is None and row["target_id"] is None
    assert row["action"] == "POST /api/v1/auth/token" and row["status_code"] == 401
    assert email not in repr(dict(row)) and "ghost password" not in repr(dict(row))


async def test_audit_log_is_for_sysadmins_of_that_tenant_only(gateway):
    tenant_a = await gateway.new_tenant()
    tenant_b = await gateway.new_tenant()
    await gateway.add_user(tenant_b, "viewer")  # a change in B
    a_log = await _entries(gateway, tenant_a)
    assert all(e["actor_id"] != tenant_b.user_id for e in a_log["data"])
    assert all(e["target_id"] != tenant_b.user_id for e in a_log["data"])

    manager = await gateway.add_user(tenant_a, "manager", site_ids=["north"])
    response = await gateway.http.get("/api/v1/audit-log", headers=await gateway.headers(manager))
    assert response.status_code == 403


_FILL = """
INSERT INTO audit_log (tenant_id, actor_id, action, status_code, at)
SELECT $1, ($2::uuid[])[1 + n % cardinality($2::uuid[])],
       CASE WHEN n % 100 = 0 THEN 'DELETE /api/v1/users/{id}' ELSE 'PATCH /api/v1/users/{id}' END,
       200, now() - make_interval(mins => n)
FROM generate_series(1, $3) AS n
"""


# Other tenants' logs: many admins and actions, as a shared database holds (the column
# statistics then count thousands of distinct values).
_NOISE = """
INSERT INTO audit_log (tenant_id, actor_id, action, status_code, at)
SELECT $1, md5(n::text || $2)::uuid, 'POST /api/v1/noise/' || (n % 300), 200,
       now() - make_interval(secs => n)
FROM generate_series(1, $3) AS n
"""


async def test_a_page_reads_its_rows_not_the_whole_log(gateway):
    """A page of 50, with each filter or none, reads about its 50 rows newest first through an
    index, on two tenants' logs of 20,000 rows each beside other tenants' of thousands of
    admins and hundreds of actions, planned as the adapter plans it (``AUDIT_PAGE_PLAN``);
    its total is a count apart. (The page's ``count(*) OVER ()`` had read and sorted every
    matching row; a generic plan read 5,000 rows for an admin and an action together.)"""
    tenants = [uuid.UUID((await gateway.new_tenant()).tenant_id) for _ in range(5)]
    actors = [uuid.uuid4() for _ in range(4)]
    admin = await asyncpg.connect(gateway.admin_dsn)
    try:
        for tenant in tenants[:2]:
            await admin.execute(_FILL, tenant, actors, 20_000)
        for other in tenants[2:]:
            await admin.execute(_NOISE, other, str(other), 10_000)
        await admin.execute("ANALYZE audit_log")
    finally:
        await admin.close()
    tenant = tenants[0]
    async with owner_connection(gateway.dsn) as conn:
        for actor, action, types in (
            (None, None, "uuid"),
            (actors[0], None, "uuid, uuid"),
            (None, "DELETE /api/v1/users/{id}", "uuid, text"),
            (actors[1], "PATCH /api/v1/users/{id}", "uuid, uuid, text"),
        ):
            where, args = audit_filter(tenant, actor, action)
            page = f"SELECT * FROM audit_log WHERE {where} ORDER BY at DESC, id LIMIT 50"
            rows = await touched(conn, page, types, args, AUDIT_PAGE_PLAN, as_tenant(tenant))
            assert rows < 500, (actor, action, rows)
