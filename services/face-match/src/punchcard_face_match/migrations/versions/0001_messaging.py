"""The outbox and processed-events tables (punchcard_kit.messaging.schema V1).

Revision ID: 0001
Revises:
"""

from punchcard_kit.messaging.schema import V1_DOWN, V1_UP
from punchcard_kit.migrations import execute_all

revision = "0001"
down_revision = None


def upgrade() -> None:
    execute_all(V1_UP)


def downgrade() -> None:
    execute_all(V1_DOWN)
