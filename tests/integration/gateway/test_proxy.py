"""Forwarding to identity and device-sync: each path reaches its service with the internal
caller verified, status and body come back unchanged, the role table applies before anything
is sent, 503 naming the service when it is down, and a clock credential in an answer reaches
the admin and nothing else (no log line, no audit row)."""

import asyncpg

from .conftest import CLIENT_IP, free_port, new_id, running_gateway


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
    assert echoed["idempotency_key"] is None  # none sent, none made up
    assert echoed["caller"] == {
        "tenant_id": manager.tenant_id,
        "user_id": manager.user_id,
        "role": "manager",
        "sites": ["north", "south"],
        "ip": CLIENT_IP,
        "request_id": "req-proxy-1",
    }


async def test_a_corrections_idempotency_key_reaches_the_service(gateway):
    """punch keeps a correction's key (docs/punch.md): the gateway passes it on as sent."""
    sysadmin = await gateway.new_tenant()
    headers = {**await gateway.headers(sysadmin), "Idempotency-Key": "c0ffee00c0ffee00"}
    response = await gateway.http.patch(f"/api/v1/workers/{new_id()}", headers=headers, json={})
    assert response.status_code == 200, response.text
    assert response.json()["idempotency_key"] == "c0ffee00c0ffee00"
    # Not ASCII (a byte a fuzzer sends): passed on as it came, for punch to refuse; never a 500.
    odd = {**headers, "Idempotency-Key": "caf\xe9".encode("latin-1")}
    response = await gateway.http.patch(f"/api/v1/workers/{new_id()}", headers=odd, json={})
    assert response.status_code == 200, response.text
    assert response.json()["idempotency_key"] == "caf\xe9"


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


async def test_the_answers_headers_a_client_acts_on_pass_through(gateway):
    """A 405's Allow (RFC 9110), a 429's or 503's Retry-After, a download's file name and a
    new resource's Location reach the client; nothing else of the upstream's headers does."""
    sysadmin = await gateway.new_tenant()
    headers = await gateway.headers(sysadmin)
    passed = {
        "allow": "GET, POST",
        "retry-after": "7",
        "content-disposition": 'attachment; filename="timesheets.csv"',
        "location": "/internal/v1/workers/1",
    }
    query = "&".join(f"header={name}:{value}" for name, value in passed.items())
    response = await gateway.http.get(
        f"/api/v1/workers?status=405&{query}&header=x-internal:secret", headers=headers
    )
    assert response.status_code == 405
    for name, value in passed.items():
        assert response.headers.get(name) == value, name
    assert "x-internal" not in response.headers
    assert response.headers["cache-control"] == "no-store"


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
    manager = await gateway.add_user(sysadmin, "manager", site_ids=["north"])
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
    conn = await asyncpg.connect(gateway.admin_dsn)
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


