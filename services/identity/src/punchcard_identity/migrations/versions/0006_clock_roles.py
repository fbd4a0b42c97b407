"""A worker's role on a clock (USER, MANAGER, ADMINISTRATOR) beside the pair in identity's
projection of device-sync's assignments: the kiosk's Manager / Administrator sign-in checks
the PIN here and answers the role. Rows projected before this revision read USER (the least)
until their pair is published again; replaying the compacted topic (resetting the consumer
group ``identity.assignments`` to the earliest offset) fills them at once.

Revision ID: 0006
Revises: 0005
"""

from punchcard_kit.migrations import database_role, execute_all

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    execute_all(
        (
            "ALTER TABLE clock_assignments ADD COLUMN clock_role text NOT NULL DEFAULT 'USER'"
            " CHECK (clock_role IN ('USER', 'MANAGER', 'ADMINISTRATOR'))",
            f"GRANT UPDATE (clock_role) ON clock_assignments TO {database_role('app')}",
        )
    )


def downgrade() -> None:
    execute_all(("ALTER TABLE clock_assignments DROP COLUMN clock_role",))
