"""The gateway's settings: development defaults, and no default secret outside development."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from punchcard_gateway.settings import (
    DEVELOPMENT_ADMIN_JWT_SECRET,
    LOCAL_DEVICE_SYNC_URL,
    LOCAL_FACE_MATCH_URL,
    LOCAL_IDENTITY_URL,
    LOCAL_PUNCH_URL,
    GatewaySettings,
)
from punchcard_kit.internal_auth import audience_of, load_verifying_key, verify_internal_token
from punchcard_kit.settings import DEVELOPMENT_INTERNAL_PRIVATE_KEY, load_settings
from pydantic import ValidationError

from tests.unit.kit.test_settings_fail_closed import PRODUCTION_KAFKA

PRIVATE_KEY = (
    Ed25519PrivateKey.generate()
    .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    .decode()
)
PRODUCTION = {
    "ENVIRONMENT": "production",
    "DATABASE_URL": "postgresql://gw@db/gateway",
    **PRODUCTION_KAFKA,
    "INTERNAL_TOKEN_PRIVATE_KEY": PRIVATE_KEY,
    "IDENTITY_URL": "http://identity:8101",
    "DEVICE_SYNC_URL": "http://device-sync:8104",
    "PUNCH_URL": "http://punch:8103",
    "FACE_MATCH_URL": "http://face-match:8102",
    "REDIS_URL": "redis://redis:6379/0",
}


@pytest.fixture
def production(monkeypatch):
    for name in (
        "ADMIN_JWT_SECRET",
        "IDENTITY_URL",
        "DEVICE_SYNC_URL",
        "PUNCH_URL",
        "FACE_MATCH_URL",
        "INTERNAL_TOKEN_PRIVATE_KEY",
        "INTERNAL_TOKEN_PUBLIC_KEY",
        "REDIS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_development_defaults(monkeypatch):
    for name in (
        "ADMIN_JWT_SECRET",
        "IDENTITY_URL",
        "DEVICE_SYNC_URL",
        "PUNCH_URL",
        "FACE_MATCH_URL",
        "INTERNAL_TOKEN_PRIVATE_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "development")
    s = GatewaySettings()
    assert s.internal_token_private_key.get_secret_value() == DEVELOPMENT_INTERNAL_PRIVATE_KEY
    assert s.admin_jwt_secret.get_secret_value() == DEVELOPMENT_ADMIN_JWT_SECRET
    assert s.identity_url == LOCAL_IDENTITY_URL == "http://127.0.0.1:8101"
    assert s.device_sync_url == LOCAL_DEVICE_SYNC_URL == "http://127.0.0.1:8104"
    assert s.punch_url == LOCAL_PUNCH_URL == "http://127.0.0.1:8103"
    assert s.upstream_urls() == {
        "identity": LOCAL_IDENTITY_URL,
        "device-sync": LOCAL_DEVICE_SYNC_URL,
        "punch": LOCAL_PUNCH_URL,
        "face-match": LOCAL_FACE_MATCH_URL,
    }
    assert s.kiosk_wait_s == 5 and s.kiosk_max_frame_bytes == 512 * 1024
    assert s.pin_sealing_key_refresh_s == 300 and s.kiosk_attempt_retention_days == 30
    assert s.access_token_ttl_s == 900 and s.refresh_token_ttl_s == 14 * 24 * 3600
    assert s.upstream_timeout_s == 10


def test_a_kiosk_wait_the_kiosk_app_would_give_up_on_is_refused(monkeypatch):
    """The kiosk app gives a punch request 20 s (web/src/kiosk/api.js): a wait near it would
    turn every slow outcome into "Saved" instead of "pending"."""
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("KIOSK_WAIT_S", "15")
    assert GatewaySettings().kiosk_wait_s == 15
    monkeypatch.setenv("KIOSK_WAIT_S", "20")
    with pytest.raises(ValidationError):
        GatewaySettings()


def test_production_with_a_real_secret_starts(production):
    production.setenv("ADMIN_JWT_SECRET", "j" * 40)
    s = GatewaySettings()
    assert s.admin_jwt_secret.get_secret_value() == "j" * 40
    assert "j" * 40 not in repr(s)
    assert s.upstream_urls() == {
        "identity": "http://identity:8101",
        "device-sync": "http://device-sync:8104",
        "punch": "http://punch:8103",
        "face-match": "http://face-match:8102",
    }


def test_production_refuses_a_gateway_without_redis_for_its_rate_limits(production, capsys):
    production.setenv("ADMIN_JWT_SECRET", "j" * 40)
    production.delenv("REDIS_URL")
    with pytest.raises(SystemExit):
        load_settings(GatewaySettings)
    assert "REDIS_URL" in capsys.readouterr().err


@pytest.mark.parametrize(
    "secret",
    [None, DEVELOPMENT_ADMIN_JWT_SECRET, "too-short", "CHANGE-ME-another-32+-character-secret"],
)
def test_production_refuses_a_missing_default_short_or_placeholder_secret(
    production, capsys, secret
):
    if secret is not None:
        production.setenv("ADMIN_JWT_SECRET", secret)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(GatewaySettings)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "ADMIN_JWT_SECRET" in err
    if secret is not None:
        assert secret not in err


@pytest.mark.parametrize("name", ["IDENTITY_URL", "DEVICE_SYNC_URL", "PUNCH_URL", "FACE_MATCH_URL"])
def test_production_requires_each_upstream_url(production, capsys, name):
    production.setenv("ADMIN_JWT_SECRET", "j" * 40)
    production.delenv(name)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(GatewaySettings)
    assert exit_info.value.code == 2
    assert name in capsys.readouterr().err


def test_the_reconciler_defaults_hold_an_attempt_a_week_and_republish_at_most_6_hours_apart():
    from datetime import timedelta

    policy = GatewaySettings(environment="test").republish_policy()
    assert policy.after == timedelta(minutes=5)
    assert policy.max_interval == timedelta(hours=6)
    assert policy.hold == timedelta(days=7)


def test_the_hold_cannot_outlast_the_consumers_memory_of_processed_events():
    # Consumers remember processed event ids 14 days: a longer hold could process twice.
    with pytest.raises(ValueError, match="kiosk_attempt_hold_hours"):
        GatewaySettings(environment="test", kiosk_attempt_hold_hours=14 * 24)


def test_the_gateway_signs_for_each_service_and_needs_no_public_key(production):
    """Only the gateway holds the private key; it verifies no internal token itself."""
    production.setenv("ADMIN_JWT_SECRET", "j" * 40)
    s = GatewaySettings()
    assert PRIVATE_KEY not in repr(s)
    from punchcard_kit.internal_auth import Caller, mint_internal_token

    caller = Caller(tenant_id="0b7c3c41-5d5c-4b8a-9a47-0d5d8a4c1e11", user_id="u", role="viewer")
    token = mint_internal_token(caller, s.internal_signing_key(), audience_of("punch"))
    public = load_verifying_key(s.internal_signing_key().public_key())
    assert verify_internal_token(token, public, audience_of("punch")) == caller


@pytest.mark.parametrize(
    "key",
    [None, DEVELOPMENT_INTERNAL_PRIVATE_KEY, "i" * 40, "-----BEGIN PRIVATE KEY-----\nCHANGE-ME"],
)
def test_production_refuses_a_missing_development_or_bad_private_key(production, capsys, key):
    production.setenv("ADMIN_JWT_SECRET", "j" * 40)
    production.delenv("INTERNAL_TOKEN_PRIVATE_KEY")
    if key is not None:
        production.setenv("INTERNAL_TOKEN_PRIVATE_KEY", key)
    with pytest.raises(SystemExit):
        load_settings(GatewaySettings)
    err = capsys.readouterr().err
    assert "INTERNAL_TOKEN_PRIVATE_KEY" in err
    if key is not None and key.count("\n") >= 2:
        assert key.splitlines()[1] not in err  # never the key itself


def test_production_requires_redis_for_the_login_throttle(production, capsys):
    production.setenv("ADMIN_JWT_SECRET", "j" * 40)
    production.delenv("REDIS_URL")
    with pytest.raises(SystemExit):
        load_settings(GatewaySettings)
    assert "REDIS_URL" in capsys.readouterr().err
