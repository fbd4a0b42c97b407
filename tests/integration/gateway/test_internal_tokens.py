"""The gateway's tokens to the services: signed with its Ed25519 private key, each for the one
service it calls (audience "punchcard-<service>"), so a token sent to one service is refused by
every other (the stand-ins verify exactly as the services do: public key and own audience)."""

from punchcard_kit.internal_auth import (
    InvalidInternalToken,
    audience_of,
    verify_internal_token,
)

from .conftest import INTERNAL_PUBLIC_KEY, new_id


async def test_each_forwarded_call_carries_a_token_for_its_service_alone(gateway):
    sysadmin = await gateway.new_tenant()
    headers = await gateway.headers(sysadmin)
    for path, upstream in (
        (f"/api/v1/workers/{new_id()}", "identity"),
        ("/api/v1/clocks", "device-sync"),
    ):
        response = await gateway.http.get(path, headers=headers)
        assert response.status_code == 200, response.text
        echoed = response.json()
        assert echoed["upstream"] == upstream
        assert echoed["audience"] == audience_of(upstream)


async def test_a_token_the_gateway_minted_for_one_service_is_refused_by_another(gateway):
    sysadmin = await gateway.new_tenant()
    upstreams = gateway.app.state.gateway.upstreams
    from punchcard_kit.internal_auth import Caller

    caller = Caller(tenant_id=sysadmin.tenant_id, user_id=sysadmin.user_id, role="sysadmin")
    for_face_match = upstreams["face-match"].internal_token(caller)
    assert verify_internal_token(for_face_match, INTERNAL_PUBLIC_KEY, audience_of("face-match"))
    for other in ("identity", "punch", "device-sync"):
        try:
            verify_internal_token(for_face_match, INTERNAL_PUBLIC_KEY, audience_of(other))
        except InvalidInternalToken:
            continue
        raise AssertionError(f"{other} accepted a token meant for face-match")
