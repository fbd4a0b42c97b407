"""The service's login role joins this database's own role ``<database>_app``, which holds the
application's grants.

A database migrated before roles were per database and granted (issue 14) used the shared role
``punchcard_face_app``, of which the owner was no member: only a superuser could ``SET ROLE``
to it. This gives this database's own role the same grants, makes the migrating user (the
owner) a member, and takes the grants from the shared role in this database. A no-op where 0002
already did it (see ``punchcard_kit.migrations.own_role``).

Revision ID: 0003_owner_roles
Revises: 0003
"""

from punchcard_kit.migrations import database_role, execute_all, own_role

revision = "0003_owner_roles"
down_revision = "0003"

TABLES = ("template_sets", "templates", "photos", "face_settings", "workers", "assignments")
LEGACY_ROLE = "punchcard_face_app"


def upgrade() -> None:
    app = database_role("app")
    execute_all(
        (
            own_role(app),
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {app}",
            f"GRANT INSERT ON outbox TO {app}",
            f"GRANT SELECT, INSERT ON processed_events TO {app}",
        )
    )
    if app != LEGACY_ROLE:
        execute_all(
            (
                f"""DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{LEGACY_ROLE}') THEN
        REVOKE ALL ON {", ".join(TABLES)}, outbox, processed_events FROM {LEGACY_ROLE};
    END IF;
END $$""",
            )
        )


def downgrade() -> None:
    pass
