"""The outbox and processed-events tables (punchcard_kit.messaging.schema V1).

Revision ID: 0001
Revises:
"""

from alembic import op
from punchcard_kit.messaging.schema import V1_DOWN, V1_UP

revision = "0001"
down_revision = None


def upgrade() -> None:
    for statement in V1_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in V1_DOWN:
        op.execute(statement)
