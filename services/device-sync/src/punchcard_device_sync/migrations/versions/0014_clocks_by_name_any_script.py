"""The clocks list sorts names as people read them, in any script: ``clocks_tenant_name_icu
(tenant_id, name COLLATE "und-x-icu", id)``, in ICU's root collation
(``punchcard_kit.db.ordered``), replaces ``clocks_tenant_name (tenant_id, name, id)`` (0011).

The old index, and the list, sorted in the database's collation, C on the local stack and on
many managed databases: bytes, so "Éclair Door" came after "Zulu Gate". A page of ``GET
/clocks`` is still taken from the index in the page's order before each clock's counts are
made (``tests/integration/device_sync/test_statement_plans.py``).

The index depends on the ICU library's version: after an OS upgrade that changes it,
PostgreSQL warns of a collation version mismatch; ``REINDEX`` it and ``ALTER COLLATION
"und-x-icu" REFRESH VERSION`` (docs/deployment.md). ``CREATE INDEX`` holds writes to
``clocks`` (not reads) while it builds (every tenant's clocks: thousands, not millions).

Revision ID: 0014
Revises: 0013
"""

from punchcard_kit.migrations import execute_all

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    execute_all(
        (
            "CREATE INDEX clocks_tenant_name_icu"
            ' ON clocks (tenant_id, name COLLATE "und-x-icu", id)',
            "DROP INDEX clocks_tenant_name",
        )
    )


def downgrade() -> None:
    execute_all(
        (
            "CREATE INDEX clocks_tenant_name ON clocks (tenant_id, name, id)",
            "DROP INDEX clocks_tenant_name_icu",
        )
    )
