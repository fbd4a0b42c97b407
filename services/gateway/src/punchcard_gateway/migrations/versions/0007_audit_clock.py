"""The audit log names the clock of an action taken at a kiosk app (issue 16): a Manager
signed in at a kiosk enrols another worker's face there; the row's actor is that worker, its
target the enrolled worker, and ``clock_id`` the kiosk's clock. NULL for admin actions.

Revision ID: 0007
Revises: 0006
"""

from punchcard_kit.migrations import execute_all

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    execute_all(("ALTER TABLE audit_log ADD COLUMN clock_id text",))


def downgrade() -> None:
    execute_all(("ALTER TABLE audit_log DROP COLUMN clock_id",))
