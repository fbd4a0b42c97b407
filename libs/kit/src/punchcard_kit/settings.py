"""Settings read from the environment (pydantic-settings). A service refuses to start with a
clear message naming the setting that is missing or wrong.

Fail closed: ENVIRONMENT defaults to production, where every server and key must be given, no
development key is accepted, and no value may still be a placeholder (``CHANGE-ME``, an
``example`` host, ... as in deploy/k8s/infra/secrets.example.yaml). The local scripts and the
tests say ENVIRONMENT=development or test themselves."""

from __future__ import annotations

import os
import sys
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .internal_auth import InvalidInternalKey, load_verifying_key

LOCAL_PG = "postgresql://postgres@127.0.0.1:15432"
LOCAL_KAFKA = "127.0.0.1:19092"
LOCAL_REDIS = "redis://127.0.0.1:16379/0"
# The tests' and benchmarks' own stack (`PUNCHCARD_STACK=test scripts/stack up`): a service
# running with ENVIRONMENT=test defaults to it, so nothing a test leaves behind can reach the
# system `make run` runs on the stack above.
TEST_PG = "postgresql://postgres@127.0.0.1:15442"
TEST_KAFKA = "127.0.0.1:19102"
TEST_REDIS = "redis://127.0.0.1:16389/0"
LOCAL_STACKS = {
    "development": (LOCAL_PG, LOCAL_KAFKA, LOCAL_REDIS),
    "test": (TEST_PG, TEST_KAFKA, TEST_REDIS),
}
# The development key pair of the internal caller tokens (punchcard_kit.internal_auth): only
# ever accepted with ENVIRONMENT=development or test. Published here, so never a secret.
DEVELOPMENT_INTERNAL_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIL2+jg3EF7vNU4irQFMuwfYX82eNU45We7U4vJXODLR9
-----END PRIVATE KEY-----
"""
DEVELOPMENT_INTERNAL_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAc2vcFvIJ7sOagfvkU+giWfx7fDaG1jd9fNoN/+TlAFw=
-----END PUBLIC KEY-----
"""
LOCAL_ENVIRONMENTS = ("development", "test")
# A value containing one of these (any case) is a placeholder from an example, not a setting:
# refused outside development/test, by the variable's name.
PLACEHOLDER_MARKERS = (
    "change-me",
    "change_me",
    "changeme",
    "replace-me",
    "replace_me",
    "replaceme",
    "placeholder",
    "example",
    "<password>",
    "<host>",
)


