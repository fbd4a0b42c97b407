from punchcard_kit.settings import BATCH_GC_GEN0_THRESHOLD, GC_GEN0_BOUNDS, ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class PunchSettings(ServiceSettings):
    """Read from the environment (e.g. DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT,
    DOUBLE_TAP_WINDOW_S)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "punch"
    http_port: int = 8103
    # Verdicts are decided in batches of up to CONSUMER_MAX_BATCH (docs/capacity.md, "The
    # collector").
    gc_gen0_threshold: int = Field(default=BATCH_GC_GEN0_THRESHOLD, **GC_GEN0_BOUNDS)

    # A second attempt of the same worker within this many seconds of a punch (before or
    # after it, by capture time) is a double tap: answered with that punch, not recorded.
    double_tap_window_s: float = Field(default=60.0, ge=0, le=3600)
    # How far in the future (past the edge's receive time) a device's capture time may be.
    clock_skew_s: float = Field(default=120.0, ge=0, le=3600)
    # An attempt the kiosk did not mark offline must have been captured at most this long
    # before the edge received it (a tablet's credential cannot backdate an online punch).
    online_max_age_s: float = Field(default=300.0, gt=0, le=3600)
    # Attempts captured longer ago than this (offline kiosks) are refused.
    max_offline_age_h: float = Field(default=7 * 24, gt=0, le=90 * 24)
    # Offline punches captured longer than this before their receipt are recorded but flagged
    # for an admin's review (the portal marks them).
    offline_review_age_h: float = Field(default=24.0, gt=0, le=90 * 24)
    # With no direction from the kiosk, a punch is OUT if the worker's last punch was an IN
    # at most this long before; otherwise IN (domain.decisions.toggled): longer than a shift,
    # shorter than a night's rest, so a forgotten punch does not flip the days after it.
    toggle_reset_h: float = Field(default=12.0, gt=0, le=72)
    # Timesheets: an IN and an OUT further apart than this are not paired (both flagged).
    max_shift_h: float = Field(default=20.0, gt=0, le=48)
    db_pool_max_size: int = Field(default=10, ge=2)
    # Consumers of the verdicts group in this process (the kit's lanes), each with its own
    # partitions and its own batch transaction: while one lane waits on PostgreSQL, the other
    # decodes and decides its batch. A worker's verdicts stay on one partition, so in order.
    # 1 by default: on a quiet 2-core box (PostgreSQL on the same cores) two lanes decided
    # 18-19 % more verdicts a second than one, but on the same box busier they starved the
    # in-process relay (events on Kafka at a fifth of the decision rate): two lanes want the
    # relay in a process of its own first (docs/capacity.md).
    verdict_lanes: int = Field(default=1, ge=1, le=12)
    # A verdict naming a worker or clock punch does not know yet is waited for (its batch
    # retried) while younger than this, then parked so that its partition moves on.
    park_after_s: float = Field(default=60.0, ge=1, le=3600)
    # How often parked verdicts are looked at (decided once their worker and clock are known,
    # or a held PIN punch's photo check arrived): two small queries a pass when none is parked,
    # and at most this long added to a held punch's answer.
    unpark_interval_s: float = Field(default=0.5, gt=0, le=300)
    # A verdict parked longer than this goes to the dead-letter topic (punchcard-dlq redrives).
    parked_max_age_h: float = Field(default=7 * 24, gt=0, le=90 * 24)
    # The tenant's evidence policy (refuse PIN and card punches whose photo is not the worker's
    # face): how long a verdict waits for face-match's check of its photo before it is decided
    # without one (fail open: a face-match outage never stops punching).
    evidence_wait_s: float = Field(default=5.0, gt=0, le=30)
