"""The workers list sorts names as people read them, in any script: its indexes hold the name in
ICU's root collation (``punchcard_kit.db.ordered``), then the Employee ID, the list's order.

``workers_tenant_name (tenant_id, lower(name))`` and ``workers_tenant_site_name (tenant_id,
site_id, lower(name))`` (0002, 0007) sorted in the database's collation, C on the local stack
and on many managed databases: bytes, so "Åsa" and "Émile" came after "Zoë", and "émile" far
from "Emile". They are replaced by ``workers_tenant_name_icu (tenant_id, name COLLATE
"und-x-icu", employee_id)`` and ``workers_tenant_site_name_icu (tenant_id, site_id, name
COLLATE "und-x-icu", employee_id)``: a page (a sysadmin's, a manager's per site) is still read
from an index in the page's order (``tests/integration/identity/test_worker_list_plans.py``).
ICU's order puts case after letters and accents, so no ``lower()`` is needed.

The indexes depend on the ICU library's version: after an OS upgrade that changes it,
PostgreSQL warns of a collation version mismatch; ``REINDEX`` them and ``ALTER COLLATION
"und-x-icu" REFRESH VERSION`` (docs/deployment.md).

Each ``CREATE INDEX`` holds writes to ``workers`` (not reads) while it builds: measured on the
2-core test machine, 1.4 s and 1.1 s for a million workers (0.9 s for the index it replaces).

Revision ID: 0010
Revises: 0009
"""

from punchcard_kit.migrations import execute_all

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    execute_all(
        (
            'CREATE INDEX workers_tenant_name_icu ON workers (tenant_id, name COLLATE "und-x-icu",'
            " employee_id)",
            "CREATE INDEX workers_tenant_site_name_icu ON workers (tenant_id, site_id,"
            ' name COLLATE "und-x-icu", employee_id)',
            "DROP INDEX workers_tenant_name",
            "DROP INDEX workers_tenant_site_name",
        )
    )


def downgrade() -> None:
    execute_all(
        (
            "CREATE INDEX workers_tenant_name ON workers (tenant_id, lower(name))",
            "CREATE INDEX workers_tenant_site_name ON workers (tenant_id, site_id, lower(name))",
            "DROP INDEX workers_tenant_name_icu",
            "DROP INDEX workers_tenant_site_name_icu",
        )
    )
