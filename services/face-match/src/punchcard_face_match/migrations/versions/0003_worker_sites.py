"""The workers' projection keeps each worker's site (from identity's WorkerRegistered and
WorkerUpdated), so enrolment checks a manager's sites in face-match itself. NULL: not known
yet (a worker projected before this revision, until identity's next event for them, or a
replay of the workers topic) — only a sysadmin acts on such a worker.

Revision ID: 0003
Revises: 0002
"""

from punchcard_kit.migrations import execute_all

revision = "0003"
down_revision = "0002"

UP = ("ALTER TABLE workers ADD COLUMN site_id text",)
DOWN = ("ALTER TABLE workers DROP COLUMN site_id",)


def upgrade() -> None:
    execute_all(UP)


def downgrade() -> None:
    execute_all(DOWN)
