"""The shapes of ingest's batch inserts (issue 18): a consumer batch's ledger rows and decided
attempts go to PostgreSQL as one array of composite rows each (``unnest($1::punch_row[])``)
instead of one array per column — asyncpg then checks and frames one element per row, not one
per cell (``adapters/ledger.py``: ``PUNCH_COLUMNS``, ``ATTEMPT_COLUMNS``, in this order; a
column added to the ledger's inserts is added here by a new migration). Types only, no data.

Revision ID: 0008_insert_rows
Revises: 0007_evidence_policy
"""

from punchcard_kit.migrations import execute_all

revision = "0008_insert_rows"
down_revision = "0007_evidence_policy"

_UP = (
    """
CREATE TYPE punch_row AS (
    id                  uuid,
    tenant_id           uuid,
    kind                text,
    worker_id           uuid,
    employee_id         text,
    display_name        text,
    clock_id            uuid,
    site_id             text,
    time_zone           text,
    direction           text,
    direction_inferred  boolean,
    method              text,
    face_distance       real,
    face_margin         real,
    face_threshold      real,
    face_model          text,
    face_one_to_one     boolean,
    punched_at          timestamptz,
    received_at         timestamptz,
    captured_offline    boolean,
    needs_review        boolean,
    attempt_id          uuid,
    refers_to           uuid,
    reason              text,
    admin_id            uuid,
    device_verify_mode  integer,
    device_state        integer
)""",
    """
CREATE TYPE attempt_row AS (
    tenant_id   uuid,
    attempt_id  uuid,
    clock_id    uuid,
    outcome     text,
    punch_id    uuid,
    reason      text,
    event_type  text,
    event       bytea
)""",
)

_DOWN = ("DROP TYPE attempt_row", "DROP TYPE punch_row")


def upgrade() -> None:
    execute_all(_UP)


def downgrade() -> None:
    execute_all(_DOWN)
