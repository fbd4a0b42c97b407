"""Configuration fails closed: without ENVIRONMENT a service is in production (servers and keys
required, no development key), and a value that is still an example's placeholder is refused
by its variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from punchcard_device_sync.settings import DeviceSyncSettings
from punchcard_face_match.settings import FaceMatchSettings
from punchcard_gateway.settings import GatewaySettings
from punchcard_identity.settings import IdentitySettings
from punchcard_kit.settings import (
    DEVELOPMENT_INTERNAL_PUBLIC_KEY,
    ServiceSettings,
    load_settings,
    placeholder_in,
)
from punchcard_punch.settings import PunchSettings

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_SECRETS = REPO / "deploy" / "k8s" / "infra" / "secrets.example.yaml"
SETTINGS = {
    "identity": IdentitySettings,
    "face-match": FaceMatchSettings,
    "punch": PunchSettings,
    "device-sync": DeviceSyncSettings,
    "gateway": GatewaySettings,
}
_KEY = Ed25519PrivateKey.generate()
PRIVATE_KEY = _KEY.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
PUBLIC_KEY = _KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
PUBLIC_KEY = PUBLIC_KEY.decode()
# Kafka as every production service reaches it: TLS with a SCRAM login (PLAINTEXT is refused
# with ENVIRONMENT=staging/production). No CA file: the system's CAs (a managed Kafka's).
PRODUCTION_KAFKA = {
    "KAFKA_BOOTSTRAP_SERVERS": "punchcard-kafka-bootstrap.kafka.svc:9094",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_USERNAME": "punchcard-demo",
    "KAFKA_SASL_PASSWORD": "s3cr3t-from-the-vault",
}


class DemoSettings(ServiceSettings):
    service_name: str = "demo-svc"


@pytest.fixture
def clean_env(monkeypatch):
    """No setting from the test process's own environment."""
    names = {name.upper() for cls in SETTINGS.values() for name in cls.model_fields}
    for name in names:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _refusal(capsys, cls) -> str:
    with pytest.raises(SystemExit) as exit_info:
        load_settings(cls)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_without_environment_a_service_is_in_production(clean_env, capsys):
    assert ServiceSettings.model_fields["environment"].default == "production"
    err = _refusal(capsys, DemoSettings)
    assert "ENVIRONMENT=production" in err
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "INTERNAL_TOKEN_PUBLIC_KEY"):
        assert name in err


def test_development_and_test_still_default_to_the_local_stack(clean_env):
    for environment in ("development", "test"):
        clean_env.setenv("ENVIRONMENT", environment)
        s = DemoSettings()
        assert s.database_url.endswith("/punchcard_demo_svc")
        assert s.internal_token_public_key == DEVELOPMENT_INTERNAL_PUBLIC_KEY


def test_real_production_values_are_accepted(clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql://punchcard_demo:s3cr3t@db.internal/demo")
    for name, value in PRODUCTION_KAFKA.items():
        clean_env.setenv(name, value)
    clean_env.setenv("INTERNAL_TOKEN_PUBLIC_KEY", PUBLIC_KEY)
    s = DemoSettings()
    assert s.environment == "production" and s.internal_token_public_key == PUBLIC_KEY
    assert s.kafka_security_protocol == "SASL_SSL"


def test_production_refuses_the_development_public_key(clean_env, capsys):
    clean_env.setenv("DATABASE_URL", "postgresql://punchcard_demo:s3cr3t@db.internal/demo")
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    clean_env.setenv("INTERNAL_TOKEN_PUBLIC_KEY", DEVELOPMENT_INTERNAL_PUBLIC_KEY)
    assert "INTERNAL_TOKEN_PUBLIC_KEY (not the development key)" in _refusal(capsys, DemoSettings)
    clean_env.setenv("INTERNAL_TOKEN_PUBLIC_KEY", "i" * 40)  # an old shared secret
    assert "INTERNAL_TOKEN_PUBLIC_KEY" in _refusal(capsys, DemoSettings)


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://punchcard_demo:CHANGE-ME@db.internal/demo",
        "postgresql://punchcard_demo:changeme@db.internal/demo",
        "postgresql://punchcard_demo:<password>@db.internal/demo",
        "postgresql://punchcard_demo:s3cr3t@postgres.example.internal/demo",
        "postgresql://punchcard_demo:placeholder@db.internal/demo",
        "postgresql://punchcard_demo:REPLACE_ME@db.internal/demo",
    ],
)
def test_a_placeholder_is_refused_by_name(clean_env, capsys, value):
    clean_env.setenv("DATABASE_URL", value)
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    clean_env.setenv("INTERNAL_TOKEN_PUBLIC_KEY", PUBLIC_KEY)
    err = _refusal(capsys, DemoSettings)
    assert "placeholder values are refused when ENVIRONMENT=production: DATABASE_URL" in err
    assert "s3cr3t" not in err  # the value itself is never printed


def test_placeholders_are_allowed_in_development(clean_env):
    clean_env.setenv("ENVIRONMENT", "development")
    clean_env.setenv("DATABASE_URL", "postgresql://u:CHANGE-ME@localhost/demo")
    assert DemoSettings().database_url.endswith("CHANGE-ME@localhost/demo")


def test_placeholder_markers_are_found_in_secrets_and_collections():
    from pydantic import SecretStr

    assert placeholder_in(SecretStr("x-Change-Me-y")) == "change-me"
    assert placeholder_in({"2026-1": "CHANGE-ME-base64"}) == "change-me"
    assert placeholder_in(["ok", "api.example.com"]) == "example"
    assert placeholder_in("postgresql://u:p@db.internal:5432/punchcard") is None
    assert placeholder_in(5) is None


def _example_secrets() -> dict[str, dict[str, str]]:
    docs = [doc for doc in yaml.safe_load_all(EXAMPLE_SECRETS.read_text()) if doc]
    return {
        doc["metadata"]["name"].removesuffix("-secrets"): doc["stringData"]
        for doc in docs
        if doc["metadata"]["name"].endswith("-secrets")  # not the CA, keda-kafka
    }


def test_the_example_secrets_cover_every_service():
    assert set(_example_secrets()) == set(SETTINGS)


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_example_secret_is_refused_naming_every_placeholder(clean_env, capsys, service):
    """A cluster that applied deploy/k8s/infra/secrets.example.yaml as it is never starts,
    and the message names each key still to fill in."""
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "punchcard-kafka-bootstrap.kafka.svc:9092")
    values = _example_secrets()[service]
    for name, value in values.items():
        clean_env.setenv(name, value)
    err = _refusal(capsys, SETTINGS[service])
    placeholders = [name for name, value in values.items() if placeholder_in(value)]
    assert "DATABASE_URL" in placeholders
    for name in placeholders:
        assert name in err, f"{service}: {name} not named"
