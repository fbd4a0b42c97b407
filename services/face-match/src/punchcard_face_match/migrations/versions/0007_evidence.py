"""Evidence photos of punches (issue 17): the tenant's policy (``evidence_photos``, off by
default; ``evidence_retention_days``, default 30, 1 to 365) and the photos, kept encrypted
(AES-256-GCM, the attempt bound in as associated data) and keyed by the punch's attempt id.

A row may come before its photo (the punch's verdict arrived first: ``photo`` NULL, ``worker_id``
set) or before its worker (the photo first). ``expires_at`` is when the sweep deletes it;
``check_outcome`` what the 1:1 comparison with the worker's templates found (NULL: not yet, or
not a PIN or card punch).

Revision ID: 0007_evidence
Revises: 0006_liveness
"""

from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0007_evidence"
down_revision = "0006_liveness"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "ALTER TABLE face_settings ADD COLUMN evidence_photos boolean NOT NULL DEFAULT false,"
        " ADD COLUMN evidence_retention_days integer NOT NULL DEFAULT 30"
        " CHECK (evidence_retention_days BETWEEN 1 AND 365)",
        """
CREATE TABLE evidence_photos (
    tenant_id      uuid        NOT NULL,
    attempt_id     uuid        NOT NULL,
    clock_id       uuid,
    method         text,
    worker_id      uuid,
    photo          bytea,
    photo_bytes    integer,
    kept_at        timestamptz,
    check_outcome  text,
    distance       real,
    threshold      real,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, attempt_id)
)""",
        "CREATE INDEX evidence_photos_worker ON evidence_photos (tenant_id, worker_id)",
        "CREATE INDEX evidence_photos_expires ON evidence_photos (expires_at)",
        *tenant_isolation("evidence_photos"),
        # The retention sweep deletes expired rows of every tenant, and only those, in a
        # transaction that says so (SET LOCAL app.evidence_sweep = 'on'); nothing else is
        # seen across tenants.
        """CREATE POLICY evidence_sweep ON evidence_photos FOR ALL
            USING (current_setting('app.evidence_sweep', true) = 'on' AND expires_at <= now())""",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON evidence_photos TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "DROP TABLE evidence_photos",
        "ALTER TABLE face_settings DROP COLUMN evidence_photos,"
        " DROP COLUMN evidence_retention_days",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
