"""The audit log marks a keyed request sent again (punch's corrections with an
``Idempotency-Key``: a double click, the portal trying again after a lost answer). The service
answered it as the first time and changed nothing (its ``Idempotent-Replayed`` header), so the
row says so: an auditor counts one correction, not two. false for every earlier row.

Revision ID: 0010
Revises: 0009
"""

from punchcard_kit.migrations import execute_all

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    execute_all(("ALTER TABLE audit_log ADD COLUMN repeated boolean NOT NULL DEFAULT false",))


def downgrade() -> None:
    execute_all(("ALTER TABLE audit_log DROP COLUMN repeated",))
