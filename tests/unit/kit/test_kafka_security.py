"""Kafka security settings (KAFKA_SECURITY_PROTOCOL, SASL, TLS files): wrong combinations are
refused by variable name, a placeholder password is refused outside development/test, and every
aiokafka client in the repository is built through ``kafka_options`` so it gets them.
(The broker side: tests/integration/kit/test_kafka_sasl_ssl.py.)"""

from __future__ import annotations

import ast
import os
import ssl
from pathlib import Path

import pytest
from punchcard_kit.messaging.connection import (
    current_kafka_settings,
    kafka_options,
    security_options,
    use_kafka_settings,
)
from punchcard_kit.settings import KafkaSettings, ServiceSettings, load_settings
from pydantic import ValidationError

REPO = Path(__file__).resolve().parents[3]
CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}


class DemoSettings(ServiceSettings):
    service_name: str = "demo-svc"


@pytest.fixture
def clean_env(monkeypatch):
    for name in (*KafkaSettings.model_fields, *DemoSettings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    use_kafka_settings(None)
    yield monkeypatch
    use_kafka_settings(None)


def _problems(**values) -> str:
    with pytest.raises(ValidationError) as refused:
        KafkaSettings(**{"environment": "production", **values})
    return str(refused.value)


def test_plaintext_is_the_default_and_adds_nothing(clean_env):
    settings = KafkaSettings()
    assert security_options(settings) == {"security_protocol": "PLAINTEXT"}
    assert kafka_options("k:9092", settings=settings, acks="all") == {
        "bootstrap_servers": "k:9092",
        "security_protocol": "PLAINTEXT",
        "acks": "all",
    }


def test_sasl_ssl_gives_a_verifying_tls_context_and_the_scram_login(clean_env):
    settings = KafkaSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="punchcard-identity",
        kafka_sasl_password="s3cr3t-from-the-vault",
    )
    options = security_options(settings)
    context = options.pop("ssl_context")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "punchcard-identity",
        "sasl_plain_password": "s3cr3t-from-the-vault",
    }
    # One context per configuration: certificates are read once, not per client.
    assert security_options(settings)["ssl_context"] is context


def test_the_environment_configures_clients_built_outside_a_service(clean_env):
    clean_env.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    assert current_kafka_settings().kafka_security_protocol == "SSL"
    assert kafka_options("k:9093")["security_protocol"] == "SSL"
    use_kafka_settings(KafkaSettings(kafka_security_protocol="PLAINTEXT"))
    assert kafka_options("k:9092")["security_protocol"] == "PLAINTEXT"


def test_sasl_needs_a_user_and_a_password(clean_env):
    said = _problems(kafka_security_protocol="SASL_SSL")
    assert "KAFKA_SASL_USERNAME must be set when KAFKA_SECURITY_PROTOCOL=SASL_SSL" in said
    assert "KAFKA_SASL_PASSWORD must be set" in said


def test_a_password_without_sasl_is_refused_not_ignored(clean_env):
    said = _problems(kafka_sasl_username="u", kafka_sasl_password="p")
    assert "KAFKA_SASL_PASSWORD is set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT" in said


def test_tls_files_must_exist_and_need_tls(clean_env, tmp_path):
    missing = str(tmp_path / "ca.pem")
    said = _problems(kafka_security_protocol="SSL", kafka_ssl_cafile=missing)
    assert f"KAFKA_SSL_CAFILE: no readable file at {missing}" in said
    said = _problems(kafka_ssl_cafile=missing)
    assert "KAFKA_SSL_CAFILE is set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT uses no TLS" in said
    key = tmp_path / "client.key"
    key.write_text("not really a key")
    said = _problems(kafka_security_protocol="SSL", kafka_ssl_keyfile=str(key))
    assert "KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE" in said


@pytest.mark.parametrize("password", ["CHANGE-ME", "change-me-scram-password", "<password>"])
def test_a_placeholder_password_is_refused_outside_development(clean_env, password):
    values = dict(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="punchcard-punch",
        kafka_sasl_password=password,
    )
    said = _problems(**values)
    assert "KAFKA_SASL_PASSWORD holds a placeholder" in said
    assert KafkaSettings(environment="development", **values).kafka_sasl_password


def test_a_service_names_the_kafka_password_with_every_other_problem(clean_env, capsys):
    clean_env.setenv("DATABASE_URL", "postgresql://u:CHANGE-ME@db.internal/demo")
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9094")
    clean_env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    clean_env.setenv("KAFKA_SASL_USERNAME", "punchcard-demo")
    clean_env.setenv("KAFKA_SASL_PASSWORD", "CHANGE-ME")
    with pytest.raises(SystemExit):
        load_settings(DemoSettings)
    err = capsys.readouterr().err
    assert "DATABASE_URL" in err and "KAFKA_SASL_PASSWORD" in err
    assert "INTERNAL_TOKEN_PUBLIC_KEY" in err


