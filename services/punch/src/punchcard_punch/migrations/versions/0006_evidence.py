"""Evidence of PIN sharing (issue 17): face-match's 1:1 checks of PIN and card punches' photos
(``punch_evidence``, one row per attempt: the flag beside the punch; the ledger itself stays
append-only and untouched) and which workers have an enrolled face (``face_enrolments``, from
face-match's enrolment flags). Both feed the suspicious-PIN report.

Revision ID: 0006_evidence
Revises: 0005
"""

from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0006_evidence"
down_revision = "0005"

TABLES = ("punch_evidence", "face_enrolments")


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        """
CREATE TABLE punch_evidence (
    tenant_id       uuid        NOT NULL,
    attempt_id      uuid        NOT NULL,
    worker_id       uuid        NOT NULL,
    clock_id        uuid,
    method          text        NOT NULL,
    evidence_check  text        NOT NULL CHECK (evidence_check IN
                        ('FACE_MATCHED', 'FACE_NOT_WORKERS', 'NO_FACE', 'NOT_ENROLLED')),
    distance        real,
    threshold       real,
    checked_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, attempt_id)
)""",
        """
CREATE TABLE face_enrolments (
    tenant_id   uuid        NOT NULL,
    worker_id   uuid        NOT NULL,
    enrolled    boolean     NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, worker_id)
)""",
        *tenant_isolation(*TABLES),
        f"GRANT SELECT, INSERT, UPDATE ON {', '.join(TABLES)} TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return tuple(f"DROP TABLE {table}" for table in reversed(TABLES))


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
