"""Workers' badge / proximity card numbers: unique per tenant (one card opens one worker),
tenant-isolated by row-level security like every table.

Revision ID: 0004
Revises: 0003_owner_roles
"""

from punchcard_kit.credentials import CARD_NUMBER_PATTERN
from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0004"
down_revision = "0003_owner_roles"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        f"""
CREATE TABLE worker_cards (
    tenant_id  uuid        NOT NULL,
    number     text        NOT NULL CHECK (number ~ '{CARD_NUMBER_PATTERN}'),
    worker_id  uuid        NOT NULL REFERENCES workers (id),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, number)
)""",
        "CREATE INDEX worker_cards_worker ON worker_cards (worker_id)",
        *tenant_isolation("worker_cards"),
        f"GRANT SELECT, INSERT, DELETE ON worker_cards TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return ("DROP TABLE worker_cards",)


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
