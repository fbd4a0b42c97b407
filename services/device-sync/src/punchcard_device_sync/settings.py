import base64
import binascii
import json

from punchcard_kit.settings import BATCH_GC_GEN0_THRESHOLD, GC_GEN0_BOUNDS, ServiceSettings
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

# Development-only key of the biometric templates (32 bytes, base64), refused outside
# ENVIRONMENT=development|test.
_DEV_BIOMETRIC_KEY = base64.b64encode(b"development-only-biometric-key-1").decode()
# Development-only X25519 private key of PINs sealed for hardware clocks that verify PINs
# (identity's development DEVICE_PIN_PUBLIC_KEY is its public half), refused outside.
_DEV_DEVICE_PIN_KEY = base64.b64encode(b"development-only-device-pin-k001").decode()


class DeviceSyncSettings(ServiceSettings):
    """Read from the environment (e.g. DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT,
    CLOCK_OFFLINE_AFTER_S)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "device-sync"
    http_port: int = 8104
    # ATTLOG uploads are written in group commits of ~50 uploads (docs/device-sync.md, eighth
    # pass: the p99 at 2,000 punches/s halved).
    gc_gen0_threshold: int = Field(default=BATCH_GC_GEN0_THRESHOLD, **GC_GEN0_BOUNDS)
    # A clock is offline after this long without a request (its long-poll is 25 s).
    clock_offline_after_s: float = Field(default=90.0, gt=0)
    # How often device_sync_clocks{protocol, status} is recounted for /metrics.
    fleet_metrics_interval_s: float = Field(default=60.0, gt=0)
    # Commands per sync answer.
    sync_batch_limit: int = Field(default=200, ge=1, le=1000)
    # How long a verified clock credential is trusted from memory (a revoke or rotation
    # drops it at once on every replica through NOTIFY; this bounds a missed notification).
    clock_auth_cache_s: float = Field(default=30.0, ge=0)
    heartbeat_flush_interval_s: float = Field(default=1.0, gt=0)
    # A clock that calls with nothing new is written at most this often (at most a third of
    # CLOCK_OFFLINE_AFTER_S): 20,000 ZK clocks polling every 10 s cost ~700 rows/s, not 2,000.
    heartbeat_write_every_s: float = Field(default=30.0, ge=0)
    # Acknowledged commands are kept this long for the admin's view, then deleted.
    command_retention_days: int = Field(default=7, ge=1)
    # At most one automatic resync per clock this often (a clock that keeps drifting is
    # logged as an error instead of being resynced in a loop).
    auto_resync_min_interval_s: float = Field(default=300.0, ge=0)
    db_pool_max_size: int = Field(default=10, ge=2)
    # Long-polls one replica holds at once per clock and per tenant (more: 429, Retry-After).
    sync_polls_per_clock: int = Field(default=2, ge=1, le=100)
    sync_polls_per_tenant: int = Field(default=1000, ge=1, le=100_000)
    # AES-256-GCM key of the biometric templates hardware clocks upload (base64 of 32 random
    # bytes; only device-sync holds it). Required outside development/test.
    biometric_key: SecretStr | None = None
    # X25519 private keys of the PINs identity seals for clocks that verify PINs themselves:
    # JSON {"key id": "base64 private key"} (identity seals to the public half of the one its
    # DEVICE_PIN_KEY_ID names; keep an old key until every PIN sealed to it was set again).
    # Unset outside development: no PIN is ever sent to a clock.
    device_pin_private_keys: SecretStr | None = None

    @model_validator(mode="after")
    def _device_pin_keys(self) -> "DeviceSyncSettings":
        local = self.environment in ("development", "test")
        if self.device_pin_private_keys is None:
            if local:
                dev = json.dumps({"dev-1": _DEV_DEVICE_PIN_KEY})
                object.__setattr__(self, "device_pin_private_keys", SecretStr(dev))
            return self
        value = self.device_pin_private_keys.get_secret_value()
        if not local and _DEV_DEVICE_PIN_KEY in value:
            raise ValueError("the development DEVICE_PIN_PRIVATE_KEYS are refused here")
        try:
            keys = self.device_pin_keys()
        except (binascii.Error, ValueError, TypeError, AttributeError):
            keys = {}
        if not keys or any(len(k) != 32 for k in keys.values()):
            raise ValueError(
                'DEVICE_PIN_PRIVATE_KEYS must be JSON {"key id": "base64 of 32 bytes"}'
            )
        return self

    def device_pin_keys(self) -> dict[str, bytes]:
        """The private keys by id ({} when not configured)."""
        if self.device_pin_private_keys is None:
            return {}
        raw = json.loads(self.device_pin_private_keys.get_secret_value())
        return {str(k): base64.b64decode(v, validate=True) for k, v in raw.items()}

    @model_validator(mode="after")
    def _biometric_key(self) -> "DeviceSyncSettings":
        local = self.environment in ("development", "test")
        if self.biometric_key is None:
            if not local:
                raise ValueError("BIOMETRIC_KEY must be set outside development")
            object.__setattr__(self, "biometric_key", SecretStr(_DEV_BIOMETRIC_KEY))
            return self
        value = self.biometric_key.get_secret_value().strip()
        if not local and value == _DEV_BIOMETRIC_KEY:
            raise ValueError("the development BIOMETRIC_KEY is refused outside development")
        try:
            key = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ValueError("BIOMETRIC_KEY must be the base64 of 32 random bytes")
        return self

    def biometric_key_bytes(self) -> bytes:
        assert self.biometric_key is not None
        return base64.b64decode(self.biometric_key.get_secret_value().strip())

    # ZK PUSH clocks (/iclock): the handshake's Delay (poll interval, s), ErrorDelay and
    # TransInterval (minutes), how long a serial lookup is trusted from memory, how long a
    # device may be unheard before the server asks it for the missing range again
    # (DATA QUERY ATTLOG, from its last poll less the margin), the skew that flags a clock
    # (and has it re-handshake and set its time), when an unacknowledged command is sent
    # again, and the bounds of the unregistered devices' list.
    zk_delay_s: int = Field(default=10, ge=1, le=3600)
    zk_error_delay_s: int = Field(default=30, ge=1, le=3600)
    zk_trans_interval_min: int = Field(default=1, ge=1, le=1440)
    zk_device_cache_s: float = Field(default=300.0, ge=0)
    zk_gap_after_offline_s: float = Field(default=600.0, gt=0)
    zk_gap_margin_s: float = Field(default=300.0, ge=0)
    zk_max_skew_s: float = Field(default=120.0, gt=0)
    zk_redeliver_after_s: float = Field(default=60.0, gt=0)
    # ATTLOG uploads arriving together are written in one transaction (group commit): at
    # most this many uploads per transaction, this many transactions at once.
    zk_attlog_batch_limit: int = Field(default=64, ge=1, le=1000)
    zk_attlog_concurrency: int = Field(default=4, ge=1, le=64)
    zk_unregistered_cap: int = Field(default=1000, ge=1, le=100_000)
    zk_unregistered_retention_days: int = Field(default=30, ge=1)
    # A ZK punch's dedup row is kept this long (a record resent later is still one attempt:
    # its id is derived from the record, and punch records an attempt once).
    zk_punch_retention_days: int = Field(default=90, ge=1)
