"""A ZK device's serial is found in any case: ``zk_devices.serial_number`` holds
``domain.zk.serial_key`` of the serial (capitals), and the edge looks a device up by the key of
what it sends. Before, a clock registered as ``cqz7232360123`` was never served to the device
that sends ``CQZ7232360123``; this turns such rows into their keys. A row whose key another
row already holds (two registrations differing only in case: only one can be a device) is left
as it was, and the key's row serves the device. ``clocks.serial_number`` keeps what was typed.

Revision ID: 0012
Revises: 0011
"""

from punchcard_kit.migrations import execute_all

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    execute_all(
        (
            "UPDATE zk_devices d SET serial_number = upper(d.serial_number)"
            " WHERE d.serial_number <> upper(d.serial_number)"
            " AND NOT EXISTS (SELECT 1 FROM zk_devices o"
            " WHERE o.serial_number = upper(d.serial_number))",
        )
    )


def downgrade() -> None:
    """The keys stay in capitals: the older edge finds each device that sends its serial in
    capitals, as firmware does."""
