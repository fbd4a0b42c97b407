"""The face attempts refused at a clock, by time: ``attempts_rejected (tenant_id, clock_id,
decided_at) WHERE outcome = 'REJECTED'``.

The suspicious-PIN report counts refused face attempts at the report's clocks around each PIN
punch (``views.py _FACE_FAILURES``). ``attempts`` is append-only and kept, and its only index
was the primary key ``(tenant_id, attempt_id)``, so each report read every attempt the tenant
ever made. Partial: only refused attempts (a small share) are indexed, so the ledger's inserts
pay for it only on those (``tests/integration/punch/test_report_plans.py``).

Revision ID: 0010_rejected_attempts
Revises: 0009_parked_keys
"""

from punchcard_kit.migrations import execute_all

revision = "0010_rejected_attempts"
down_revision = "0009_parked_keys"


def upgrade() -> None:
    execute_all(
        (
            "CREATE INDEX attempts_rejected ON attempts (tenant_id, clock_id, decided_at)"
            " WHERE outcome = 'REJECTED'",
        )
    )


def downgrade() -> None:
    execute_all(("DROP INDEX attempts_rejected",))
