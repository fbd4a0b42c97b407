"""The gateway's settings: development defaults, and no default secret outside development."""

import pytest
from punchcard_gateway.settings import (
    DEVELOPMENT_ADMIN_JWT_SECRET,
    LOCAL_DEVICE_SYNC_URL,
    LOCAL_FACE_MATCH_URL,
    LOCAL_IDENTITY_URL,
    LOCAL_PUNCH_URL,
    GatewaySettings,
)
from punchcard_kit.settings import load_settings

PRODUCTION = {
    "ENVIRONMENT": "production",
    "DATABASE_URL": "postgresql://gw@db/gateway",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
    "INTERNAL_TOKEN_SECRET": "i" * 40,
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
        "INTERNAL_TOKEN_SECRET",
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
        "ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    s = GatewaySettings()
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
    [None, DEVELOPMENT_ADMIN_JWT_SECRET, "too-short", PRODUCTION["INTERNAL_TOKEN_SECRET"]],
)
def test_production_refuses_a_missing_default_short_or_shared_secret(production, capsys, secret):
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
