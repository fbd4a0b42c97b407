"""Which workers may use which clock: identity's projection of device-sync's compacted
assignments topic, so a PIN is only checked at a clock its worker is assigned to (a correct and
a wrong PIN at any other clock get the same answer). Tenant-isolated like every table.

Revision ID: 0003
Revises: 0002
"""

from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0003"
down_revision = "0002"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        """
CREATE TABLE clock_assignments (
    tenant_id  uuid NOT NULL,
    clock_id   text NOT NULL,
    worker_id  text NOT NULL,
    PRIMARY KEY (tenant_id, clock_id, worker_id)
)""",
        *tenant_isolation("clock_assignments"),
        f"GRANT SELECT, INSERT, DELETE ON clock_assignments TO {APP_ROLE}",
    )


def _down(APP_ROLE: str) -> tuple[str, ...]:
    return ("DROP TABLE clock_assignments",)


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down(database_role("app")))
