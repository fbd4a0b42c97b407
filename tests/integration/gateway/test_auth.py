"""Login, refresh with rotation and reuse detection, /me, and the 401s."""

import uuid

import jwt

from .conftest import ADMIN_SECRET, PASSWORD


async def test_login_returns_a_bearer_token_and_a_refresh_token(gateway):
    admin = await gateway.new_tenant()
    response = await gateway.http.post(
        "/api/v1/auth/token", data={"username": admin.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert len(body["refresh_token"]) >= 40
    claims = jwt.decode(
        body["access_token"], ADMIN_SECRET, algorithms=["HS256"], audience="punchcard-admin"
    )
    assert claims["sub"] == admin.user_id
    assert claims["tenant"] == admin.tenant_id
    assert claims["role"] == "sysadmin"
    assert claims["sites"] == []
    assert claims["exp"] - claims["iat"] == 15 * 60


async def test_me_is_the_logged_in_admin(gateway):
    admin = await gateway.new_tenant()
    response = await gateway.http.get("/api/v1/me", headers=await gateway.headers(admin))
    assert response.status_code == 200
    me = response.json()
    assert me["id"] == admin.user_id and me["tenant_id"] == admin.tenant_id
    assert me["email"] == admin.email and me["role"] == "sysadmin" and me["active"] is True
    assert "password" not in response.text and "argon2" not in response.text


async def test_wrong_password_and_unknown_email_get_the_same_401(gateway):
    admin = await gateway.new_tenant()
    wrong_password = await gateway.http.post(
        "/api/v1/auth/token", data={"username": admin.email, "password": "not the password!"}
    )
    # An address of its own: failed logins are counted per address in Redis, across runs.
    nobody = f"nobody-{uuid.uuid4().hex[:12]}@nowhere.example"
    unknown_email = await gateway.http.post(
        "/api/v1/auth/token", data={"username": nobody, "password": PASSWORD}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json() == {
        "code": "UNAUTHENTICATED",
        "message": "incorrect email or password",
        "field": None,
    }
    assert wrong_password.headers["www-authenticate"] == "Bearer"


async def test_a_deactivated_admin_cannot_log_in_and_loses_their_refresh_tokens(gateway):
    sysadmin = await gateway.new_tenant()
    viewer = await gateway.add_user(sysadmin, "viewer")
    tokens = await gateway.login(viewer.email)
    response = await gateway.http.patch(
        f"/api/v1/users/{viewer.user_id}",
        headers=await gateway.headers(sysadmin),
        json={"active": False},
    )
    assert response.status_code == 200 and response.json()["active"] is False
    login = await gateway.http.post(
        "/api/v1/auth/token", data={"username": viewer.email, "password": PASSWORD}
    )
    assert login.status_code == 401
    assert login.json()["message"] == "incorrect email or password"
    refresh = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(gateway):
    admin = await gateway.new_tenant()
    first = await gateway.login(admin.email)
    other_login = await gateway.login(admin.email)  # another device: its own family

    rotated = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await gateway.http.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert me.status_code == 200

    # The spent token comes back (someone copied it): refused, and its whole family dies,
    # including the token the rotation just handed out.
    reused = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["code"] == "UNAUTHENTICATED"
    descendant = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert descendant.status_code == 401

    # The other login's family is untouched.
    other = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": other_login["refresh_token"]}
    )
    assert other.status_code == 200


async def test_unknown_refresh_token_is_401(gateway):
    response = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": "not-a-token-we-ever-issued"}
    )
    assert response.status_code == 401
    assert response.json()["message"] == "invalid or expired refresh token"


async def test_missing_expired_or_forged_access_tokens_are_401(gateway):
    admin = await gateway.new_tenant()
    missing = await gateway.http.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.json() == {
        "code": "UNAUTHENTICATED",
        "message": "missing bearer token",
        "field": None,
    }
    claims = {
        "aud": "punchcard-admin",
        "sub": admin.user_id,
        "tenant": admin.tenant_id,
        "role": "sysadmin",
        "sites": [],
        "iat": 1_000,
        "exp": 2_000,
    }
    expired = jwt.encode(claims, ADMIN_SECRET, algorithm="HS256")
    forged = jwt.encode({**claims, "exp": 2**40}, "x" * 40, algorithm="HS256")
    for token in (expired, forged, "garbage"):
        response = await gateway.http.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token
        assert response.json()["code"] == "UNAUTHENTICATED"


async def test_login_form_without_password_is_422_naming_the_field(gateway):
    response = await gateway.http.post("/api/v1/auth/token", data={"username": "a@b.example"})
    assert response.status_code == 422
    assert response.json()["field"] == "password"
    assert response.json()["code"] == "INVALID"
