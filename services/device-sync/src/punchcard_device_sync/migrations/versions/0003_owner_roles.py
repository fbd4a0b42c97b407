"""The service's login role joins this database's own role ``<database>_app``.

A database migrated before roles were per database and granted (issue 14) has its role but no
member: only a superuser could ``SET ROLE`` to it, so a non-superuser owner failed at its first
tenant transaction. This makes the migrating user (the owner) a member; a no-op where 0002
already did (see ``punchcard_kit.migrations.own_role``).

Revision ID: 0003_owner_roles
Revises: 0002
"""

from punchcard_kit.migrations import database_role, execute_all, own_role

revision = "0003_owner_roles"
down_revision = "0002"


def upgrade() -> None:
    execute_all((own_role(database_role("app")),))


def downgrade() -> None:
    pass
