import base64
import json

from punchcard_kit.messaging import catalogue
from punchcard_kit.settings import ServiceSettings
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

# Development-only keys, refused outside ENVIRONMENT=development|test (32 bytes each, base64).
_DEV_PEPPER = base64.b64encode(b"development-only-pin-pepper-0001").decode()
_DEV_SEALING_KEY = base64.b64encode(b"development-only-sealing-key-001").decode()
# The public half of device-sync's development DEVICE_PIN_PRIVATE_KEYS ("dev-1").
_DEV_DEVICE_PIN_PUBLIC_KEY = "EhvihANFHi1cU6LOij1yhu3iuPok24badggWDkl2SXY="


class IdentitySettings(ServiceSettings):
    """Read from the environment (e.g. DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT).

    PIN_PEPPERS: JSON {"key id": "base64 secret of 32+ bytes"}; PIN_PEPPER_CURRENT names the one
    new hashes use (rotation: add a key, make it current, keep the old one to verify).
    PIN_SEALING_KEYS: JSON {"key id": "base64 X25519 private key"}; the edge seals kiosk PINs to
    the public key of PIN_SEALING_CURRENT (served at /internal/v1/pin-sealing-key).
    DEVICE_PIN_PUBLIC_KEY (base64 X25519 public key, not secret) and DEVICE_PIN_KEY_ID:
    device-sync's key for PINs of tenants whose hardware clocks verify PINs themselves
    (device-sync holds the private half in DEVICE_PIN_PRIVATE_KEYS under the same id); unset
    outside development, that switch cannot be turned on."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "identity"
    http_port: int = 8101

    pin_peppers: SecretStr | None = None
    pin_pepper_current: str = "dev-1"
    pin_sealing_keys: SecretStr | None = None
    pin_sealing_current: str = "dev-1"
    device_pin_public_key: str | None = None
    device_pin_key_id: str = Field(default="dev-1", pattern=r"^[A-Za-z0-9._-]{1,40}$")
    argon2_memory_kib: int = Field(default=19 * 1024, ge=19 * 1024)
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1)

    # Wrong PINs of one worker at one clock before the worker is locked *at that clock*; at all
    # clocks together before the worker is locked everywhere (admins see it and can unlock).
    pin_lockout_threshold: int = Field(default=5, ge=1, description="failures at one clock")
    pin_lockout_total_threshold: int = Field(default=15, ge=1, description="at all clocks")
    pin_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # A worker's failures count for an hour; a clock that sees many wrong PINs of known workers
    # in a short time (someone trying PINs) checks no PIN until its window has passed or an
    # admin resets it. Unknown Employee IDs are counted apart and stop no one.
    pin_failure_window_minutes: int = Field(default=60, ge=1)
    pin_device_failure_limit: int = Field(default=30, ge=1, description="failures per clock")
    pin_device_window_minutes: int = Field(default=10, ge=1)
    # Kiosk PIN attempts are verified on this many lanes per process (consumers of the group,
    # each with its own partitions): argon2 runs on the hashing threads below, so while one
    # lane waits on a hash the others do their database work or queue for the next free
    # thread. Four lanes, not two: with two, each lane queued behind its own hashes while the
    # other's thread idled (kiosk_pin_punch at 40/s, p99 143-567 ms on two lanes against
    # 91-188 ms on four; docs/identity.md). One Employee ID's attempts stay on one lane.
    pin_verify_lanes: int = Field(default=4, ge=1, le=12)
    # PIN checks (argon2id) run at most this many at once, on threads of their own, first come
    # first served from every lane: the lanes share the hashing like one queue with that many
    # servers, instead of each lane queueing behind its own hashes while another lane's thread
    # idles, and more lanes than cores never share the cores among more hashes than they hold.
    pin_hash_threads: int = Field(default=2, ge=1, le=32)
    # A worker found but not assigned to the attempt's clock is looked up again after this
    # many seconds before "Unknown User" is answered: an assignment made a moment ago may still
    # be on its way to identity's copy (device-sync's event; usually 1-20 ms). A paced unknown
    # Employee ID waits as long, so the two answers still look alike (docs/identity.md).
    assignment_grace_s: float = Field(default=0.25, ge=0, le=5)
    # The topic of kiosk PIN attempts (another only in tests that give it its own retention).
    pin_attempts_topic: str = Field(
        default=catalogue.KIOSK_PIN_ATTEMPTS.name, pattern=r"^[A-Za-z0-9._-]{1,200}$"
    )
    card_attempts_topic: str = Field(
        default=catalogue.KIOSK_CARD_ATTEMPTS.name, pattern=r"^[A-Za-z0-9._-]{1,200}$"
    )

    @model_validator(mode="after")
    def _keys(self) -> "IdentitySettings":
        local = self.environment in ("development", "test")
        if self.pin_peppers is None:
            if not local:
                raise ValueError("PIN_PEPPERS must be set outside development")
            object.__setattr__(self, "pin_peppers", SecretStr(json.dumps({"dev-1": _DEV_PEPPER})))
        if self.pin_sealing_keys is None:
            if not local:
                raise ValueError("PIN_SEALING_KEYS must be set outside development")
            object.__setattr__(
                self, "pin_sealing_keys", SecretStr(json.dumps({"dev-1": _DEV_SEALING_KEY}))
            )
        if self.device_pin_public_key is None and local:
            object.__setattr__(self, "device_pin_public_key", _DEV_DEVICE_PIN_PUBLIC_KEY)
        if self.device_pin_public_key is not None:
            key = base64.b64decode(self.device_pin_public_key, validate=True)
            if len(key) != 32:
                raise ValueError("DEVICE_PIN_PUBLIC_KEY must be a 32-byte X25519 key (base64)")
            if not local and self.device_pin_public_key == _DEV_DEVICE_PIN_PUBLIC_KEY:
                raise ValueError("the development DEVICE_PIN_PUBLIC_KEY is refused here")
        if not local and (
            _DEV_PEPPER in self.pin_peppers.get_secret_value()
            or _DEV_SEALING_KEY in self.pin_sealing_keys.get_secret_value()
        ):
            raise ValueError("development PIN keys are refused outside development")
        return self

    def peppers(self) -> dict[str, bytes]:
        raw = json.loads(self.pin_peppers.get_secret_value())
        return {key: base64.b64decode(value) for key, value in raw.items()}

    def sealing_keys(self) -> dict[str, bytes]:
        raw = json.loads(self.pin_sealing_keys.get_secret_value())
        return {key: base64.b64decode(value) for key, value in raw.items()}
