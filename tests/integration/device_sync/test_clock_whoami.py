"""``GET /clock/v1/whoami``: the clock a credential belongs to (what the gateway's kiosk edge asks
on every punch). The tenant and clock come from the credential alone; a forged, rotated or
revoked credential is a 401 at once (also right after it was accepted, i.e. cached); asking
is no heartbeat."""

import httpx

from tests.support.device_sync import new_tenant


async def whoami(devices, credential: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {credential}"} if credential is not None else {}
    async with httpx.AsyncClient(base_url=devices.url, timeout=30) as http:
        return await http.get("/clock/v1/whoami", headers=headers)


async def test_whoami_names_the_clock_of_the_credential(identity, devices):
    tenant = await new_tenant(identity, devices)
    [(clock_id, credential)] = await tenant.clocks(1, site_id="north")

    response = await whoami(devices, credential)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenant_id"] == tenant.id and body["clock_id"] == clock_id
    assert body["site_id"] == "north" and body["time_zone"] == "Europe/Madrid"
    assert body["name"].startswith("Clock")
    assert credential not in response.text

    # Asking is not the clock's sync: the clock has still never been seen.
    shown = (await tenant.devices.get(f"/clocks/{clock_id}")).json()
    assert shown["status"] == "never_seen" and shown["last_seen_at"] is None


async def test_forged_rotated_and_revoked_credentials_are_refused_at_once(identity, devices):
    tenant = await new_tenant(identity, devices)
    (a_id, a_cred), (b_id, b_cred) = await tenant.clocks(2)

    for bad in (None, "pcc_nothing", f"pcc_{a_id}_not-the-secret", a_cred + "x"):
        response = await whoami(devices, bad)
        assert response.status_code == 401, (bad, response.text)
        assert response.json()["code"] in ("CLOCK_UNAUTHORIZED", "UNAUTHENTICATED")

    # Accepted (and so cached), then rotated: the old one is refused at once, the new works.
    assert (await whoami(devices, a_cred)).status_code == 200
    rotated = await tenant.devices.post(f"/clocks/{a_id}/credential")
    assert rotated.status_code == 200, rotated.text
    new_cred = rotated.json()["credential"]
    refused = await whoami(devices, a_cred)
    assert refused.status_code == 401 and refused.json()["code"] == "CLOCK_UNAUTHORIZED"
    assert (await whoami(devices, new_cred)).json()["clock_id"] == a_id

    # Accepted, then revoked: refused at once.
    assert (await whoami(devices, b_cred)).status_code == 200
    revoked = await tenant.devices.post(f"/clocks/{b_id}/revoke", json={"reason": "stolen"})
    assert revoked.status_code == 200, revoked.text
    refused = await whoami(devices, b_cred)
    assert refused.status_code == 401 and refused.json()["code"] == "CLOCK_UNAUTHORIZED"


async def test_clocks_of_two_tenants_are_told_apart(identity, devices):
    one = await new_tenant(identity, devices)
    two = await new_tenant(identity, devices)
    [(one_clock, one_cred)] = await one.clocks(1)
    [(two_clock, two_cred)] = await two.clocks(1)
    assert (await whoami(devices, one_cred)).json()["tenant_id"] == one.id
    assert (await whoami(devices, two_cred)).json()["tenant_id"] == two.id
    # A credential naming another tenant's clock with this one's secret is nobody.
    secret = one_cred.removeprefix(f"pcc_{one_clock}_")
    assert (await whoami(devices, f"pcc_{two_clock}_{secret}")).status_code == 401
