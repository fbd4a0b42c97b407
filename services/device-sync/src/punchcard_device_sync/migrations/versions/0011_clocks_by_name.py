"""The clocks list is paged by name: ``clocks_tenant_name (tenant_id, name, id)``.

``GET /clocks`` answers a page (``offset``, ``limit``) ordered by name; with this index the page
is read from the tenant's first clocks by name instead of sorting every clock of the tenant
(``tests/integration/device_sync/test_statement_plans.py``).

Revision ID: 0011
Revises: 0010
"""

from punchcard_kit.migrations import execute_all

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    execute_all(("CREATE INDEX clocks_tenant_name ON clocks (tenant_id, name, id)",))


def downgrade() -> None:
    execute_all(("DROP INDEX clocks_tenant_name",))
