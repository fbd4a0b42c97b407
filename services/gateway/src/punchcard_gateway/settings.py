from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from punchcard_kit.internal_auth import InvalidInternalKey, load_signing_key, same_key_pair
from punchcard_kit.messaging import catalogue
from punchcard_kit.settings import DEVELOPMENT_INTERNAL_PRIVATE_KEY, ServiceSettings
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from .domain.access import DEVICE_SYNC, FACE_MATCH, IDENTITY, PUNCH
from .domain.edge_limits import EdgeLimits
from .domain.kiosk import RepublishPolicy
from .domain.login import LoginPolicy

# Only ever accepted with ENVIRONMENT=development or test.
DEVELOPMENT_ADMIN_JWT_SECRET = "development-only-admin-jwt-secret-0123456789abcdef"
LOCAL_IDENTITY_URL = "http://127.0.0.1:8101"
LOCAL_DEVICE_SYNC_URL = "http://127.0.0.1:8104"
LOCAL_PUNCH_URL = "http://127.0.0.1:8103"
LOCAL_FACE_MATCH_URL = "http://127.0.0.1:8102"


class GatewaySettings(ServiceSettings):
    """Read from the environment (e.g. DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT,
    ADMIN_JWT_SECRET, IDENTITY_URL, DEVICE_SYNC_URL, PUNCH_URL, FACE_MATCH_URL, KIOSK_WAIT_S,
    REDIS_URL, LOGIN_*)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # The gateway signs the internal tokens; it verifies none (no /internal API of its own).
    verifies_internal_tokens: ClassVar[bool] = False

    service_name: str = "gateway"
    http_port: int = 8000

    # Signs the internal caller tokens (EdDSA, punchcard_kit.internal_auth): the gateway's
    # Ed25519 private key, PKCS#8 PEM. Only the gateway holds it; the services hold the public
    # key (INTERNAL_TOKEN_PUBLIC_KEY). The development key pair only in development/test.
    internal_token_private_key: SecretStr | None = None

    # Signs admins' access tokens (HS256). A different kind of key from the internal token key:
    # a leaked admin token never passes for an internal one, nor the other way round.
    admin_jwt_secret: SecretStr | None = None
    # As short as 5 s only so a browser test can outlive it (access tokens are not revocable).
    access_token_ttl_s: int = Field(default=15 * 60, ge=5, le=3600)
    refresh_token_ttl_s: int = Field(default=14 * 24 * 3600, ge=3600)

    # Admin login throttle (Redis, sliding window of failed logins, domain/login.py): per
    # account (the e-mail typed, known or not) and per client address; over it, 429.
    login_window_s: int = Field(default=900, ge=10, le=86400)
    login_max_failures_per_account: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_client: int = Field(default=30, ge=1, le=100_000)
    # Consecutive wrong passwords that lock an account, and for how long (a sysadmin may
    # unlock it sooner: POST /api/v1/users/{id}/unlock).
    login_lock_after_failures: int = Field(default=10, ge=2, le=1000)
    login_lock_s: int = Field(default=3600, ge=60, le=30 * 86400)
    # argon2 costs 64 MiB a hash: at most this many at once; a request waits this long for a
    # free slot, then gets 503 BUSY.
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    password_hash_wait_s: float = Field(default=3.0, gt=0, le=30)
    # Retention, pruned hourly: refresh tokens this many days after they expired, audit rows
    # after this many days.
    expired_refresh_token_retention_days: int = Field(default=7, ge=1, le=3650)
    audit_retention_days: int = Field(default=400, ge=30, le=36500)

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
    # "pending" (the kiosk then asks GET /kiosk/v1/punches/{attempt_id}). At most 15 s: the
    # kiosk app gives a punch request 20 s (web/src/kiosk/api.js) and takes a request with no
    # answer by then for no network (the attempt saved, "Saved" on the screen).
    kiosk_wait_s: float = Field(default=5.0, gt=0, le=15)
    # The largest face frame accepted, decoded (the face-attempts topic takes 1 MiB records).
    kiosk_max_frame_bytes: int = Field(default=512 * 1024, ge=1024, le=900 * 1024)
    # A kiosk waits on the edge's own calls (device-sync's whoami, punch's outcome lookup):
    # kept short, so a slow server turns into a quick 503 or "pending".
    kiosk_upstream_timeout_s: float = Field(default=3.0, gt=0, le=30)
    # Who a kiosk's credential is (device-sync's whoami) is kept this long (adapters/kiosk.py,
    # CachedClocks): a kiosk asks on every request. A clock updated, revoked or given a new
    # credential is forgotten at once (its event on the clocks topic; the admin's request);
    # this bounds how long a change whose event is lost goes unnoticed. 0: ask every time.
    kiosk_clock_cache_s: float = Field(default=60.0, ge=0, le=600)
    # A face enrolled at a kiosk (a Manager signed in): face-match analyses the photo first.
    kiosk_enrolment_timeout_s: float = Field(default=60.0, gt=0, le=300)
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
    # The reconciler of attempts without an outcome (service_layer/reconciler.py; the numbers
    # are argued in the gateway README). An attempt is held (its sealed PIN or frame) until its
    # outcome; without one after KIOSK_RECONCILE_AFTER_S punch is asked, and if punch has none
    # the attempt is published again, then again after twice as long … at most every
    # KIOSK_RECONCILE_MAX_INTERVAL_S (keep it well below the attempt topics' retention, 24 h),
    # and given up (deleted, logged, counted) KIOSK_ATTEMPT_HOLD_HOURS after it arrived: the
    # longest outage of identity, face-match or punch that loses no attempt. Each replica looks
    # every KIOSK_RECONCILE_EVERY_S, at most KIOSK_RECONCILE_BATCH attempts a turn.
    kiosk_reconcile_after_s: float = Field(default=300.0, ge=1, le=86400)
    kiosk_reconcile_max_interval_s: float = Field(default=6 * 3600.0, ge=1, le=12 * 3600)
    kiosk_attempt_hold_hours: int = Field(default=168, ge=1, le=13 * 24)
    kiosk_reconcile_every_s: float = Field(default=30.0, ge=0.5, le=3600)
    kiosk_reconcile_batch: int = Field(default=200, ge=1, le=1000)
    # The attempt topics (other names only for tests that give a topic its own retention).
    kiosk_pin_attempts_topic: str = Field(
        default=catalogue.KIOSK_PIN_ATTEMPTS.name, pattern=r"^[A-Za-z0-9._-]{1,200}$"
    )
    kiosk_face_attempts_topic: str = Field(
        default=catalogue.KIOSK_FACE_ATTEMPTS.name, pattern=r"^[A-Za-z0-9._-]{1,200}$"
    )
    kiosk_card_attempts_topic: str = Field(
        default=catalogue.KIOSK_CARD_ATTEMPTS.name, pattern=r"^[A-Za-z0-9._-]{1,200}$"
    )

    # The built manage portal and kiosk app (``make web``: services/gateway/web/dist). Unset:
    # the dist folder beside this package's source (a checkout); the image sets it.
    web_dist_dir: Path | None = None
    # The upstream services' OpenAPI snapshots the gateway's /openapi.json merges
    # (proto/openapi, tools/gen_openapi.py). Unset: proto/openapi of a checkout; the image sets it.
    openapi_dir: Path | None = None

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
        ):
            missing.append("ADMIN_JWT_SECRET (a secret of 32+ characters)")
        problem = self._private_key_problem(local)
        if problem:
            missing.append(f"INTERNAL_TOKEN_PRIVATE_KEY ({problem})")
        if self.redis_url is None:
            missing.append("REDIS_URL (the admin login throttle)")
        if missing:
            raise ValueError(
                f"{', '.join(missing)} must be set when ENVIRONMENT={self.environment}"
            )
        return self

    def republish_policy(self) -> RepublishPolicy:
        return RepublishPolicy(
            after=timedelta(seconds=self.kiosk_reconcile_after_s),
            max_interval=timedelta(seconds=self.kiosk_reconcile_max_interval_s),
            hold=timedelta(hours=self.kiosk_attempt_hold_hours),
        )

    def _private_key_problem(self, local: bool) -> str | None:
        key = self.internal_token_private_key
        if key is None:
            if local:
                object.__setattr__(
                    self, "internal_token_private_key", SecretStr(DEVELOPMENT_INTERNAL_PRIVATE_KEY)
                )
                return None
            return "the Ed25519 private key that signs internal tokens, PKCS#8 PEM"
        try:
            load_signing_key(key.get_secret_value())
        except InvalidInternalKey as error:
            return f"an Ed25519 private key, PKCS#8 PEM: {error}"
        if not local and same_key_pair(
            key.get_secret_value(), load_signing_key(DEVELOPMENT_INTERNAL_PRIVATE_KEY).public_key()
        ):
            return "not the development key"
        return None

    def internal_signing_key(self) -> Ed25519PrivateKey:
        assert self.internal_token_private_key is not None
        return load_signing_key(self.internal_token_private_key.get_secret_value())

    def login_policy(self) -> LoginPolicy:
        return LoginPolicy(
            window_s=self.login_window_s,
            max_failures_per_account=self.login_max_failures_per_account,
            max_failures_per_client=self.login_max_failures_per_client,
            lock_after_failures=self.login_lock_after_failures,
            lock_s=self.login_lock_s,
        )

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
