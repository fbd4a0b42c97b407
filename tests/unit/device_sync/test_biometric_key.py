"""BIOMETRIC_KEY: a development default in development/test only; in production it must be
given, be 32 bytes of base64, and be neither the development key nor a placeholder."""

import base64

import pytest
from punchcard_device_sync.settings import DeviceSyncSettings
from punchcard_kit.settings import describe_errors
from pydantic import ValidationError

from tests.unit.kit.test_settings_fail_closed import PRODUCTION_KAFKA, PUBLIC_KEY

REAL_KEY = base64.b64encode(bytes(range(1, 33))).decode()


@pytest.fixture
def production(monkeypatch):
    for name in DeviceSyncSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://ds:s3cr3t@db.internal/device_sync")
    for name, value in PRODUCTION_KAFKA.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INTERNAL_TOKEN_PUBLIC_KEY", PUBLIC_KEY)
    return monkeypatch


def test_development_has_a_key_of_its_own(monkeypatch):
    monkeypatch.delenv("BIOMETRIC_KEY", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "test")
    assert len(DeviceSyncSettings().biometric_key_bytes()) == 32


def test_production_takes_a_real_key(production):
    production.setenv("BIOMETRIC_KEY", REAL_KEY)
    assert DeviceSyncSettings().biometric_key_bytes() == bytes(range(1, 33))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "BIOMETRIC_KEY must be set"),
        (base64.b64encode(b"development-only-biometric-key-1").decode(), "development"),
        (base64.b64encode(b"too short").decode(), "32 random bytes"),
        ("not base64 at all!", "32 random bytes"),
        ("CHANGE-ME-base64-of-32-random-bytes", "BIOMETRIC_KEY"),
    ],
)
def test_production_refuses_a_missing_development_short_or_placeholder_key(
    production, value, message
):
    if value is not None:
        production.setenv("BIOMETRIC_KEY", value)
    with pytest.raises(ValidationError, match=message) as refused:
        DeviceSyncSettings()
    if value is not None:  # what the service prints at start never holds the key
        assert value not in describe_errors(DeviceSyncSettings, refused.value)
