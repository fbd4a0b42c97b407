"""Clock roles and badge cards: a worker's role on each clock they are assigned to (USER,
MANAGER, ADMINISTRATOR; USER for every assignment so far), and the worker's card numbers in
the projection (identity's ``WorkerCardsChanged``).

Stored profiles gain ``"cards": []`` (in their sorted place, before ``"display_name"``), so
every profile has the same keys; the clocks learn the new keys (and their ``clock_role``) by
the automatic resync their roster digest now asks for.

Revision ID: 0006
Revises: 0003_owner_roles (the lead re-chains it after 0004/0005 at merge)
"""

from punchcard_kit.migrations import execute_all

revision = "0006"
down_revision = "0005"

ROLES = ("USER", "MANAGER", "ADMINISTRATOR")


def _up() -> tuple[str, ...]:
    allowed = ", ".join(f"'{r}'" for r in ROLES)
    return (
        "ALTER TABLE assignments ADD COLUMN clock_role text NOT NULL DEFAULT 'USER'"
        f" CHECK (clock_role IN ({allowed}))",
        "ALTER TABLE workers ADD COLUMN cards text[] NOT NULL DEFAULT '{}'",
        # Every tenant's rows: the owner is bound by the forced RLS policy, so it is lifted for
        # this one statement (inside the migration's transaction).
        "ALTER TABLE workers NO FORCE ROW LEVEL SECURITY",
        """UPDATE workers SET profile = replace(profile, '"display_name":',
                                        '"cards":[],"display_name":')
           WHERE profile IS NOT NULL AND strpos(profile, '"cards":') = 0""",
        "ALTER TABLE workers FORCE ROW LEVEL SECURITY",
    )


def _down() -> tuple[str, ...]:
    return (
        "ALTER TABLE workers NO FORCE ROW LEVEL SECURITY",
        """UPDATE workers SET profile = regexp_replace(profile, '"cards":\\[[^]]*\\],', '')
           WHERE profile IS NOT NULL""",
        "ALTER TABLE workers FORCE ROW LEVEL SECURITY",
        "ALTER TABLE workers DROP COLUMN cards",
        "ALTER TABLE assignments DROP COLUMN clock_role",
    )


def upgrade() -> None:
    execute_all(_up())


def downgrade() -> None:
    execute_all(_down())
