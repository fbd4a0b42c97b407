"""Workers and their PINs, tenant-isolated by row-level security.

The application works as the database's role ``<database>_app`` (NOLOGIN, no BYPASSRLS),
switched to with SET LOCAL ROLE inside each tenant transaction, with app.tenant_id set for that
transaction: the policies below then show and accept only that tenant's rows, whatever the SQL
says.

Revision ID: 0002
Revises: 0001
"""

from punchcard_kit.migrations import database_role, execute_all, own_role, tenant_isolation

revision = "0002"
down_revision = "0001"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        own_role(APP_ROLE),
        """
CREATE TABLE workers (
    id           uuid PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    employee_id  text        NOT NULL,
    name         text        NOT NULL,
    job_title    text        NOT NULL DEFAULT '',
    site_id      text        NOT NULL DEFAULT '',
    status       text        NOT NULL CHECK (status IN ('Pending', 'Active', 'Inactive')),
    pin_allowed  boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, employee_id)
)""",
        "CREATE INDEX workers_tenant_name ON workers (tenant_id, lower(name))",
        # The hash lives apart from the worker so no worker query can carry it by accident.
        """
CREATE TABLE worker_pins (
    worker_id     uuid PRIMARY KEY REFERENCES workers (id),
    tenant_id     uuid        NOT NULL,
    pin_hash      text        NOT NULL,
    pin_key_id    text        NOT NULL,
    set_at        timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz
)""",
        "CREATE INDEX worker_pins_tenant_set_at ON worker_pins (tenant_id, set_at)",
        """
CREATE TABLE pin_policies (
    tenant_id     uuid PRIMARY KEY,
    max_age_days  integer CHECK (max_age_days IS NULL OR max_age_days > 0)
)""",
        *tenant_isolation("workers", "worker_pins", "pin_policies"),
        f"GRANT SELECT, INSERT, UPDATE ON workers, pin_policies TO {APP_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON worker_pins TO {APP_ROLE}",
        f"GRANT INSERT ON outbox TO {APP_ROLE}",
        f"GRANT SELECT, INSERT ON processed_events TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "DROP TABLE pin_policies",
        "DROP TABLE worker_pins",
        "DROP TABLE workers",
        f"REVOKE ALL ON outbox, processed_events FROM {APP_ROLE}",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
