"""A manager's workers list: ``workers_tenant_site_name (tenant_id, site_id, lower(name))``.

A manager sees the workers of their sites (``views.py worker_filter``). The only index
ordered by name led with the tenant, so a manager's page walked the tenant's workers by name
and kept their sites' (a site of 50 in a tenant of 100,000: the whole tenant, and again for
the count). With this index the page and the count read the sites' workers only
(``tests/integration/identity/test_workers_and_pins.py``).

Revision ID: 0007
Revises: 0006
"""

from punchcard_kit.migrations import execute_all

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    execute_all(
        ("CREATE INDEX workers_tenant_site_name ON workers (tenant_id, site_id, lower(name))",)
    )


def downgrade() -> None:
    execute_all(("DROP INDEX workers_tenant_site_name",))
