"""PINs on hardware clocks that verify them (opt-in): a ZK clock's ``device_verifies_pins``
(off by default, sysadmin only) and the workers' PINs identity sealed to device-sync's key
(``punchcard.identity.device-pins.v1``), stored as received: a libsodium sealed box only
device-sync's DEVICE_PIN_PRIVATE_KEYS open, bound to its tenant and worker. A tombstone
deletes the row.

Revision ID: 0007
Revises: 0006
"""

from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0007"
down_revision = "0006"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "ALTER TABLE clocks ADD COLUMN device_verifies_pins boolean NOT NULL DEFAULT false",
        """
CREATE TABLE device_pins (
    tenant_id   uuid        NOT NULL,
    worker_id   uuid        NOT NULL,
    key_id      text        NOT NULL CHECK (length(key_id) BETWEEN 1 AND 40),
    sealed      bytea       NOT NULL CHECK (length(sealed) BETWEEN 48 AND 256),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, worker_id)
)""",
        *tenant_isolation("device_pins"),
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON device_pins TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "DROP TABLE device_pins",
        "ALTER TABLE clocks DROP COLUMN device_verifies_pins",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
