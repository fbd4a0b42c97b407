"""An Employee ID is one worker in any case: ``workers.employee_key`` is the ID in capitals
(``punchcard_kit.credentials.employee_id_key``, kept by PostgreSQL as a generated column),
unique per tenant (``workers_tenant_employee_key``), and the PIN check finds the worker by it.
The kiosk's keypad types capitals, so a worker whose ID was entered as ``jsmith`` could not
punch with a PIN there; and ``JSMITH`` could have been given to another worker.

A stored column, not an index on ``upper(employee_id)``: the tables force row-level security,
and PostgreSQL applies a query's condition through an index before the policy only when the
condition is leakproof; ``upper()`` is not, so such a lookup read every worker of the tenant
(``tests/integration/identity/test_worker_list_plans.py``). ``employee_key = $2`` is leakproof
text equality.

Adding the column rewrites ``workers`` and its indexes under a lock that holds its reads and
writes (measured on the 2-core test machine, busy: 3.8 s for a million workers, then 0.7 s for
the unique index). A tenant that already holds two workers whose IDs differ only in case stops
this migration (``could not create unique index "workers_tenant_employee_key"``, naming the
tenant and the ID): give one of them another Employee ID in the portal, then migrate again.

Revision ID: 0008
Revises: 0007
"""

from punchcard_kit.migrations import execute_all

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    execute_all(
        (
            "ALTER TABLE workers ADD COLUMN employee_key text"
            " GENERATED ALWAYS AS (upper(employee_id)) STORED",
            "CREATE UNIQUE INDEX workers_tenant_employee_key ON workers (tenant_id, employee_key)",
        )
    )


def downgrade() -> None:
    execute_all(("ALTER TABLE workers DROP COLUMN employee_key",))
