"""The one way an aiokafka client is configured: ``kafka_options(bootstrap, **options)``.

Every ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and ``AIOKafkaAdminClient`` in the repository
(the kit's relay, consumers, followers, topics and dead-letter tools, the benchmarks and the
tests' helpers) is built from it, so each one speaks the security protocol this process was
configured with (``punchcard_kit.settings.KafkaSettings``: PLAINTEXT, SSL, SASL_PLAINTEXT or
SASL_SSL with SCRAM-SHA-256/512 or PLAIN, optional client certificate). A unit test
(tests/unit/kit/test_kafka_security.py) fails on a client built any other way.

Which settings: a service's own (``create_service_app`` calls ``use_kafka_settings`` with its
ServiceSettings at start); anything else (tools, benchmarks, tests) reads the same ``KAFKA_*``
variables from the environment the first time a client is built."""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context

from ..settings import KAFKA_SASL_PROTOCOLS, KAFKA_TLS_PROTOCOLS, KafkaSettings

_configured: KafkaSettings | None = None
_contexts: dict[tuple, ssl.SSLContext] = {}


def use_kafka_settings(settings: KafkaSettings | None) -> None:
    """Make ``settings`` (e.g. a service's ServiceSettings) the ones every client of this
    process is built with; None goes back to reading the environment."""
    global _configured
    _configured = settings


def current_kafka_settings() -> KafkaSettings:
    """The settings ``use_kafka_settings`` set, else the environment's (read once)."""
    global _configured
    if _configured is None:
        _configured = KafkaSettings()
    return _configured


def security_options(settings: KafkaSettings | None = None) -> dict[str, Any]:
    """aiokafka's security arguments for ``settings`` (default: ``current_kafka_settings()``):
    ``security_protocol``, and as the protocol needs them ``ssl_context`` (aiokafka's
    ``create_ssl_context``: the CA file or the system's CAs, hostname checked, the client
    certificate for mTLS) and ``sasl_mechanism`` / ``sasl_plain_username`` /
    ``sasl_plain_password``."""
    settings = settings or current_kafka_settings()
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in KAFKA_TLS_PROTOCOLS:
        options["ssl_context"] = _ssl_context(settings)
    if protocol in KAFKA_SASL_PROTOCOLS:
        password = settings.kafka_sasl_password
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=password.get_secret_value() if password else None,
        )
    return options


def kafka_options(
    bootstrap_servers: str, /, *, settings: KafkaSettings | None = None, **options: Any
) -> dict[str, Any]:
    """Keyword arguments for an aiokafka producer, consumer or admin client: the bootstrap
    servers, this process's security options, then ``options`` (the client's own)."""
    return {"bootstrap_servers": bootstrap_servers, **security_options(settings), **options}


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    # One context per distinct configuration: certificates are read once, not per client.
    key = settings.kafka_security()
    context = _contexts.get(key)
    if context is None:
        key_password = settings.kafka_ssl_key_password
        context = create_ssl_context(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
            password=key_password.get_secret_value() if key_password else None,
        )
        _contexts[key] = context
    return context
