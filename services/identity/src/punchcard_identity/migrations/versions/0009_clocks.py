"""The clocks' sites: identity's projection of device-sync's clocks topic (``ClockRegistered``,
``ClockUpdated``), so that a clock's PIN failure counters are shown and reset only to those who
see the clock (a manager: the clocks of their sites), and a clock no one registered is a 404.
Tenant-isolated like every table. Filled by the consumer group ``identity.assignments``, which
reads the topic from its beginning (it is kept forever).

Revision ID: 0009
Revises: 0008
"""

from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0009"
down_revision = "0008"


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        """
CREATE TABLE clocks (
    tenant_id  uuid NOT NULL,
    clock_id   text NOT NULL,
    site_id    text NOT NULL,
    PRIMARY KEY (tenant_id, clock_id)
)""",
        *tenant_isolation("clocks"),
        f"GRANT SELECT, INSERT, UPDATE ON clocks TO {APP_ROLE}",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(("DROP TABLE clocks",))
