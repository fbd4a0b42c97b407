"""Biometric templates uploaded by hardware clocks (ZK PUSH): one row per worker and slot
(kind, finger/template number, index), the template sealed with AES-GCM under BIOMETRIC_KEY
(the tenant, worker and slot are its associated data, so a row moved to another worker or
tenant does not open), tenant-isolated by row-level security like 0002.

Revision ID: 0005
Revises: 0003_owner_roles (the lead re-chains at merge: 0004 is the ZK edge's)
"""

from punchcard_kit.migrations import database_role, execute_all, tenant_isolation

revision = "0005"
down_revision = "0004"

TABLES = ("biometric_templates",)


def _up(APP_ROLE: str) -> tuple[str, ...]:
    return (
        # sealed: 12-byte nonce || AES-GCM ciphertext (with its tag) of the template's base64
        # text as the device sent it. The other columns describe the template (what it came
        # as, to push it back in the same form) and are not biometric data.
        """
CREATE TABLE biometric_templates (
    tenant_id        uuid        NOT NULL,
    worker_id        uuid        NOT NULL REFERENCES workers (id),
    kind             text        NOT NULL,
    slot_no          integer     NOT NULL,
    slot_index       integer     NOT NULL,
    source           text        NOT NULL,
    valid            smallint    NOT NULL DEFAULT 1,
    duress           smallint    NOT NULL DEFAULT 0,
    bio_type         integer     NOT NULL DEFAULT 0,
    major_ver        integer     NOT NULL DEFAULT 0,
    minor_ver        integer     NOT NULL DEFAULT 0,
    format           integer     NOT NULL DEFAULT 0,
    size             integer     NOT NULL DEFAULT 0,
    sealed           bytea       NOT NULL,
    source_clock_id  uuid        REFERENCES clocks (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, worker_id, kind, slot_no, slot_index)
)""",
        "CREATE INDEX biometric_templates_worker ON biometric_templates (worker_id)",
        *tenant_isolation(*TABLES),
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {APP_ROLE}",
    )


def _down() -> tuple[str, ...]:
    return tuple(f"DROP TABLE {table}" for table in reversed(TABLES))


def upgrade() -> None:
    execute_all(_up(database_role("app")))


def downgrade() -> None:
    execute_all(_down())
