"""Indexes for what reads clock commands by worker and what prunes by tenant.

- ``clock_commands_worker (worker_id, clock_id, sequence DESC)``: a worker's page shows, per
  clock, the latest command about the worker (``views.py _LATEST_COMMANDS``). No index led
  with the worker, so each page read the whole table, every tenant's commands of the
  retention (``COMMAND_RETENTION_DAYS``).
- ``clock_commands_acked (tenant_id, acked_at)`` replaces ``(acked_at)`` and
  ``zk_punches_received_by_tenant (tenant_id, received_at)`` replaces ``(received_at)``: the
  hourly prune runs tenant by tenant, and each tenant's delete walked every tenant's expired
  rows and kept its own (cost: tenants x expired rows an hour).

``tests/integration/device_sync/test_statement_plans.py`` holds each statement to its rows.

Revision ID: 0010
Revises: 0009
"""

from punchcard_kit.migrations import execute_all

revision = "0010"
down_revision = "0009"

_UP = (
    "CREATE INDEX clock_commands_worker ON clock_commands (worker_id, clock_id, sequence DESC)"
    " WHERE worker_id IS NOT NULL",
    "CREATE INDEX clock_commands_acked ON clock_commands (tenant_id, acked_at)"
    " WHERE acked_at IS NOT NULL",
    "DROP INDEX clock_commands_acked_at",
    "CREATE INDEX zk_punches_received_by_tenant ON zk_punches (tenant_id, received_at)",
    "DROP INDEX zk_punches_received",
)
_DOWN = (
    "CREATE INDEX zk_punches_received ON zk_punches (received_at)",
    "DROP INDEX zk_punches_received_by_tenant",
    "CREATE INDEX clock_commands_acked_at ON clock_commands (acked_at) WHERE acked_at IS NOT NULL",
    "DROP INDEX clock_commands_acked",
    "DROP INDEX clock_commands_worker",
)


def upgrade() -> None:
    execute_all(_UP)


def downgrade() -> None:
    execute_all(_DOWN)