def test_a_service_with_sasl_but_no_user_is_refused(clean_env, capsys):
    clean_env.setenv("ENVIRONMENT", "development")
    clean_env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    clean_env.setenv("KAFKA_SASL_PASSWORD", "s3cr3t-real-one")
    with pytest.raises(SystemExit):
        load_settings(DemoSettings)
    err = capsys.readouterr().err
    assert "KAFKA_SASL_USERNAME must be set" in err
    assert "s3cr3t-real-one" not in err  # the password itself is never printed


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_staging_and_production_refuse_kafka_in_the_clear(clean_env, environment, protocol):
    login = {"kafka_sasl_username": "punchcard-punch", "kafka_sasl_password": "s3cr3t-real"}
    values = login if protocol == "SASL_PLAINTEXT" else {}
    with pytest.raises(ValidationError) as refused:
        KafkaSettings(environment=environment, kafka_security_protocol=protocol, **values)
    said = str(refused.value)
    assert f"KAFKA_SECURITY_PROTOCOL={protocol} is refused when ENVIRONMENT={environment}" in said
    assert "SASL_SSL" in said  # what to say instead
    # Given through the environment, as a tool run against production would be.
    clean_env.setenv("ENVIRONMENT", environment)
    clean_env.setenv("KAFKA_SECURITY_PROTOCOL", protocol)
    with pytest.raises(ValidationError):
        KafkaSettings()


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_staging_and_production_take_tls(clean_env, environment):
    KafkaSettings(
        environment=environment,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="punchcard-punch",
        kafka_sasl_password="s3cr3t-real",
    )
    assert KafkaSettings(environment=environment, kafka_security_protocol="SSL")


@pytest.mark.parametrize("environment", ["development", "test"])
@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_development_and_test_keep_plaintext(clean_env, environment, protocol):
    login = {"kafka_sasl_username": "u", "kafka_sasl_password": "p"}
    values = login if protocol == "SASL_PLAINTEXT" else {}
    settings = KafkaSettings(environment=environment, kafka_security_protocol=protocol, **values)
    assert security_options(settings)["security_protocol"] == protocol


def test_a_service_without_environment_refuses_plaintext_and_stops(clean_env, capsys):
    # ENVIRONMENT unset: a service is in production (fail closed), so PLAINTEXT (the default)
    # stops it with the setting named, beside every other problem.
    clean_env.setenv("DATABASE_URL", "postgresql://punchcard_demo:s3cr3t@db.internal/demo")
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9094")
    with pytest.raises(SystemExit) as stopped:
        load_settings(DemoSettings)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "KAFKA_SECURITY_PROTOCOL=PLAINTEXT is refused when ENVIRONMENT=production" in err
    assert "INTERNAL_TOKEN_PUBLIC_KEY" in err


def test_a_tool_without_environment_still_reaches_the_local_stack_in_the_clear(clean_env):
    # punchcard-topics, punchcard-dlq, the benchmarks: KafkaSettings alone, ENVIRONMENT unset.
    assert "ENVIRONMENT" not in os.environ
    assert current_kafka_settings().kafka_security_protocol == "PLAINTEXT"


def _client_calls() -> list[tuple[str, int, ast.Call]]:
    found = []
    for top in ("libs", "services", "tools", "tests", "bench", "scripts"):
        for path in (REPO / top).rglob("*.py"):
            if any(part in {".venv", "node_modules"} for part in path.parts):
                continue
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", getattr(node.func, "attr", None))
                    if name in CLIENTS:
                        found.append((str(path.relative_to(REPO)), node.lineno, node))
    return found


def test_every_aiokafka_client_is_built_through_kafka_options():
    calls = _client_calls()
    assert len(calls) >= 20  # the kit's, the tests' helpers', the benchmarks'
    wrong = []
    for path, line, call in calls:
        spread = [k.value for k in call.keywords if k.arg is None]
        through = any(
            isinstance(value, ast.Call) and getattr(value.func, "id", "") == "kafka_options"
            for value in spread
        )
        # The kit's own loops build their options with kafka_options first (options = ...).
        named = spread and all(isinstance(v, ast.Name) for v in spread)
        if not through and not (named and "= kafka_options(" in (REPO / path).read_text()):
            wrong.append(f"{path}:{line}")
        if any(k.arg == "bootstrap_servers" for k in call.keywords):
            wrong.append(f"{path}:{line} (bootstrap_servers= bypasses kafka_options)")
    assert not wrong, "aiokafka clients not built with kafka_options(...): " + ", ".join(wrong)
