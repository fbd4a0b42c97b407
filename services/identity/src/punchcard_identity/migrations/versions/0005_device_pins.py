""" "Hardware clocks may verify PINs" (a tenant's switch beside its PIN policy, off by default)
and which PINs were sealed to device-sync while it was on (so switching it off can delete
exactly those from the device-pins topic, and the portal can count the PINs set before it was
switched on, which no clock can get until they are set again).

Revision ID: 0005
Revises: 0004
"""

from punchcard_kit.migrations import execute_all

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    execute_all(
        (
            "ALTER TABLE pin_policies ADD COLUMN devices_verify_pins boolean NOT NULL"
            " DEFAULT false",
            "ALTER TABLE worker_pins ADD COLUMN on_devices boolean NOT NULL DEFAULT false",
        )
    )


def downgrade() -> None:
    execute_all(
        (
            "ALTER TABLE worker_pins DROP COLUMN on_devices",
            "ALTER TABLE pin_policies DROP COLUMN devices_verify_pins",
        )
    )
