"""A worker enrolled as a confirmed lookalike (a twin, say) of another worker of the tenant:
an admin confirmed that their face matches an enrolled colleague's. Such a worker is never
identified by face alone at 1:N: the kiosk asks for the Employee ID (docs/face-match.md).

Revision ID: 0005_lookalikes
Revises: 0004_fpir_target
"""

from punchcard_kit.migrations import execute_all

revision = "0005_lookalikes"
down_revision = "0004_fpir_target"

UP = ("ALTER TABLE template_sets ADD COLUMN verify_one_to_one boolean NOT NULL DEFAULT false",)
DOWN = ("ALTER TABLE template_sets DROP COLUMN verify_one_to_one",)


def upgrade() -> None:
    execute_all(UP)


def downgrade() -> None:
    execute_all(DOWN)
