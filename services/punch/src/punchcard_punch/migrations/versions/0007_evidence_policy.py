"""The tenant's evidence policy (issue 17): "refuse PIN and card punches whose photo is not the
worker's face" (``punch_settings``, one row per tenant, off when there is none), and the time
until which a parked verdict waits for face-match's check of its photo
(``parked_verdicts.evidence_due``; NULL: parked for another reason, or no check to wait for).

Revision ID: 0007_evidence_policy
Revises: 0006_evidence
"""

from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0007_evidence_policy"
down_revision = "0006_evidence"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        """
CREATE TABLE punch_settings (
    tenant_id                uuid        PRIMARY KEY,
    refuse_unmatched_photos  boolean     NOT NULL DEFAULT false,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    updated_by               uuid
)""",
        *tenant_isolation("punch_settings"),
        f"GRANT SELECT, INSERT, UPDATE ON punch_settings TO {APP_ROLE}",
        "ALTER TABLE parked_verdicts ADD COLUMN evidence_due timestamptz",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return (
        "ALTER TABLE parked_verdicts DROP COLUMN evidence_due",
        "DROP TABLE punch_settings",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
