"""Parked verdicts: a verdict naming a worker or clock that punch's projections still do not
know after a bounded wait is parked here, durably, so that its partition moves on; it is
decided as soon as the projections know both (``service_layer/parking.py``), or dead-lettered
after ``PARKED_MAX_AGE_H``.

Like ``outbox`` and ``processed_events`` this is the messaging machinery's table, holding
envelopes of every tenant (the unparker looks for tenants with work across all of them), so
it has no row-level security; every statement on it names its tenant.

Revision ID: 0004
Revises: 0003
"""

from punchcard_kit.migrations import database_role, execute_all

revision = "0004"
down_revision = "0003"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        """
CREATE TABLE parked_verdicts (
    seq              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        uuid        NOT NULL,
    attempt_id       uuid        NOT NULL,
    worker_id        uuid,
    clock_id         uuid        NOT NULL,
    event_id         uuid        NOT NULL,
    topic            text        NOT NULL,
    kafka_partition  integer     NOT NULL,
    kafka_offset     bigint      NOT NULL,
    record_key       bytea,
    envelope         bytea       NOT NULL,
    reason           text        NOT NULL,
    parked_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, attempt_id)
)""",
        "CREATE INDEX parked_verdicts_worker ON parked_verdicts (tenant_id, worker_id, seq)",
        f"GRANT SELECT, INSERT, DELETE ON parked_verdicts TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return ("DROP TABLE parked_verdicts",)


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
