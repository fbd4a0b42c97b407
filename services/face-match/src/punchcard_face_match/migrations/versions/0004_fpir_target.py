"""A tenant's target for the false-positive identification rate of a 1:N face search, per
attempt (default 0.1 %): the search's threshold is derived from it and from the size of the
gallery searched (domain.calibration; docs/face-match.md).

Revision ID: 0004_fpir_target
Revises: 0003_owner_roles
"""

from punchcard_kit.migrations import execute_all

revision = "0004_fpir_target"
down_revision = "0003_owner_roles"

UP = (
    """ALTER TABLE face_settings ADD COLUMN face_fpir_target double precision NOT NULL
        DEFAULT 0.001 CHECK (face_fpir_target >= 0.0002 AND face_fpir_target <= 0.01)""",
)
DOWN = ("ALTER TABLE face_settings DROP COLUMN face_fpir_target",)


def upgrade() -> None:
    execute_all(UP)


def downgrade() -> None:
    execute_all(DOWN)
