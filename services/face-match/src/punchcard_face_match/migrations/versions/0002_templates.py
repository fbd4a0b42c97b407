"""Face templates, the photos a tenant chose to keep, tenant face settings, and face-match's
projections of workers (Employee ID and status) and clock assignments; every table
tenant-isolated by row-level security (the application works as the database's role
``<database>_app`` with app.tenant_id set per transaction).

Templates are biometric data: they live here and on the compacted templates topic, nowhere
else, and deleting them (admin request or deactivation) removes the rows outright. Photos are
kept only when the tenant turned ``keep_photos`` on, and go with their template.

Revision ID: 0002
Revises: 0001
"""

from punchcard_kit.migrations import database_role, execute_all, own_role, tenant_isolation

revision = "0002"
down_revision = "0001"

TABLES = ("template_sets", "templates", "photos", "face_settings", "workers", "assignments")


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        own_role(APP_ROLE),
        # One row per worker ever enrolled: the set's revision only grows (a deletion bumps it
        # too), so a replica can always tell the newer state of a worker.
        """
CREATE TABLE template_sets (
    tenant_id   uuid        NOT NULL,
    worker_id   uuid        NOT NULL,
    model_name  text        NOT NULL,
    dims        integer     NOT NULL,
    revision    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, worker_id)
)""",
        """
CREATE TABLE templates (
    tenant_id    uuid        NOT NULL,
    worker_id    uuid        NOT NULL,
    template_id  uuid        NOT NULL,
    model_name   text        NOT NULL,
    dims         integer     NOT NULL,
    embedding    bytea       NOT NULL CHECK (length(embedding) = 4 * dims),
    quality      real        NOT NULL,
    face_px      integer     NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, template_id),
    FOREIGN KEY (tenant_id, worker_id) REFERENCES template_sets (tenant_id, worker_id)
)""",
        "CREATE INDEX templates_worker ON templates (tenant_id, worker_id)",
        """
CREATE TABLE photos (
    tenant_id    uuid        NOT NULL,
    template_id  uuid        NOT NULL,
    content_type text        NOT NULL,
    content      bytea       NOT NULL,
    PRIMARY KEY (tenant_id, template_id),
    FOREIGN KEY (tenant_id, template_id) REFERENCES templates (tenant_id, template_id)
        ON DELETE CASCADE
)""",
        """
CREATE TABLE face_settings (
    tenant_id             uuid        PRIMARY KEY,
    keep_photos           boolean     NOT NULL DEFAULT false,
    search_assigned_only  boolean     NOT NULL DEFAULT false,
    updated_at            timestamptz NOT NULL DEFAULT now()
)""",
        """
CREATE TABLE workers (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    employee_id  text        NOT NULL,
    status       text        NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
)""",
        "CREATE INDEX workers_employee_id ON workers (tenant_id, employee_id)",
        """
CREATE TABLE assignments (
    tenant_id  uuid NOT NULL,
    clock_id   uuid NOT NULL,
    worker_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, clock_id, worker_id)
)""",
        *tenant_isolation(*TABLES),
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {APP_ROLE}",
        f"GRANT INSERT ON outbox TO {APP_ROLE}",
        f"GRANT SELECT, INSERT ON processed_events TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return (
        *(f"DROP TABLE {table}" for table in reversed(TABLES)),
        f"REVOKE ALL ON outbox, processed_events FROM {APP_ROLE}",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
