"""The keys of PINs on clocks that verify them: development/test has a key pair of its own
(identity's development public key is the public half of device-sync's development private
key, so the two services work together out of the box); elsewhere both are optional, the
development ones are refused, and a malformed key stops the service at start."""

import base64
import json

import pytest
from nacl.public import PrivateKey
from punchcard_device_sync.settings import DeviceSyncSettings
from punchcard_identity.settings import IdentitySettings
from pydantic import ValidationError

from tests.unit.device_sync.test_biometric_key import REAL_KEY, production  # noqa: F401

KEY = bytes(range(7, 39))


def test_development_keys_pair_up(monkeypatch):
    for name in ("DEVICE_PIN_PRIVATE_KEYS", "DEVICE_PIN_PUBLIC_KEY", "DEVICE_PIN_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "test")
    private = DeviceSyncSettings().device_pin_keys()
    identity = IdentitySettings()
    assert list(private) == [identity.device_pin_key_id]
    public = bytes(PrivateKey(private[identity.device_pin_key_id]).public_key)
    assert base64.b64encode(public).decode() == identity.device_pin_public_key


def test_production_has_none_unless_given(production):  # noqa: F811
    production.setenv("BIOMETRIC_KEY", REAL_KEY)
    assert DeviceSyncSettings().device_pin_keys() == {}
    production.setenv(
        "DEVICE_PIN_PRIVATE_KEYS", json.dumps({"2026-1": base64.b64encode(KEY).decode()})
    )
    assert DeviceSyncSettings().device_pin_keys() == {"2026-1": KEY}


@pytest.mark.parametrize(
    "value",
    [
        '{"2026-1": "CHANGE-ME-base64-X25519-private-key"}',
        '{"2026-1": "c2hvcnQ="}',
        "not json",
        "{}",
        json.dumps({"dev-1": base64.b64encode(b"development-only-device-pin-k001").decode()}),
    ],
)
def test_production_refuses_bad_or_development_keys(production, value):  # noqa: F811
    production.setenv("BIOMETRIC_KEY", REAL_KEY)
    production.setenv("DEVICE_PIN_PRIVATE_KEYS", value)
    with pytest.raises(ValidationError):
        DeviceSyncSettings()


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (None, True),  # not configured: tenants cannot switch it on
        (base64.b64encode(bytes(PrivateKey(KEY).public_key)).decode(), True),
        ("EhvihANFHi1cU6LOij1yhu3iuPok24badggWDkl2SXY=", False),  # the development key
        (base64.b64encode(b"short").decode(), False),
    ],
)
def test_identity_takes_device_sync_public_key_in_production(production, value, accepted):  # noqa: F811
    secret = base64.b64encode(bytes(range(32))).decode()
    production.setenv("PIN_PEPPERS", json.dumps({"2026-1": secret}))
    production.setenv("PIN_PEPPER_CURRENT", "2026-1")
    production.setenv("PIN_SEALING_KEYS", json.dumps({"2026-1": secret}))
    production.setenv("PIN_SEALING_CURRENT", "2026-1")
    production.setenv("REDIS_URL", "redis://redis.internal:6379/0")
    production.delenv("DEVICE_PIN_PUBLIC_KEY", raising=False)
    if value is not None:
        production.setenv("DEVICE_PIN_PUBLIC_KEY", value)
    if accepted:
        assert IdentitySettings().device_pin_public_key == value
    else:
        with pytest.raises(ValidationError):
            IdentitySettings()
