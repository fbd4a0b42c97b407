"""The service's login role joins this database's own roles (``<database>_app``, ``_lookup``,
``_retention``).

A database migrated before the roles were granted to the migrating user when they already
existed (issue 14) may have them without the owner as a member: only a superuser could
``SET ROLE`` to them. This makes the migrating user (the owner) a member; a no-op where 0002
and 0003 already did (see ``punchcard_kit.migrations.own_role``).

Revision ID: 0004_owner_roles
Revises: 0005
"""

from punchcard_kit.migrations import database_role, execute_all, own_role

revision = "0004_owner_roles"
down_revision = "0005"


def upgrade() -> None:
    execute_all(tuple(own_role(database_role(p)) for p in ("app", "lookup", "retention")))


def downgrade() -> None:
    pass
