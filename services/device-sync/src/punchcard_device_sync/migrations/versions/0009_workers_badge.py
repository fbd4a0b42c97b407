"""The workers' projection indexed by badge: ``(tenant_id, employee_id)``.

A ZK clock names a worker only by the badge (its ``PIN`` field), so every ATTLOG group commit
looks up the badges of its uploads (``adapters/postgres.py _BY_BADGE``) and every biometric
template a clock uploads looks up its one badge (``_OF_BADGE``). Without this index each
lookup read the tenant's whole projection: 0.75 ms a batch at 4,000 workers in
``bench/zk_push.py`` (the costliest statement of its window after the ledger's insert), and
proportionally more for a tenant of 100,000. Not unique: identity owns the badge's
uniqueness, and the projection may hold a rename's two rows for a moment
(``tests/integration/device_sync/test_statement_plans.py``).

Revision ID: 0009
Revises: 0008
"""

from punchcard_kit.migrations import execute_all

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    execute_all(("CREATE INDEX workers_badge ON workers (tenant_id, employee_id)",))


def downgrade() -> None:
    execute_all(("DROP INDEX workers_badge",))
