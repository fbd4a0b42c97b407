from __future__ import annotations

from pathlib import Path

from punchcard_kit.settings import ServiceSettings
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from .domain.access import DEVICE_SYNC, FACE_MATCH, IDENTITY, PUNCH
from .domain.edge_limits import EdgeLimits

# Only ever accepted with ENVIRONMENT=development or test.
DEVELOPMENT_ADMIN_JWT_SECRET = "development-only-admin-jwt-secret-0123456789abcdef"
LOCAL_IDENTITY_URL = "http://127.0.0.1:8101"
LOCAL_DEVICE_SYNC_URL = "http://127.0.0.1:8104"
LOCAL_PUNCH_URL = "http://127.0.0.1:8103"
LOCAL_FACE_MATCH_URL = "http://127.0.0.1:8102"


class GatewaySettings(ServiceSettings):
    """Read from the environment (e.g. DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT,
    ADMIN_JWT_SECRET, IDENTITY_URL, DEVICE_SYNC_URL, PUNCH_URL, FACE_MATCH_URL, KIOSK_WAIT_S)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "gateway"
    http_port: int = 8000

    # Signs admins' access tokens (HS256). Not the internal token secret: a leaked admin
    # token must never pass for an internal one, nor the other way round.
    admin_jwt_secret: SecretStr | None = None
    access_token_ttl_s: int = Field(default=15 * 60, ge=60, le=3600)
    refresh_token_ttl_s: int = Field(default=14 * 24 * 3600, ge=3600)

    # The internal APIs the admin API forwards to: identity (workers, PINs, reports),
    # device-sync (clocks, assignments), punch (the ledger, timesheets) and face-match (face
    # enrolment). Defaults only in
    # development/test. The kiosk edge also asks device-sync who a clock is, identity for
    # its PIN-sealing key and punch for an attempt's outcome.
    identity_url: str | None = None
    device_sync_url: str | None = None
    punch_url: str | None = None
    face_match_url: str | None = None
    upstream_timeout_s: float = Field(default=10.0, gt=0, le=120)

    # The kiosk edge. How long a punch request waits for its outcome before answering
    # "pending" (the kiosk then asks GET /kiosk/v1/punches/{attempt_id}).
    kiosk_wait_s: float = Field(default=5.0, gt=0, le=25)
    # The largest face frame accepted, decoded (the face-attempts topic takes 1 MiB records).
    kiosk_max_frame_bytes: int = Field(default=512 * 1024, ge=1024, le=900 * 1024)
    # A kiosk waits on the edge's own calls (device-sync's whoami, punch's outcome lookup):
    # kept short, so a slow server turns into a quick 503 or "pending".
    kiosk_upstream_timeout_s: float = Field(default=3.0, gt=0, le=30)
    # Identity's PIN-sealing public key is fetched at first use and again this often (key
    # rotation); a failed refresh keeps the key in hand.
    pin_sealing_key_refresh_s: float = Field(default=300.0, ge=1, le=86400)
    # Connections to device-sync for kiosk apps' long-polls (one held per paired tablet).
    kiosk_sync_max_connections: int = Field(default=2000, ge=10, le=100_000)
    # Rate limits of the kiosk edge (domain.edge_limits), per clock and per tenant, per minute
    # (moving window, in Redis, shared by the replicas); long-polls held at once.
    kiosk_limit_punch_per_clock: int = Field(default=60, ge=1, le=100_000)
    kiosk_limit_punch_per_tenant: int = Field(default=3000, ge=1, le=10_000_000)
    kiosk_limit_pin_per_clock: int = Field(default=20, ge=1, le=100_000)
    kiosk_limit_pin_per_tenant: int = Field(default=1200, ge=1, le=10_000_000)
    kiosk_limit_face_per_clock: int = Field(default=30, ge=1, le=100_000)
    kiosk_limit_face_per_tenant: int = Field(default=1500, ge=1, le=10_000_000)
    kiosk_limit_result_per_clock: int = Field(default=240, ge=1, le=100_000)
    kiosk_limit_result_per_tenant: int = Field(default=12000, ge=1, le=10_000_000)
    kiosk_limit_sync_per_clock: int = Field(default=30, ge=1, le=100_000)
    kiosk_limit_sync_per_tenant: int = Field(default=6000, ge=1, le=10_000_000)
    kiosk_limit_polls_per_clock: int = Field(default=2, ge=1, le=100)
    kiosk_limit_polls_per_tenant: int = Field(default=1000, ge=1, le=100_000)
    # Kiosk attempt claims (and their outcomes) are kept this long, then pruned hourly.
    kiosk_attempt_retention_days: int = Field(default=30, ge=1, le=3650)

    # The built manage portal and kiosk app (``make web``: services/gateway/web/dist). Unset:
    # the dist folder beside this package's source (a checkout); the image sets it.
    web_dist_dir: Path | None = None

    @model_validator(mode="after")
    def _gateway_secrets_outside_development(self) -> GatewaySettings:
        missing = []
        local = self.environment in ("development", "test")
        for name, default in (
            ("identity_url", LOCAL_IDENTITY_URL),
            ("device_sync_url", LOCAL_DEVICE_SYNC_URL),
            ("punch_url", LOCAL_PUNCH_URL),
            ("face_match_url", LOCAL_FACE_MATCH_URL),
        ):
            if getattr(self, name) is None:
                if local:
                    object.__setattr__(self, name, default)
                else:
                    missing.append(name.upper())
        if self.redis_url is None:
            missing.append("REDIS_URL (the kiosk edge's rate limits)")
        secret = self.admin_jwt_secret
        if secret is None and local:
            object.__setattr__(self, "admin_jwt_secret", SecretStr(DEVELOPMENT_ADMIN_JWT_SECRET))
        elif not local and (
            secret is None
            or secret.get_secret_value() == DEVELOPMENT_ADMIN_JWT_SECRET
            or len(secret.get_secret_value()) < 32
            or (
                self.internal_token_secret is not None
                and secret.get_secret_value() == self.internal_token_secret.get_secret_value()
            )
        ):
            missing.append(
                "ADMIN_JWT_SECRET (a secret of 32+ characters, not the internal token secret)"
            )
        if missing:
            raise ValueError(
                f"{', '.join(missing)} must be set when ENVIRONMENT={self.environment}"
            )
        return self

    def edge_limits(self) -> EdgeLimits:
        return EdgeLimits(
            **{
                name: getattr(self, f"kiosk_limit_{name}")
                for name in EdgeLimits.__dataclass_fields__
            }
        )

    def upstream_urls(self) -> dict[str, str]:
        """Each forwarded-to service's base URL, by the name domain.access routes to."""
        assert self.identity_url is not None and self.device_sync_url is not None
        assert self.punch_url is not None and self.face_match_url is not None
        return {
            IDENTITY: self.identity_url,
            DEVICE_SYNC: self.device_sync_url,
            PUNCH: self.punch_url,
            FACE_MATCH: self.face_match_url,
        }
