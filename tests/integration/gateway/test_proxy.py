"""Forwarding to identity: the internal caller arrives verified, status and body come back
unchanged, the role table applies before anything is sent, 503 when identity is down."""

import asyncpg

from .conftest import free_port, new_id, running_gateway


async def test_forwards_method_path_query_body_and_the_verified_caller(gateway):
    sysadmin = await gateway.new_tenant()
    manager = await gateway.add_user(sysadmin, "manager", site_ids=["north", "south"])
    worker = new_id()
    response = await gateway.http.patch(
        f"/api/v1/workers/{worker}?status=202&x=a%20b",
        headers={**await gateway.headers(manager), "X-Request-Id": "req-proxy-1"},
        json={"name": "Ada"},
    )
    assert response.status_code == 202, response.text
    assert response.headers["content-type"] == "application/json"
    echoed = response.json()
    assert echoed["method"] == "PATCH"
    assert echoed["path"] == f"/internal/v1/workers/{worker}"
    assert echoed["query"] == "status=202&x=a%20b"
    assert echoed["body"] == '{"name":"Ada"}'
    assert echoed["content_type"] == "application/json"
    assert echoed["x_request_id"] == "req-proxy-1"
    assert echoed["caller"] == {
        "tenant_id": manager.tenant_id,
        "user_id": manager.user_id,
        "role": "manager",
        "sites": ["north", "south"],
        "ip": "203.0.113.7",
        "request_id": "req-proxy-1",
    }


async def test_every_prefix_is_forwarded_and_errors_pass_through_unchanged(gateway):
    sysadmin = await gateway.new_tenant()
    viewer = await gateway.add_user(sysadmin, "viewer")
    headers = await gateway.headers(viewer)
    for path, upstream in (
        ("/api/v1/workers", "/internal/v1/workers"),
        ("/api/v1/reports/stale-pins", "/internal/v1/reports/stale-pins"),
        ("/api/v1/pin-policy", "/internal/v1/pin-policy"),
    ):
        response = await gateway.http.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.json()["path"] == upstream
        assert response.json()["caller"]["role"] == "viewer"
    # Identity's own 404 / 409 come back as they are.
    for status in (404, 409, 422):
        response = await gateway.http.get(
            f"/api/v1/workers/{new_id()}?status={status}", headers=headers
        )
        assert response.status_code == status
        assert response.json()["caller"]["user_id"] == viewer.user_id


async def test_the_role_table_is_applied_before_forwarding(gateway):
    sysadmin = await gateway.new_tenant()
    viewer = await gateway.add_user(sysadmin, "viewer")
    manager = await gateway.add_user(sysadmin, "manager", site_ids=["s1"])
    as_viewer = await gateway.headers(viewer)
    as_manager = await gateway.headers(manager)
    as_sysadmin = await gateway.headers(sysadmin)
    worker = new_id()

    async def status(method, path, headers, body=None):
        response = await gateway.http.request(method, path, headers=headers, json=body)
        return response.status_code

    assert await status("POST", "/api/v1/workers", as_viewer, {"name": "x"}) == 403
    assert await status("PATCH", f"/api/v1/workers/{worker}", as_viewer, {}) == 403
    assert await status("POST", "/api/v1/workers", as_manager, {"name": "x"}) == 200
    assert await status("PATCH", f"/api/v1/workers/{worker}", as_manager, {}) == 200
    for method, path in (
        ("PUT", f"/api/v1/workers/{worker}/pin"),
        ("DELETE", f"/api/v1/workers/{worker}/pin"),
        ("POST", f"/api/v1/workers/{worker}/pin/generate"),
        ("POST", f"/api/v1/workers/{worker}/pin/unlock"),
        ("PUT", f"/api/v1/workers/{worker}/pin-allowed"),
        ("PUT", "/api/v1/pin-policy"),
    ):
        assert await status(method, path, as_manager, {"pin": "8264"}) == 403, path
        assert await status(method, path, as_viewer, {"pin": "8264"}) == 403, path
        assert await status(method, path, as_sysadmin, {"pin": "8264"}) == 200, path
    # A write the table does not list is for sysadmins only.
    assert await status("DELETE", f"/api/v1/workers/{worker}", as_manager) == 403
    # No credentials: nothing is forwarded.
    response = await gateway.http.get("/api/v1/workers")
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


async def test_an_oversized_body_is_refused_before_forwarding(gateway):
    sysadmin = await gateway.new_tenant()
    response = await gateway.http.post(
        "/api/v1/workers",
        headers={**await gateway.headers(sysadmin), "content-type": "application/json"},
        content=b'{"name": "' + b"x" * (1024 * 1024) + b'"}',
    )
    assert response.status_code == 413 and response.json()["code"] == "TOO_LARGE"


async def test_dot_segments_are_refused_not_normalised(gateway):
    sysadmin = await gateway.new_tenant()
    manager = await gateway.add_user(sysadmin, "manager")
    # Checked as a worker PATCH, it must not reach /internal/v1/pin-policy.
    response = await gateway.http.request(
        "PATCH",
        "/api/v1/workers/%2E%2E/%2E%2E/pin-policy",
        headers=await gateway.headers(manager),
        json={},
    )
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


async def test_proxied_changes_are_audited_by_template_and_target_without_the_body(gateway):
    sysadmin = await gateway.new_tenant()
    worker = new_id()
    response = await gateway.http.put(
        f"/api/v1/workers/{worker}/pin",
        headers=await gateway.headers(sysadmin),
        json={"pin": "739164"},
    )
    assert response.status_code == 200
    viewer = await gateway.add_user(sysadmin, "viewer")
    denied = await gateway.http.put(
        f"/api/v1/workers/{worker}/pin",
        headers=await gateway.headers(viewer),
        json={"pin": "739164"},
    )
    assert denied.status_code == 403
    conn = await asyncpg.connect(gateway.dsn)
    try:
        rows = await conn.fetch(
            "SELECT * FROM audit_log WHERE tenant_id = $1 AND target_id = $2 ORDER BY at",
            sysadmin.tenant_id,
            worker,
        )
    finally:
        await conn.close()
    assert [(r["action"], r["status_code"]) for r in rows] == [
        ("PUT /api/v1/workers/{id}/pin", 200),
        ("PUT /api/v1/workers/{id}/pin", 403),
    ]
    assert str(rows[0]["actor_id"]) == sysadmin.user_id
    assert str(rows[1]["actor_id"]) == viewer.user_id
    assert "739164" not in repr([dict(r) for r in rows])


async def test_identity_down_is_503_with_a_clear_code(gateway, capfd):
    dead = f"http://127.0.0.1:{free_port()}"
    async with running_gateway(gateway.dsn, dead) as (app, http):
        sysadmin = await gateway.new_tenant()
        tokens = await gateway.login(sysadmin.email)
        response = await http.get(
            "/api/v1/workers", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    assert response.status_code == 503
    assert response.json()["code"] == "UPSTREAM_UNAVAILABLE"
    assert response.json()["field"] is None
    assert "identity unavailable" in capfd.readouterr().err
