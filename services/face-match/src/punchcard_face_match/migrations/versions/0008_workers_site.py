"""The workers' projection by site: ``workers_site (tenant_id, site_id)``. A manager's list
of enrolled workers finds their sites' workers first, then their templates
(``views.py _ENROLLED_AT_SITES``); without the index it read the tenant's workers to find a
site's (``tests/integration/face_match/test_enrolled_plans.py``).

Revision ID: 0008_workers_site
Revises: 0007_evidence
"""

from punchcard_kit.migrations import execute_all

revision = "0008_workers_site"
down_revision = "0007_evidence"


def upgrade() -> None:
    execute_all(("CREATE INDEX workers_site ON workers (tenant_id, site_id)",))


def downgrade() -> None:
    execute_all(("DROP INDEX workers_site",))
