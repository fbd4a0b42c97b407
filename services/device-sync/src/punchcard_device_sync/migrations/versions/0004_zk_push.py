"""Hardware clocks speaking ZK PUSH: the serial lookup made before the tenant is known,
devices trying to connect that no one registered, each ZK clock's state (stamps, INFO, skew,
the time zone offset it was told), the device punches' dedup table, and delivery of queued
commands (redelivered when unacknowledged).

Revision ID: 0004
Revises: 0003_owner_roles
"""

from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0004"
down_revision = "0003_owner_roles"

TENANT_TABLES = ("zk_clock_state", "zk_punches")


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        # A ZK device names itself only by its serial: looked up before the tenant is known,
        # so no RLS (as clock_credentials). A serial is unique across tenants. revoked: the
        # clock was revoked (the serial gets nothing; it stays taken).
        """
CREATE TABLE zk_devices (
    serial_number  text PRIMARY KEY,
    clock_id       uuid        NOT NULL UNIQUE REFERENCES clocks (id) ON DELETE CASCADE,
    tenant_id      uuid        NOT NULL,
    revoked        boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
)""",
        # Devices that called with a serial no one registered: bounded (the edge caps the rows
        # and prunes the old ones), no tenant (nobody owns them yet).
        """
CREATE TABLE zk_unregistered (
    serial_number  text PRIMARY KEY,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    requests       bigint      NOT NULL DEFAULT 0,
    remote_addr    text        NOT NULL DEFAULT '',
    push_version   text        NOT NULL DEFAULT ''
)""",
        "CREATE INDEX zk_unregistered_last_seen ON zk_unregistered (last_seen_at)",
        # Per ZK clock: stamps per table (handed back at the handshake), what INFO said, the
        # last poll, the measured skew and the time zone offset the device was last told.
        """
CREATE TABLE zk_clock_state (
    clock_id          uuid PRIMARY KEY REFERENCES clocks (id) ON DELETE CASCADE,
    tenant_id         uuid        NOT NULL,
    attlog_stamp      text,
    operlog_stamp     text,
    attphoto_stamp    text,
    firmware          text        NOT NULL DEFAULT '',
    users             integer,
    fingerprints      integer,
    faces             integer,
    punches           integer,
    ip                text        NOT NULL DEFAULT '',
    push_version      text        NOT NULL DEFAULT '',
    last_poll_at      timestamptz,
    last_record_at    timestamptz,
    skew_s            double precision,
    skew_flagged      boolean     NOT NULL DEFAULT false,
    tz_offset_told    text,
    updated_at        timestamptz NOT NULL DEFAULT now()
)""",
        # Device punches, deduplicated on (clock, badge, device time, state): a resent record
        # is recorded once. device_time is the device's local time, as it sent it.
        """
CREATE TABLE zk_punches (
    clock_id     uuid        NOT NULL REFERENCES clocks (id) ON DELETE CASCADE,
    badge        text        NOT NULL,
    device_time  timestamp   NOT NULL,
    state        integer     NOT NULL,
    tenant_id    uuid        NOT NULL,
    verify_mode  integer     NOT NULL,
    attempt_id   uuid        NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clock_id, badge, device_time, state)
)""",
        "CREATE INDEX zk_punches_received ON zk_punches (received_at)",
        # Delivery of queued commands to ZK clocks (they acknowledge by id, not by sequence
        # range): when last handed out and how often; redelivered after a timeout.
        "ALTER TABLE clock_commands ADD COLUMN delivered_at timestamptz",
        "ALTER TABLE clock_commands ADD COLUMN deliveries integer NOT NULL DEFAULT 0",
        *tenant_isolation(*TENANT_TABLES),
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TENANT_TABLES)} TO {APP_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON zk_devices, zk_unregistered TO {APP_ROLE}",
    )


def _down() -> tuple[str, ...]:
    return (
        "ALTER TABLE clock_commands DROP COLUMN deliveries",
        "ALTER TABLE clock_commands DROP COLUMN delivered_at",
        "DROP TABLE zk_punches",
        "DROP TABLE zk_clock_state",
        "DROP TABLE zk_unregistered",
        "DROP TABLE zk_devices",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down())
