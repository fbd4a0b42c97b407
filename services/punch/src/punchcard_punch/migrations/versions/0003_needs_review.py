"""An offline punch captured long before its receipt is recorded but flagged for an admin's
review (``needs_review``; docs/punch.md). Adding the column fires no row trigger: the ledger
stays append-only.

Revision ID: 0003
Revises: 0002
"""

from punchcard_kit.migrations import execute_all

revision = "0003"
down_revision = "0002"

UP = ("ALTER TABLE punches ADD COLUMN needs_review boolean NOT NULL DEFAULT false",)
DOWN = ("ALTER TABLE punches DROP COLUMN needs_review",)


def upgrade() -> None:
    execute_all(UP)


def downgrade() -> None:
    execute_all(DOWN)