async def test_identity_down_is_503_with_a_clear_code(gateway, device_sync_url, capfd):
    dead = f"http://127.0.0.1:{free_port()}"
    async with running_gateway(gateway.dsn, dead, device_sync_url) as (app, http):
        sysadmin = await gateway.new_tenant()
        tokens = await gateway.login(sysadmin.email)
        response = await http.get(
            "/api/v1/workers", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    assert response.status_code == 503
    assert response.json() == {
        "code": "UPSTREAM_UNAVAILABLE",
        "message": "the identity service is unavailable; try again",
        "field": None,
    }
    assert "identity unavailable" in capfd.readouterr().err


async def test_device_sync_paths_reach_device_sync_with_the_verified_caller(gateway):
    sysadmin = await gateway.new_tenant()
    manager = await gateway.add_user(sysadmin, "manager", site_ids=["north"])
    headers = {**await gateway.headers(manager), "X-Request-Id": "req-clocks-1"}
    clock, worker = new_id(), new_id()

    response = await gateway.http.get("/api/v1/clocks?site_id=north", headers=headers)
    assert response.status_code == 200, response.text
    echoed = response.json()
    assert echoed["upstream"] == "device-sync"
    assert echoed["path"] == "/internal/v1/clocks"
    assert echoed["query"] == "site_id=north"
    assert echoed["x_request_id"] == "req-clocks-1"
    assert echoed["caller"] == {
        "tenant_id": manager.tenant_id,
        "user_id": manager.user_id,
        "role": "manager",
        "sites": ["north"],
        "ip": CLIENT_IP,
        "request_id": "req-clocks-1",
    }
    for method, path, upstream in (
        ("GET", f"/api/v1/clocks/{clock}/commands", "device-sync"),
        ("PUT", f"/api/v1/clocks/{clock}/workers/{worker}", "device-sync"),
        ("DELETE", f"/api/v1/clocks/{clock}/workers/{worker}", "device-sync"),
        ("POST", "/api/v1/assignments", "device-sync"),
        ("GET", f"/api/v1/workers/{worker}/clocks", "device-sync"),
        ("GET", "/api/v1/sites/north/clock-rule", "device-sync"),
        # The rest of a worker is still identity's.
        ("GET", f"/api/v1/workers/{worker}", "identity"),
        ("PATCH", f"/api/v1/workers/{worker}", "identity"),
    ):
        body = {"assign": [{"clock_id": clock, "worker_id": worker}]} if method != "GET" else None
        response = await gateway.http.request(method, path, headers=headers, json=body)
        assert response.status_code == 200, (method, path, response.text)
        assert response.json()["upstream"] == upstream, (method, path)
        assert response.json()["path"] == path.replace("/api/", "/internal/", 1)
        assert response.json()["caller"]["user_id"] == manager.user_id

    # The clocks themselves are for sysadmins: refused before anything is sent.
    for method, path in (
        ("POST", "/api/v1/clocks"),
        ("PATCH", f"/api/v1/clocks/{clock}"),
        ("POST", f"/api/v1/clocks/{clock}/credential"),
        ("POST", f"/api/v1/clocks/{clock}/revoke"),
        ("POST", f"/api/v1/clocks/{clock}/resync"),
        ("PUT", "/api/v1/sites/north/clock-rule"),
    ):
        response = await gateway.http.request(method, path, headers=headers, json={})
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "FORBIDDEN"
    viewer = await gateway.add_user(sysadmin, "viewer")
    response = await gateway.http.put(
        f"/api/v1/clocks/{clock}/workers/{worker}", headers=await gateway.headers(viewer)
    )
    assert response.status_code == 403


async def test_a_clock_credential_reaches_the_admin_and_no_log_or_audit_row(gateway, capfd, caplog):
    sysadmin = await gateway.new_tenant()
    headers = await gateway.headers(sysadmin)
    registered = await gateway.http.post(
        "/api/v1/clocks",
        headers=headers,
        json={"serial_number": "ZK-1", "name": "Gate", "site_id": "north", "time_zone": "UTC"},
    )
    assert registered.status_code == 201, registered.text
    assert registered.headers["cache-control"] == "no-store"
    clock = registered.json()["clock"]["id"]
    first = registered.json()["credential"]
    assert first.startswith(f"pcc_{clock}_")
    assert registered.json()["caller"]["role"] == "sysadmin"

    rekeyed = await gateway.http.post(f"/api/v1/clocks/{clock}/credential", headers=headers)
    assert rekeyed.status_code == 200, rekeyed.text
    assert rekeyed.headers["cache-control"] == "no-store"
    second = rekeyed.json()["credential"]
    assert second.startswith(f"pcc_{clock}_") and second != first

    conn = await asyncpg.connect(gateway.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT * FROM audit_log WHERE tenant_id = $1 AND action LIKE '% /api/v1/clocks%'"
            " ORDER BY at",
            sysadmin.tenant_id,
        )
    finally:
        await conn.close()
    assert [(r["action"], r["target_id"], r["status_code"]) for r in rows] == [
        ("POST /api/v1/clocks", None, 201),
        ("POST /api/v1/clocks/{id}/credential", clock, 200),
    ]
    logged = capfd.readouterr()
    prefix = f"pcc_{clock}_"  # the secret after it may itself contain "_"
    for secret in (first, second, first.removeprefix(prefix), second.removeprefix(prefix)):
        assert secret not in repr([dict(r) for r in rows])
        assert secret not in logged.out and secret not in logged.err
        assert secret not in caplog.text


async def test_device_sync_down_is_503_naming_it_and_identity_still_answers(
    gateway, identity_url, capfd
):
    dead = f"http://127.0.0.1:{free_port()}"
    async with running_gateway(gateway.dsn, identity_url, dead) as (app, http):
        sysadmin = await gateway.new_tenant()
        tokens = await gateway.login(sysadmin.email)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        down = await http.get("/api/v1/clocks", headers=headers)
        worker_clocks = await http.get(f"/api/v1/workers/{new_id()}/clocks", headers=headers)
        workers = await http.get("/api/v1/workers", headers=headers)
    assert down.status_code == 503
    assert down.json() == {
        "code": "UPSTREAM_UNAVAILABLE",
        "message": "the device-sync service is unavailable; try again",
        "field": None,
    }
    assert worker_clocks.status_code == 503
    assert workers.status_code == 200 and workers.json()["upstream"] == "identity"
    err = capfd.readouterr().err
    assert "device-sync unavailable" in err and "identity unavailable" not in err


async def test_a_control_character_in_a_path_is_a_404_never_a_405_nor_a_lost_audit_row(
    gateway, capfd
):
    """``%0A`` in an id: Starlette's ``path`` stopped at the line feed, so the path matched the
    face upload's own route by path only and DELETE was a 405 no operation documents; ``%00``
    was forwarded, and its audit row failed to write (text cannot hold a NUL)."""
    sysadmin = await gateway.new_tenant()
    headers = await gateway.headers(sysadmin)
    for method, path in (
        ("DELETE", "/api/v1/workers/a%0Ab/face"),
        ("GET", "/api/v1/workers/a%0Ab/cards"),
        ("DELETE", "/api/v1/workers/%00%1B/pin"),
    ):
        response = await gateway.http.request(method, path, headers=headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "NOT_FOUND"
    assert "audit log write failed" not in capfd.readouterr().err
