"""Admin users: sysadmins only, one tenant at a time, and the error model."""

import uuid

from .conftest import PASSWORD


async def test_sysadmin_creates_lists_reads_and_updates_users(gateway):
    sysadmin = await gateway.new_tenant()
    headers = await gateway.headers(sysadmin)
    created = await gateway.http.post(
        "/api/v1/users",
        headers=headers,
        json={
            "email": "  Manager.One@Example.COM ",
            "name": "Manager One",
            "role": "manager",
            "password": PASSWORD,
            "site_ids": ["site-1", "site-2", "site-1"],
        },
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == "manager.one@example.com"
    assert user["role"] == "manager" and user["site_ids"] == ["site-1", "site-2"]
    assert "password" not in user
    # As stored, its times included (the answer had null ones before).
    assert user["created_at"] and user["updated_at"], user

    listed = await gateway.http.get("/api/v1/users", headers=headers)
    assert listed.status_code == 200
    assert listed.json()["count"] == 2
    assert user in listed.json()["data"]
    assert {u["id"] for u in listed.json()["data"]} == {sysadmin.user_id, user["id"]}
    page = await gateway.http.get("/api/v1/users?offset=1&limit=1", headers=headers)
    assert page.json()["count"] == 2 and len(page.json()["data"]) == 1

    updated = await gateway.http.patch(
        f"/api/v1/users/{user['id']}",
        headers=headers,
        json={"role": "viewer", "site_ids": ["site-3"]},
    )
    assert updated.status_code == 200
    assert updated.json()["role"] == "viewer" and updated.json()["site_ids"] == ["site-3"]
    assert updated.json()["active"] is True
    read = await gateway.http.get(f"/api/v1/users/{user['id']}", headers=headers)
    assert read.json()["role"] == "viewer"
    # A manager of no site would see nothing: 422 site_ids, made or changed to, and no change.
    body = {"email": "m2@example.com", "name": "M2", "role": "manager", "password": PASSWORD}
    refused = await gateway.http.post("/api/v1/users", headers=headers, json=body)
    assert refused.status_code == 422 and refused.json()["field"] == "site_ids", refused.text
    emptied = await gateway.http.patch(
        f"/api/v1/users/{user['id']}", headers=headers, json={"role": "manager", "site_ids": []}
    )
    assert emptied.status_code == 422 and emptied.json()["field"] == "site_ids", emptied.text
    read = await gateway.http.get(f"/api/v1/users/{user['id']}", headers=headers)
    assert read.json()["role"] == "viewer"

    # The new role and sites are in the tokens the user gets from now on.
    tokens = await gateway.login("MANAGER.ONE@example.com")
    me = await gateway.http.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["role"] == "viewer"


async def test_viewer_and_manager_cannot_manage_users(gateway):
    sysadmin = await gateway.new_tenant()
    for role in ("viewer", "manager"):
        user = await gateway.add_user(sysadmin, role, site_ids=["s1"])
        headers = await gateway.headers(user)
        create = await gateway.http.post(
            "/api/v1/users",
            headers=headers,
            json={"email": "x@example.com", "name": "X", "role": "viewer", "password": PASSWORD},
        )
        assert create.status_code == 403, role
        assert create.json() == {
            "code": "FORBIDDEN",
            "message": "your role does not allow this",
            "field": None,
        }
        assert (await gateway.http.get("/api/v1/users", headers=headers)).status_code == 403
        patch = await gateway.http.patch(
            f"/api/v1/users/{user.user_id}", headers=headers, json={"role": "sysadmin"}
        )
        assert patch.status_code == 403


async def test_another_tenants_user_is_not_found(gateway):
    tenant_a = await gateway.new_tenant()
    tenant_b = await gateway.new_tenant()
    b_viewer = await gateway.add_user(tenant_b, "viewer")
    headers_a = await gateway.headers(tenant_a)

    read = await gateway.http.get(f"/api/v1/users/{b_viewer.user_id}", headers=headers_a)
    assert read.status_code == 404
    assert read.json() == {"code": "NOT_FOUND", "message": "admin user not found", "field": None}
    patch = await gateway.http.patch(
        f"/api/v1/users/{b_viewer.user_id}", headers=headers_a, json={"role": "sysadmin"}
    )
    assert patch.status_code == 404
    # ... exactly as for an id that exists nowhere.
    nowhere = await gateway.http.get(f"/api/v1/users/{uuid.uuid4()}", headers=headers_a)
    assert nowhere.status_code == 404 and nowhere.json() == read.json()
    listed = await gateway.http.get("/api/v1/users", headers=headers_a)
    assert b_viewer.user_id not in {u["id"] for u in listed.json()["data"]}
    # B's user is unchanged.
    b_read = await gateway.http.get(
        f"/api/v1/users/{b_viewer.user_id}", headers=await gateway.headers(tenant_b)
    )
    assert b_read.json()["role"] == "viewer"


async def test_duplicate_email_is_409_even_with_other_case(gateway):
    sysadmin = await gateway.new_tenant()
    response = await gateway.http.post(
        "/api/v1/users",
        headers=await gateway.headers(sysadmin),
        json={
            "email": sysadmin.email.upper(),
            "name": "Again",
            "role": "viewer",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT" and response.json()["field"] == "email"


async def test_invalid_fields_are_422_naming_the_first_one(gateway):
    sysadmin = await gateway.new_tenant()
    headers = await gateway.headers(sysadmin)
    cases = [
        ({"email": "not-an-email", "name": "N", "role": "viewer", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "name": "N", "role": "owner", "password": PASSWORD}, "role"),
        (
            {"email": "a@example.com", "name": "N", "role": "viewer", "password": "short"},
            "password",
        ),
        (
            {
                "email": "a@example.com",
                "name": "N",
                "role": "viewer",
                "password": PASSWORD,
                "site_ids": [""],
            },
            "site_ids.0",
        ),
    ]
    for body, field in cases:
        response = await gateway.http.post("/api/v1/users", headers=headers, json=body)
        assert response.status_code == 422, body
        error = response.json()
        assert error["code"] == "INVALID" and error["field"] == field, error
        assert set(error) == {"code", "message", "field"}
        assert PASSWORD not in response.text and "short" not in error["message"]
        if field == "email":  # in words, not the pattern the OpenAPI states
            assert error["message"] == "Input should be an e-mail address (name@example.com)"
    bad_id = await gateway.http.get("/api/v1/users/not-a-uuid", headers=headers)
    assert bad_id.status_code == 422 and bad_id.json()["field"] == "id"
    bad_limit = await gateway.http.get("/api/v1/users?limit=0", headers=headers)
    assert bad_limit.status_code == 422 and bad_limit.json()["field"] == "limit"


async def test_a_sysadmin_cannot_demote_or_deactivate_themselves(gateway):
    sysadmin = await gateway.new_tenant()
    headers = await gateway.headers(sysadmin)
    for body, field in (({"role": "viewer"}, "role"), ({"active": False}, "active")):
        response = await gateway.http.patch(
            f"/api/v1/users/{sysadmin.user_id}", headers=headers, json=body
        )
        # A valid request this caller may not make: 403, naming the field.
        assert response.status_code == 403, response.text
        assert (response.json()["code"], response.json()["field"]) == ("OWN_ACCOUNT", field)


async def test_passwords_are_changed_by_their_owner_and_reset_by_a_sysadmin(gateway):
    sysadmin = await gateway.new_tenant()
    viewer = await gateway.add_user(sysadmin, "viewer")
    admin_headers = await gateway.headers(sysadmin)
    # The viewer changes their own, giving the current one; the answer is this session's.
    tokens = await gateway.login(viewer.email)
    mine = {"Authorization": f"Bearer {tokens['access_token']}"}
    wrong = await gateway.http.post(
        "/api/v1/me/password",
        headers=mine,
        json={"current_password": "not the password", "new_password": "a brand new passphrase"},
    )
    assert wrong.status_code == 403, wrong.text
    assert (wrong.json()["code"], wrong.json()["field"]) == ("WRONG_PASSWORD", "current_password")
    changed = await gateway.http.post(
        "/api/v1/me/password",
        headers=mine,
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "no-store"
    assert "passphrase" not in changed.text and changed.json()["refresh_token"]
    old = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert old.status_code == 401  # the session before the change is over
    refused = await gateway.http.post(
        "/api/v1/auth/token", data={"username": viewer.email, "password": PASSWORD}
    )
    assert refused.status_code == 401
    await gateway.login(viewer.email, "a brand new passphrase")
    # A sysadmin resets it (the viewer forgot it), but never their own this way.
    reset = await gateway.http.post(
        f"/api/v1/users/{viewer.user_id}/password",
        headers=admin_headers,
        json={"password": "set by the sysadmin"},
    )
    assert reset.status_code == 200 and reset.json()["id"] == viewer.user_id, reset.text
    await gateway.login(viewer.email, "set by the sysadmin")
    own = await gateway.http.post(
        f"/api/v1/users/{sysadmin.user_id}/password",
        headers=admin_headers,
        json={"password": "no current one asked"},
    )
    assert own.status_code == 403 and own.json()["code"] == "OWN_ACCOUNT", own.text
    short = await gateway.http.post(
        f"/api/v1/users/{viewer.user_id}/password", headers=admin_headers, json={"password": "x"}
    )
    assert short.status_code == 422 and short.json()["field"] == "password"
    by_viewer = await gateway.http.post(
        f"/api/v1/users/{viewer.user_id}/password",
        headers={"Authorization": f"Bearer {changed.json()['access_token']}"},
        json={"password": "a viewer may not"},
    )
    assert by_viewer.status_code == 403
