"""parked_verdicts' indexes lead with the key each statement names (issue 18): the attempt
(``UNIQUE (attempt_id, tenant_id)``, was ``(tenant_id, attempt_id)``), the worker
(``(worker_id, tenant_id)``) and, for the unparker's claim of a tenant's oldest, the tenant in
``seq`` order (``(tenant_id, seq)``); these two replace ``(tenant_id, worker_id, seq)``.

parked_verdicts is a queue, most often empty, and autovacuum analyses it so: PostgreSQL then
believes it holds one row however many verdicts wait, and with every index led by
``tenant_id`` it took whichever was smallest for any statement naming the tenant. A probe for
one attempt read the tenant's whole backlog through the worker index (14,476 rows a probe
under a 40,000-row backlog). Led by the attempt and by the worker, each index serves only a
probe that names its key; the probes give the tenant as a guard no index can serve, so the one
index led by the tenant serves only the claim, which wants it (``adapters/parked.py``,
``adapters/ledger.py``; ``tests/integration/punch/test_parked_plans.py``). Attempt and worker
ids are UUIDs, each of one tenant. ``ON CONFLICT (tenant_id, attempt_id)`` infers the unique
index by its columns, in any order.

Revision ID: 0009_parked_keys
Revises: 0008_insert_rows
"""

from punchcard_kit.migrations import execute_all

revision = "0009_parked_keys"
down_revision = "0008_insert_rows"

_UP = (
    "CREATE UNIQUE INDEX parked_verdicts_attempt ON parked_verdicts (attempt_id, tenant_id)",
    "ALTER TABLE parked_verdicts DROP CONSTRAINT parked_verdicts_tenant_id_attempt_id_key",
    "CREATE INDEX parked_verdicts_by_worker ON parked_verdicts (worker_id, tenant_id)",
    "CREATE INDEX parked_verdicts_oldest ON parked_verdicts (tenant_id, seq)",
    "DROP INDEX parked_verdicts_worker",
)
_DOWN = (
    "CREATE INDEX parked_verdicts_worker ON parked_verdicts (tenant_id, worker_id, seq)",
    "DROP INDEX parked_verdicts_oldest",
    "DROP INDEX parked_verdicts_by_worker",
    "ALTER TABLE parked_verdicts ADD UNIQUE (tenant_id, attempt_id)",
    "DROP INDEX parked_verdicts_attempt",
)


def upgrade() -> None:
    execute_all(_UP)


def downgrade() -> None:
    execute_all(_DOWN)
