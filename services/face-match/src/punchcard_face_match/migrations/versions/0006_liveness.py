"""A tenant's liveness policy for face attempts (domain.liveness; docs/face-match.md):
``off`` / ``flag`` / ``refuse`` (the default), the re-capture score above which a frame is
suspect, and the least motion a burst must show.

Revision ID: 0006_liveness
Revises: 0005_lookalikes
"""

from punchcard_kit.migrations import execute_all

revision = "0006_liveness"
down_revision = "0005_lookalikes"

UP = (
    """ALTER TABLE face_settings
        ADD COLUMN liveness_mode text NOT NULL DEFAULT 'refuse'
            CHECK (liveness_mode IN ('off', 'flag', 'refuse')),
        ADD COLUMN liveness_max_screen double precision NOT NULL DEFAULT 2.2
            CHECK (liveness_max_screen > 0 AND liveness_max_screen <= 10),
        ADD COLUMN liveness_min_motion double precision NOT NULL DEFAULT 0.25
            CHECK (liveness_min_motion >= 0 AND liveness_min_motion <= 20)""",
)
DOWN = (
    """ALTER TABLE face_settings DROP COLUMN liveness_mode, DROP COLUMN liveness_max_screen,
        DROP COLUMN liveness_min_motion""",
)


def upgrade() -> None:
    execute_all(UP)


def downgrade() -> None:
    execute_all(DOWN)
