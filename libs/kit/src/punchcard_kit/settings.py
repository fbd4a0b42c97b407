"""Settings read from the environment (pydantic-settings). A service refuses to start with a
clear message naming the setting that is missing or wrong."""

from __future__ import annotations

import sys
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_PG = "postgresql://postgres@127.0.0.1:55432"
LOCAL_KAFKA = "127.0.0.1:59092"
LOCAL_REDIS = "redis://127.0.0.1:56379/0"
# Only ever accepted with ENVIRONMENT=development or test.
DEVELOPMENT_INTERNAL_SECRET = "development-only-internal-token-secret-0123456789"


class ServiceSettings(BaseSettings):
    """What every service needs. Subclasses set ``service_name`` and add their own fields.

    In ``development`` the servers default to the local stack (scripts/stack); anywhere else
    each must be given explicitly, so a mis-deployed pod fails at start instead of talking to
    the wrong place.
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = "service"
    environment: Literal["development", "test", "staging", "production"] = "development"
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

    # Signs the short-lived tokens the gateway attaches to calls into services (internal_auth).
    internal_token_secret: SecretStr | None = None

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)

    # Outbox relay and consumers.
    relay_enabled: bool = True
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_interval_s: float = Field(default=1.0, gt=0)
    consumer_max_batch: int = Field(default=500, ge=1, le=10_000)
    consumer_max_attempts: int = Field(default=5, ge=1)
    # Where a consumer group with no committed offset starts (tests use "latest" with a fresh
    # group so they do not replay the shared topics' history).
    consumer_offset_reset: Literal["earliest", "latest"] = "earliest"
    # Appended to every consumer group id (tests and side-by-side deployments).
    consumer_group_suffix: str = ""
    processed_events_retention_days: int = Field(default=14, ge=1)
    # Topics the kit creates itself (dead-letter topics): 3 in production, 1 on the local stack.
    kafka_replication_factor: int = Field(default=1, ge=1)

    @property
    def default_database_name(self) -> str:
        return "punchcard_" + self.service_name.replace("-", "_")

    @model_validator(mode="after")
    def _servers_given_outside_development(self) -> ServiceSettings:
        missing = []
        local = self.environment in ("development", "test")
        if self.database_url is None:
            if local:
                object.__setattr__(self, "database_url", f"{LOCAL_PG}/{self.default_database_name}")
            else:
                missing.append("DATABASE_URL")
        if self.kafka_bootstrap_servers is None:
            if local:
                object.__setattr__(self, "kafka_bootstrap_servers", LOCAL_KAFKA)
            else:
                missing.append("KAFKA_BOOTSTRAP_SERVERS")
        if self.redis_url is None and local:
            object.__setattr__(self, "redis_url", LOCAL_REDIS)
        secret = self.internal_token_secret
        if secret is None and local:
            object.__setattr__(
                self, "internal_token_secret", SecretStr(DEVELOPMENT_INTERNAL_SECRET)
            )
        elif not local and (
            secret is None
            or secret.get_secret_value() == DEVELOPMENT_INTERNAL_SECRET
            or len(secret.get_secret_value()) < 32
        ):
            missing.append("INTERNAL_TOKEN_SECRET (a secret of 32+ characters)")
        if missing:
            raise ValueError(
                f"{', '.join(missing)} must be set when ENVIRONMENT={self.environment}"
            )
        return self


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
