"""A clock's badge names its worker in any case, as an Employee ID does everywhere
(``punchcard_kit.credentials.employee_id_key``; identity keeps it unique per tenant):
``workers.employee_key``, the ID in capitals kept by PostgreSQL, indexed with the tenant
(``workers_badge_key``), replaces ``workers_badge``. A user entered on a ZK device by hand in
other capitals (device keypads type capitals) is then the worker, not an unknown badge. A
stored column rather than an index on ``upper(employee_id)``, which row-level security would not
let the lookups use (``upper()`` is not leakproof: identity's migration 0008;
``tests/integration/device_sync/test_statement_plans.py``). Not unique, as before: the
projection may hold a rename's two rows for a moment.

Revision ID: 0013
Revises: 0012
"""

from punchcard_kit.migrations import execute_all

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    execute_all(
        (
            "ALTER TABLE workers ADD COLUMN employee_key text"
            " GENERATED ALWAYS AS (upper(employee_id)) STORED",
            "CREATE INDEX workers_badge_key ON workers (tenant_id, employee_key)",
            "DROP INDEX workers_badge",
        )
    )


def downgrade() -> None:
    execute_all(
        (
            "CREATE INDEX workers_badge ON workers (tenant_id, employee_id)",
            "ALTER TABLE workers DROP COLUMN employee_key",
        )
    )
