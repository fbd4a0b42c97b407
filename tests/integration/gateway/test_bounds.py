"""Every parameter of the admin API is bounded: out-of-range or unstorable input is a 4xx in
the one error shape, never a 500 (found by the OpenAPI fuzzer, issue 14)."""

import pytest

from .conftest import PASSWORD

HUGE = 2**63  # one past PostgreSQL's bigint


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/audit-log"])
@pytest.mark.parametrize("offset", [HUGE, 10**30])
async def test_a_huge_offset_is_refused(gateway, path, offset):
    headers = await gateway.headers(await gateway.new_tenant())
    response = await gateway.http.get(path, headers=headers, params={"offset": offset})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "INVALID" and response.json()["field"] == "offset"


async def test_a_nul_in_the_audit_log_filter_is_refused(gateway):
    headers = await gateway.headers(await gateway.new_tenant())
    response = await gateway.http.get(
        "/api/v1/audit-log", headers=headers, params={"action": "POST\x00/api"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "action"


@pytest.mark.parametrize(
    "field,value",
    [
        ("name", "Ana\x00Pérez"),
        ("email", "a\x00b@example.com"),
        ("password", PASSWORD + "\x00"),
        ("site_ids", ["site\x00one"]),
    ],
)
async def test_unstorable_text_in_a_new_user_is_refused(gateway, field, value):
    headers = await gateway.headers(await gateway.new_tenant())
    body = {
        "email": "new.user@example.com",
        "name": "New User",
        "role": "manager",
        "password": PASSWORD,
        "site_ids": ["s1"],
        field: value,
    }
    response = await gateway.http.post("/api/v1/users", headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"].split(".")[0] == field


async def test_a_lone_surrogate_in_a_new_user_is_refused(gateway):
    headers = await gateway.headers(await gateway.new_tenant())
    body = (
        '{"email": "lone.surrogate@example.com", "name": "Ana \\ud800", "role": "viewer", '
        f'"password": "{PASSWORD}"}}'
    )
    response = await gateway.http.post(
        "/api/v1/users", headers={**headers, "content-type": "application/json"}, content=body
    )
    assert response.status_code == 422, response.text


async def test_a_nul_in_a_login_is_refused(gateway):
    response = await gateway.http.post(
        "/api/v1/auth/token", data={"username": "\x00", "password": "\x00"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "username"
