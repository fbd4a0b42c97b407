"""A worker is found by Employee ID in any case (``punchcard_kit.credentials.employee_id_key``,
unique per tenant in identity): ``workers.employee_key``, the ID in capitals kept by
PostgreSQL, indexed with the tenant (``workers_employee_key``), serves ``by_employee_id`` (a
kiosk's face enrolment names the worker by the ID the manager types, on a keypad of capitals).
A stored column rather than an index on ``upper(employee_id)``, which row-level security would
not let a lookup use (``upper()`` is not leakproof: identity's migration 0008).

Revision ID: 0009_employee_ids_any_case
Revises: 0008_workers_site
"""

from punchcard_kit.migrations import execute_all

revision = "0009_employee_ids_any_case"
down_revision = "0008_workers_site"


def upgrade() -> None:
    execute_all(
        (
            "ALTER TABLE workers ADD COLUMN employee_key text"
            " GENERATED ALWAYS AS (upper(employee_id)) STORED",
            "CREATE INDEX workers_employee_key ON workers (tenant_id, employee_key)",
        )
    )


def downgrade() -> None:
    execute_all(("ALTER TABLE workers DROP COLUMN employee_key",))