def placeholder_in(value: Any) -> str | None:
    """The placeholder marker ``value`` (a string, secret, number or a collection of them)
    contains, or None."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, dict):
        for item in (*value.keys(), *value.values()):
            if (found := placeholder_in(item)) is not None:
                return found
        return None
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            if (found := placeholder_in(item)) is not None:
                return found
        return None
    if not isinstance(value, str):
        return None
    lowered = value.lower()
    return next((marker for marker in PLACEHOLDER_MARKERS if marker in lowered), None)


KAFKA_TLS_PROTOCOLS = ("SSL", "SASL_SSL")
KAFKA_SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
# Where Kafka is only ever reached over TLS: face frames, sealed PINs and SASL passwords never
# cross a network in the clear there.
KAFKA_TLS_ONLY_ENVIRONMENTS = ("staging", "production")
_KAFKA_FILES = ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")


# The cyclic collector's first threshold (GC_GEN0_THRESHOLD). Python's own suits a service
# that answers one request or attempt at a time: its objects die young, and a cycle that
# holds a large buffer (a photo's bytes) is freed soon. A 500-verdict batch holds tens of
# thousands of objects until it commits; at 700 the collector walks them again and again
# (punch's ledger spent 0.6 s collecting in a 100,000-verdict run; 0.07 s at 50,000:
# docs/capacity.md, "The collector"). Refcounting frees nearly all of them anyway.
PYTHON_GC_GEN0_THRESHOLD = 700
BATCH_GC_GEN0_THRESHOLD = 50_000
GC_GEN0_BOUNDS = {"ge": 100, "le": 1_000_000}


class KafkaSettings(BaseSettings):
    """How this process reaches Kafka: plain on the local stack, TLS and SASL (SCRAM) for a
    managed or Strimzi cluster. Every aiokafka client the kit, the tools, the benchmarks and
    the tests build takes these (``punchcard_kit.messaging.connection.kafka_options``), so
    nothing talks to Kafka in the clear once ``KAFKA_SECURITY_PROTOCOL`` says TLS.

    A service's settings are these plus its own (``ServiceSettings``); a tool reads them alone
    from the same variables. Wrong combinations are refused at start, by variable name: SASL
    without a user and password, TLS files for a protocol without TLS, a file that is not
    there, (outside development/test) a placeholder password, and with ENVIRONMENT=staging or
    production a protocol without TLS (PLAINTEXT, SASL_PLAINTEXT): there Kafka is reached
    over SSL or SASL_SSL only.

    Which environment counts for that last rule: a service's, whose default is production
    (fail closed: a pod without ENVIRONMENT gets the check); a tool's (``punchcard-topics``,
    ``punchcard-dlq``, a benchmark) only when ENVIRONMENT is given, so a developer's shell
    without it still reaches the local stack in the clear."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)
    # Whether the environment's default (production) alone makes PLAINTEXT refused: yes for a
    # service (ServiceSettings), no for a tool reading these settings alone.
    tls_required_by_default: ClassVar[bool] = False

    environment: Literal["development", "test", "staging", "production"] = "production"
    # PLAINTEXT (the local stack), SSL (TLS; with a client certificate: mTLS), SASL_SSL
    # (TLS + a user and password: managed Kafka, Strimzi's SCRAM listener), SASL_PLAINTEXT
    # (a password over plain TCP; only for a broker reached through a TLS tunnel).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # PEM file of the CA(s) that signed the brokers' certificates (Strimzi: ca.crt of the
    # Secret <cluster>-cluster-ca-cert). Unset: the system's trusted CAs (most managed Kafka).
    kafka_ssl_cafile: str | None = None
    # mTLS (optional): this client's certificate chain and its private key, PEM.
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    kafka_ssl_key_password: SecretStr | None = None

    @model_validator(mode="after")
    def _kafka_settings_valid(self) -> KafkaSettings:
        problems = self.kafka_problems()
        if self.environment not in LOCAL_ENVIRONMENTS:
            problems += [
                f"{name.upper()} holds a placeholder ({marker!r}); give the real value"
                for name in ("kafka_sasl_username", "kafka_sasl_password")
                if (marker := placeholder_in(getattr(self, name))) is not None
            ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def kafka_problems(self) -> list[str]:
        """What is wrong with the Kafka security settings, one line per variable (placeholders
        aside: the caller's placeholder check covers them)."""
        protocol = self.kafka_security_protocol
        problems = []
        if protocol not in KAFKA_TLS_PROTOCOLS and self.requires_kafka_tls():
            problems.append(
                f"KAFKA_SECURITY_PROTOCOL={protocol} is refused when "
                f"ENVIRONMENT={self.environment}: Kafka is reached over TLS only there "
                "(say SASL_SSL, or SSL with a client certificate)"
            )
        if protocol in KAFKA_SASL_PROTOCOLS:
            for name in ("kafka_sasl_username", "kafka_sasl_password"):
                value = getattr(self, name)
                if isinstance(value, SecretStr):
                    value = value.get_secret_value()
                if not value:
                    problems.append(
                        f"{name.upper()} must be set when KAFKA_SECURITY_PROTOCOL={protocol}"
                    )
        else:
            for name in ("kafka_sasl_username", "kafka_sasl_password"):
                if getattr(self, name) is not None:
                    problems.append(
                        f"{name.upper()} is set but KAFKA_SECURITY_PROTOCOL={protocol} sends no "
                        "password (say SASL_SSL)"
                    )
        tls_files = [name for name in _KAFKA_FILES if getattr(self, name)]
        if protocol not in KAFKA_TLS_PROTOCOLS:
            problems += [
                f"{name.upper()} is set but KAFKA_SECURITY_PROTOCOL={protocol} uses no TLS "
                "(say SSL or SASL_SSL)"
                for name in tls_files
            ]
        else:
            for name in tls_files:
                path = getattr(self, name)
                if not os.path.isfile(path) or not os.access(path, os.R_OK):
                    problems.append(f"{name.upper()}: no readable file at {path}")
            if self.kafka_ssl_keyfile and not self.kafka_ssl_certfile:
                problems.append("KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE")
        if self.kafka_ssl_key_password is not None and not self.kafka_ssl_keyfile:
            problems.append("KAFKA_SSL_KEY_PASSWORD is set without KAFKA_SSL_KEYFILE")
        return problems

    def requires_kafka_tls(self) -> bool:
        """Whether this environment refuses a Kafka protocol without TLS (staging, production;
        for a tool only when ENVIRONMENT was given, see the class's description)."""
        if self.environment not in KAFKA_TLS_ONLY_ENVIRONMENTS:
            return False
        return self.tls_required_by_default or "environment" in self.model_fields_set

    def kafka_security(self) -> tuple:
        """The Kafka security settings alone, as a hashable key (one SSL context per key)."""
        return tuple(
            getattr(self, name) for name in KafkaSettings.model_fields if name.startswith("kafka_")
        )


class ServiceSettings(KafkaSettings):
    """What every service needs. Subclasses set ``service_name`` and add their own fields.

    In ``development`` the servers default to the local stack (scripts/stack); anywhere else
    each must be given explicitly, so a mis-deployed pod fails at start instead of talking to
    the wrong place.
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # Whether this service verifies the gateway's internal tokens (needs the public key); the
    # gateway, which signs them, says no.
    verifies_internal_tokens: ClassVar[bool] = True
    # A service refuses Kafka in the clear in production even when ENVIRONMENT is unset.
    tls_required_by_default: ClassVar[bool] = True

    service_name: str = "service"
    # Production unless told otherwise: a pod, an image or a shell without ENVIRONMENT gets
    # every check (scripts/run-services, the Makefile and the tests say development/test).
    environment: Literal["development", "test", "staging", "production"] = "production"
    log_level: str = "INFO"
    log_json: bool = True

    database_url: str | None = Field(
        default=None, description="PostgreSQL DSN of this service's own database"
    )
    kafka_bootstrap_servers: str | None = None
    redis_url: str | None = None
    # Client timeouts: a server that accepts connections but never answers makes the call fail
    # (a transient error: consumers retry it with backoff, HTTP answers 503) instead of hanging.
    db_connect_timeout_s: float = Field(default=10.0, gt=0, le=300)
    db_command_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    redis_connect_timeout_s: float = Field(default=2.0, gt=0, le=60)
    redis_timeout_s: float = Field(default=2.0, gt=0, le=60)

    # Verifies the short-lived tokens the gateway attaches to calls into services
    # (internal_auth): the gateway's Ed25519 public key, PEM. Only the gateway holds the
    # private key (INTERNAL_TOKEN_PRIVATE_KEY, GatewaySettings).
    internal_token_public_key: str | None = None

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    # The ops endpoints (/metrics, /healthz, /readyz) also on a port of their own, which the
    # ingress never routes (punchcard_kit.ops); unset: only on HTTP_PORT. OPS_HOST: its
    # address (default HTTP_HOST).
    ops_port: int | None = Field(default=None, ge=1, le=65535)
    ops_host: str | None = None
    # How often the outbox's backlog and oldest row's age are sampled for /metrics.
    outbox_metrics_interval_s: float = Field(default=15.0, gt=0)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # ``forwarded_allow_ips``: comma-separated addresses or networks, "*" for any): behind an
    # ingress, its address, so the client address a service sees (audit log, throttles) is the
    # real client's. Anything else sending those headers is ignored.
    forwarded_allow_ips: str = "127.0.0.1"

    # Outbox relay and consumers.
    relay_enabled: bool = True
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    # A relay batch also stops at this many bytes (keys + values; one larger row goes alone).
    relay_batch_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    relay_poll_interval_s: float = Field(default=1.0, gt=0)
    consumer_max_batch: int = Field(default=500, ge=1, le=10_000)
    consumer_max_attempts: int = Field(default=5, ge=1)
    # Where a consumer group with no committed offset starts (tests use "latest" with a fresh
    # group so they do not replay the shared topics' history).
    consumer_offset_reset: Literal["earliest", "latest"] = "earliest"
    # Appended to every consumer group id (tests and side-by-side deployments).
    consumer_group_suffix: str = ""
    processed_events_retention_days: int = Field(default=14, ge=1)
    # How long a request naming something this service learns from another service's events
    # (a worker created at identity a moment ago) waits for it before its 404
    # (punchcard_kit.retry.until_projected): read your writes across services.
    projection_wait_s: float = Field(default=2.0, ge=0, le=10)
    # Topics the kit creates itself (dead-letter topics): 3 in production, 1 on the local stack.
    kafka_replication_factor: int = Field(default=1, ge=1)

    # Traces (punchcard_kit.tracing, docs/observability.md): exported by OTLP/HTTP when an
    # endpoint is given (the standard variables; the SDK reads the other OTEL_* itself:
    # OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, ...). None: off, at no cost.
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_sdk_disabled: bool = False
    # The cyclic garbage collector's first threshold: it runs once this many more container
    # objects have been allocated than freed (punchcard_kit.service.freeze_start_up). Python's
    # own 700 by default; a service that decides large batches raises it
    # (BATCH_GC_GEN0_THRESHOLD).
    gc_gen0_threshold: int = Field(default=PYTHON_GC_GEN0_THRESHOLD, **GC_GEN0_BOUNDS)

    # Access logs (punchcard_kit.access_log): one line for every Nth answer under 400 (0:
    # none), and for every 4xx and 5xx; health probes and /metrics only when they fail.
    access_log_sample_every: int = Field(default=10, ge=0)

    @model_validator(mode="after")
    def _kafka_settings_valid(self) -> ServiceSettings:
        # Reported with every other problem below (one message naming all of them).
        return self

    @property
    def default_database_name(self) -> str:
        return "punchcard_" + self.service_name.replace("-", "_")

    @model_validator(mode="after")
    def _servers_given_outside_development(self) -> ServiceSettings:
        missing = []
        local = self.environment in LOCAL_ENVIRONMENTS
        pg, kafka, redis = LOCAL_STACKS.get(self.environment, (None, None, None))
        if self.database_url is None:
            if local:
                object.__setattr__(self, "database_url", f"{pg}/{self.default_database_name}")
            else:
                missing.append("DATABASE_URL")
        if self.kafka_bootstrap_servers is None:
            if local:
                object.__setattr__(self, "kafka_bootstrap_servers", kafka)
            else:
                missing.append("KAFKA_BOOTSTRAP_SERVERS")
        if self.redis_url is None and local:
            object.__setattr__(self, "redis_url", redis)
        if self.verifies_internal_tokens:
            problem = self._internal_public_key_problem(local)
            if problem:
                missing.append(f"INTERNAL_TOKEN_PUBLIC_KEY ({problem})")
        problems = []
        if missing:
            problems.append(f"{', '.join(missing)} must be set when ENVIRONMENT={self.environment}")
        problems += self.kafka_problems()
        if not local and (placeholders := self.placeholders()):
            problems.append(
                f"placeholder values are refused when ENVIRONMENT={self.environment}: "
                + ", ".join(placeholders)
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _internal_public_key_problem(self, local: bool) -> str | None:
        key = self.internal_token_public_key
        if key is None:
            if local:
                object.__setattr__(
                    self, "internal_token_public_key", DEVELOPMENT_INTERNAL_PUBLIC_KEY
                )
                return None
            return "the gateway's Ed25519 public key, PEM"
        try:
            loaded = load_verifying_key(key)
        except InvalidInternalKey as error:
            return f"the gateway's Ed25519 public key, PEM: {error}"
        if not local and loaded == load_verifying_key(DEVELOPMENT_INTERNAL_PUBLIC_KEY):
            return "not the development key"
        return None

    def placeholders(self) -> list[str]:
        """One line per setting given a placeholder value (e.g. ``CHANGE-ME``), by name."""
        prefix = (self.model_config.get("env_prefix") or "").upper()
        found = []
        for name in sorted(self.model_fields_set):
            marker = placeholder_in(getattr(self, name))
            if marker is not None:
                found.append(f"{prefix}{name.upper()} (holds {marker!r}; give the real value)")
        return found

    def is_local(self) -> bool:
        return self.environment in LOCAL_ENVIRONMENTS


S = TypeVar("S", bound=BaseSettings)


def describe_errors(cls: type[BaseSettings], error: ValidationError) -> str:
    prefix = cls.model_config.get("env_prefix", "") or ""
    lines = [f"invalid settings for {cls.__name__}:"]
    for item in error.errors():
        loc = "_".join(str(p) for p in item["loc"]) if item["loc"] else ""
        name = (prefix + loc).upper() if loc else "(settings)"
        lines.append(f"  {name}: {item['msg']}")
    return "\n".join(lines)


def load_settings(cls: type[S], **overrides: object) -> S:
    """Build settings or exit(2) with one line per bad setting, naming its variable."""
    try:
        return cls(**overrides)
    except ValidationError as error:
        print(describe_errors(cls, error), file=sys.stderr)
        raise SystemExit(2) from None
