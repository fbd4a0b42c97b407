"""The punch ledger (append-only), the decided attempts, and punch's projections of workers,
clocks and clock assignments; every table tenant-isolated by row-level security (the
application works as ``<database>_app`` with app.tenant_id set per transaction).

The ledger is append-only three times over: the application role is granted only SELECT and
INSERT on it, a trigger refuses UPDATE, DELETE and TRUNCATE from anyone (the owner included),
and corrections are new rows that refer to the original.

Revision ID: 0002
Revises: 0001
"""

from punchcard_kit.migrations import database_role, execute_all, own_role, tenant_isolation

revision = "0002"
down_revision = "0001"

PROJECTIONS = ("workers", "clocks", "assignments")
APPEND_ONLY = ("punches", "attempts")


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        own_role(APP_ROLE),
        # Projections of identity's and device-sync's events (kept by the consumer).
        """
CREATE TABLE workers (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    employee_id   text        NOT NULL,
    display_name  text        NOT NULL,
    status        text        NOT NULL,
    site_id       text        NOT NULL DEFAULT '',
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
)""",
        """
CREATE TABLE clocks (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    name        text        NOT NULL DEFAULT '',
    site_id     text        NOT NULL DEFAULT '',
    time_zone   text        NOT NULL DEFAULT 'UTC',
    revoked_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
)""",
        """
CREATE TABLE assignments (
    tenant_id  uuid NOT NULL,
    clock_id   uuid NOT NULL,
    worker_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, clock_id, worker_id)
)""",
        # The ledger. kind RECORDED: from a kiosk attempt (attempt_id set); CORRECTION: an admin
        # added a missed punch or a replacement (refers_to = the replaced punch, if any); VOID: an
        # admin voided refers_to. punched_at is the time the punch counts at (the device's capture
        # time for a kiosk punch) and the order readers sort by; seq is the order of appending.
        """
CREATE TABLE punches (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid        NOT NULL,
    seq                 bigint      GENERATED ALWAYS AS IDENTITY,
    kind                text        NOT NULL CHECK (kind IN ('RECORDED', 'CORRECTION', 'VOID')),
    worker_id           uuid        NOT NULL,
    employee_id         text        NOT NULL,
    display_name        text        NOT NULL,
    clock_id            uuid,
    site_id             text        NOT NULL DEFAULT '',
    time_zone           text        NOT NULL DEFAULT 'UTC',
    direction           text        CHECK (direction IN ('IN', 'OUT')),
    direction_inferred  boolean     NOT NULL DEFAULT false,
    method              text        NOT NULL CHECK (method IN ('FACE', 'PIN', 'MANUAL')),
    face_distance       real,
    face_margin         real,
    face_threshold      real,
    face_model          text,
    face_one_to_one     boolean,
    punched_at          timestamptz,
    received_at         timestamptz,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    captured_offline    boolean     NOT NULL DEFAULT false,
    attempt_id          uuid,
    refers_to           uuid REFERENCES punches (id),
    reason              text,
    admin_id            uuid,
    CHECK ((kind = 'VOID') = (direction IS NULL AND punched_at IS NULL)),
    CHECK ((kind = 'RECORDED') = (attempt_id IS NOT NULL)),
    CHECK (kind = 'RECORDED' OR (reason IS NOT NULL AND admin_id IS NOT NULL)),
    CHECK (kind <> 'VOID' OR refers_to IS NOT NULL),
    UNIQUE (tenant_id, attempt_id)
)""",
        "CREATE INDEX punches_worker_time ON punches (tenant_id, worker_id, punched_at)"
        " WHERE kind <> 'VOID'",
        "CREATE INDEX punches_time ON punches (tenant_id, punched_at, id) WHERE kind <> 'VOID'",
        "CREATE INDEX punches_clock_time ON punches (tenant_id, clock_id, punched_at)"
        " WHERE kind <> 'VOID'",
        "CREATE INDEX punches_site_time ON punches (tenant_id, site_id, punched_at)"
        " WHERE kind <> 'VOID'",
        # A punch is voided at most once; a replaced punch is replaced at most once.
        "CREATE UNIQUE INDEX punches_voided_once ON punches (refers_to) WHERE kind = 'VOID'",
        "CREATE UNIQUE INDEX punches_replaced_once ON punches (refers_to)"
        " WHERE kind = 'CORRECTION'",
        # Every attempt punch decided, whatever the outcome: the same attempt id gets the same
        # answer (the event as published) and is never decided twice.
        """
CREATE TABLE attempts (
    tenant_id    uuid        NOT NULL,
    attempt_id   uuid        NOT NULL,
    clock_id     uuid,
    outcome      text        NOT NULL CHECK (outcome IN ('RECORDED', 'REPEATED', 'REJECTED')),
    punch_id     uuid,
    reason       text,
    event_type   text        NOT NULL,
    event        bytea       NOT NULL,
    decided_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, attempt_id)
)""",
        """
CREATE FUNCTION punchcard_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the % table is append-only: add a correction instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$""",
        *(
            statement
            for table in APPEND_ONLY
            for statement in (
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION punchcard_append_only()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION punchcard_append_only()",
            )
        ),
        *tenant_isolation(*PROJECTIONS, *APPEND_ONLY),
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(PROJECTIONS)} TO {APP_ROLE}",
        f"GRANT SELECT, INSERT ON {', '.join(APPEND_ONLY)} TO {APP_ROLE}",
        f"GRANT INSERT ON outbox TO {APP_ROLE}",
        f"GRANT SELECT, INSERT ON processed_events TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return (
        *(f"DROP TABLE {table}" for table in (*reversed(APPEND_ONLY), *reversed(PROJECTIONS))),
        "DROP FUNCTION punchcard_append_only()",
        f"REVOKE ALL ON outbox, processed_events FROM {APP_ROLE}",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
