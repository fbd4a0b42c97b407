"""Punches from hardware clocks (ZK PUSH, issue 16): the ledger accepts the methods
FINGERPRINT and CARD, and keeps the device's raw VerifyMode and State beside the punch
(``device_verify_mode``, ``device_state``; NULL for a kiosk app's punch or an admin's
correction). Adding nullable columns and swapping a CHECK fire no row trigger: the ledger
stays append-only, and the application role's grants (SELECT, INSERT) cover the new columns.

Revision ID: 0005
Revises: 0003_owner_roles
"""

from punchcard_kit.migrations import database_role, execute_all

revision = "0005"
down_revision = "0003_owner_roles"

METHODS = ("FACE", "PIN", "FINGERPRINT", "CARD", "MANUAL")
OLD_METHODS = ("FACE", "PIN", "MANUAL")


def _check(methods: tuple[str, ...]) -> str:
    names = ", ".join(f"'{m}'" for m in methods)
    return f"ADD CONSTRAINT punches_method_check CHECK (method IN ({names}))"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "ALTER TABLE punches DROP CONSTRAINT punches_method_check, " + _check(METHODS),
        "ALTER TABLE punches ADD COLUMN device_verify_mode integer,"
        " ADD COLUMN device_state integer",
        # The table's grants cover new columns; said again so the role's rights read here.
        f"GRANT SELECT, INSERT ON punches TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    # Down refuses (the CHECK fails) while device punches are in the ledger: they would be lost.
    return (
        "ALTER TABLE punches DROP COLUMN device_verify_mode, DROP COLUMN device_state",
        "ALTER TABLE punches DROP CONSTRAINT punches_method_check, " + _check(OLD_METHODS),
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
