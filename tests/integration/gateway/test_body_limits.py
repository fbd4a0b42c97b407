"""Every route's body is bounded by its own need, and refused with 413 before more is read:
one anonymous request can no longer make the gateway hold (and parse) 41 MiB of JSON."""

import uuid

import pytest

from .conftest import Gateway, running_gateway

CHUNK = 64 * 1024
MIB = 1024 * 1024


class Counted:
    """A request body of ``total`` bytes of ``[{},{},…`` sent in 64 KiB chunks, counting how
    many chunks the server pulled."""

    def __init__(self, total: int) -> None:
        self.total, self.pulled = total, 0

    async def __aiter__(self):
        piece = (b"{}," * (CHUNK // 3 + 1))[:CHUNK]
        sent = 0
        while sent < self.total:
            self.pulled += 1
            sent += CHUNK
            yield b"[" + piece[1:] if sent == CHUNK else piece


@pytest.fixture(scope="module")
async def gateway(gateway_dsn, identity_url, device_sync_url, face_match_url):
    """The gateway with an echo upstream standing in for face-match (tokens for face-match)."""
    async with running_gateway(
        gateway_dsn, identity_url, device_sync_url, face_match_url=face_match_url
    ) as (app, http):
        yield Gateway(app, http, gateway_dsn)


async def test_41_mib_of_json_to_refresh_is_refused_before_it_is_read(gateway):
    body = Counted(41 * MIB)
    response = await gateway.http.post(
        "/api/v1/auth/refresh",
        content=body,
        headers={"content-type": "application/json", "content-length": str(body.total)},
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "TOO_LARGE"
    assert body.pulled <= 1  # refused on the declared length


async def test_a_chunked_body_without_length_is_cut_at_the_limit(gateway):
    body = Counted(41 * MIB)
    response = await gateway.http.post(
        "/api/v1/auth/refresh", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "TOO_LARGE"
    assert body.pulled <= 2  # 64 KiB and one chunk more


async def test_admin_json_is_held_to_64_kib(gateway):
    headers = await gateway.headers(await gateway.new_tenant())
    big = {"email": "x@example.com", "name": "x" * (70 * 1024), "role": "viewer"}
    response = await gateway.http.post("/api/v1/users", headers=headers, json=big)
    assert response.status_code == 413, response.text
    # A proxied admin call too (its body never reaches the upstream).
    worker = str(uuid.uuid4())
    proxied = await gateway.http.patch(
        f"/api/v1/workers/{worker}", headers=headers, json={"name": "x" * (70 * 1024)}
    )
    assert proxied.status_code == 413, proxied.text
    assert proxied.json()["code"] == "TOO_LARGE"


async def test_normal_requests_and_their_own_larger_limits_are_unaffected(gateway):
    sysadmin = await gateway.new_tenant()
    headers = await gateway.headers(sysadmin)
    tokens = await gateway.login(sysadmin.email)
    refreshed = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    # Bulk assignments may be up to 1 MiB (200 KiB here), forwarded whole.
    pairs = [{"clock_id": str(uuid.uuid4()), "worker_id": str(uuid.uuid4())}] * 2000
    bulk = await gateway.http.post("/api/v1/assignments", headers=headers, json={"assign": pairs})
    assert bulk.status_code == 200, bulk.text
    assert len(bulk.json()["body"]) > 64 * 1024
    # A face enrolment, on its own path, may be far larger (3 MiB here): streamed upstream.
    worker = str(uuid.uuid4())
    photo = b"J" * (3 * MIB)
    upload = await gateway.http.put(
        f"/api/v1/workers/{worker}/face",
        headers=headers,
        files={"photos": ("a.jpg", photo, "image/jpeg")},
    )
    assert upload.status_code == 200, upload.text
    assert len(upload.json()["body"]) > 3 * MIB
    # …but not past its own limit.
    too_big = await gateway.http.put(
        f"/api/v1/workers/{worker}/face",
        headers={**headers, "content-type": "multipart/form-data; boundary=x"},
        content=Counted(42 * MIB),
    )
    assert too_big.status_code == 413, too_big.text
