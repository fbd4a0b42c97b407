"""The corrections a client named with an ``Idempotency-Key`` (``domain/repeats.py``): the key,
a digest of the request and the punch it made, so the same request sent again answers with that
punch instead of adding a second one. One small row per keyed correction, kept with the ledger
(a key repeated a month later still names the same punch).

Revision ID: 0011_correction_requests
Revises: 0010_rejected_attempts
"""

from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0011_correction_requests"
down_revision = "0010_rejected_attempts"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        """
CREATE TABLE correction_requests (
    tenant_id        uuid        NOT NULL,
    idempotency_key  text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 64),
    fingerprint      text        NOT NULL,
    punch_id         uuid        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
)""",
        *tenant_isolation("correction_requests"),
        f"GRANT SELECT, INSERT ON correction_requests TO {APP_ROLE}",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(("DROP TABLE correction_requests",))
