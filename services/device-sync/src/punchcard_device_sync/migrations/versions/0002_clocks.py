"""Clocks, the worker projection, assignments and the per-clock command queues, tenant-isolated
by row-level security (the application works as ``<database>_app`` with app.tenant_id
set per transaction, as identity does).

Revision ID: 0002
Revises: 0001
"""

from punchcard_kit.migrations import database_role, execute_all, own_role, tenant_isolation

revision = "0002"
down_revision = "0001"

TABLES = ("clocks", "clock_heartbeats", "workers", "assignments", "clock_commands", "site_rules")


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        own_role(APP_ROLE),
        # last_sequence: the highest sequence queued for the clock. Issuers lock the row (in id
        # order) to take sequences, so a clock's commands commit in sequence order.
        """
CREATE TABLE clocks (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid        NOT NULL,
    serial_number       text        NOT NULL,
    name                text        NOT NULL,
    site_id             text        NOT NULL DEFAULT '',
    time_zone           text        NOT NULL,
    protocol            text        NOT NULL DEFAULT 'KIOSK_APP',
    revoked_at          timestamptz,
    revoked_reason      text,
    last_sequence       bigint      NOT NULL DEFAULT 0,
    last_auto_resync_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, serial_number)
)""",
        "CREATE INDEX clocks_tenant_site ON clocks (tenant_id, site_id)",
        # The one lookup made before the tenant is known: a clock's bearer credential names its
        # clock id; its SHA-256 is compared here. Not under RLS (it is how the tenant is found);
        # deleted when the clock is revoked, replaced when the credential is rotated.
        """
CREATE TABLE clock_credentials (
    clock_id         uuid PRIMARY KEY REFERENCES clocks (id) ON DELETE CASCADE,
    tenant_id        uuid        NOT NULL,
    credential_hash  bytea       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
)""",
        # What the clock last told us; written in batches, apart from clocks so heartbeats never
        # wait on (or deadlock with) the issuers' row locks.
        """
CREATE TABLE clock_heartbeats (
    clock_id          uuid PRIMARY KEY REFERENCES clocks (id) ON DELETE CASCADE,
    tenant_id         uuid        NOT NULL,
    last_seen_at      timestamptz NOT NULL,
    software_version  text        NOT NULL DEFAULT '',
    applied_sequence  bigint      NOT NULL DEFAULT 0,
    roster_digest     text        NOT NULL DEFAULT ''
)""",
        # Projection of identity's workers (and face-match's enrolment flag). profile: the
        # canonical JSON a clock holds for the worker; NULL until identity registered the worker.
        """
CREATE TABLE workers (
    id             uuid PRIMARY KEY,
    tenant_id      uuid        NOT NULL,
    employee_id    text        NOT NULL DEFAULT '',
    display_name   text        NOT NULL DEFAULT '',
    site_id        text        NOT NULL DEFAULT '',
    status         text        NOT NULL DEFAULT 'Pending',
    pin_set        boolean     NOT NULL DEFAULT false,
    pin_allowed    boolean     NOT NULL DEFAULT true,
    face_enrolled  boolean     NOT NULL DEFAULT false,
    profile        text,
    updated_at     timestamptz NOT NULL DEFAULT now()
)""",
        "CREATE INDEX workers_tenant_site ON workers (tenant_id, site_id)",
        # A row is present while the worker may use the clock: by an admin (direct), by the site
        # rule, or both.
        """
CREATE TABLE assignments (
    clock_id     uuid        NOT NULL REFERENCES clocks (id) ON DELETE CASCADE,
    worker_id    uuid        NOT NULL REFERENCES workers (id),
    tenant_id    uuid        NOT NULL,
    direct       boolean     NOT NULL DEFAULT false,
    site_rule    boolean     NOT NULL DEFAULT false,
    assigned_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clock_id, worker_id),
    CHECK (direct OR site_rule)
)""",
        "CREATE INDEX assignments_worker ON assignments (worker_id)",
        # The durable queue: body is the command's JSON exactly as the clock receives it.
        """
CREATE TABLE clock_commands (
    clock_id     uuid        NOT NULL REFERENCES clocks (id) ON DELETE CASCADE,
    sequence     bigint      NOT NULL,
    tenant_id    uuid        NOT NULL,
    command_id   uuid        NOT NULL UNIQUE,
    kind         text        NOT NULL,
    worker_id    uuid,
    body         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    acked_at     timestamptz,
    result_code  integer,
    detail       text,
    PRIMARY KEY (clock_id, sequence)
)""",
        "CREATE INDEX clock_commands_unacked ON clock_commands (clock_id, worker_id)"
        " WHERE acked_at IS NULL",
        "CREATE INDEX clock_commands_acked_at ON clock_commands (acked_at)"
        " WHERE acked_at IS NOT NULL",
        """
CREATE TABLE site_rules (
    tenant_id  uuid    NOT NULL,
    site_id    text    NOT NULL,
    enabled    boolean NOT NULL,
    PRIMARY KEY (tenant_id, site_id)
)""",
        *tenant_isolation(*TABLES),
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {APP_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON clock_credentials TO {APP_ROLE}",
        f"GRANT INSERT ON outbox TO {APP_ROLE}",
        f"GRANT SELECT, INSERT ON processed_events TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "DROP TABLE clock_credentials",
        *(f"DROP TABLE {table}" for table in reversed(TABLES)),
        f"REVOKE ALL ON outbox, processed_events FROM {APP_ROLE}",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
