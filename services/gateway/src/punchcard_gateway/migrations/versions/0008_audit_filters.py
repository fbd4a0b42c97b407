"""The audit log's filters indexed: ``(tenant_id, actor_id, at DESC)`` for one admin's
actions, ``(tenant_id, action, at DESC)`` for one action's. Each page of a filtered list
then reads its rows newest first, as the unfiltered list does through
``audit_log_tenant_at`` (``adapters/postgres.py PostgresAudit.list``). Admin writes are few,
so the two indexes cost little.

Revision ID: 0008
Revises: 0007
"""

from punchcard_kit.migrations import execute_all

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    execute_all(
        (
            "CREATE INDEX audit_log_actor_at ON audit_log (tenant_id, actor_id, at DESC)",
            "CREATE INDEX audit_log_action_at ON audit_log (tenant_id, action, at DESC)",
        )
    )


def downgrade() -> None:
    execute_all(("DROP INDEX audit_log_action_at", "DROP INDEX audit_log_actor_at"))
