"""A ZK PUSH clock's optional Comm Key: ``clocks.com_key_digest`` (a salted SHA-256 of the key,
``domain/zk.com_key_digest``; the key itself is never stored), and the remote address of the
device's last handshake that carried the right key (``zk_clock_state.keyed_address``): a
clock with a key serves only requests that carry it, or that come from that address.

Revision ID: 0008
Revises: 0007
"""

from punchcard_kit.migrations import database_role, execute_all

revision = "0008"
down_revision = "0007"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "ALTER TABLE clocks ADD COLUMN com_key_digest bytea"
        " CHECK (com_key_digest IS NULL OR length(com_key_digest) = 32)",
        "ALTER TABLE zk_clock_state ADD COLUMN keyed_address text"
        " CHECK (keyed_address IS NULL OR length(keyed_address) <= 64)",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "ALTER TABLE zk_clock_state DROP COLUMN keyed_address",
        "ALTER TABLE clocks DROP COLUMN com_key_digest",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
