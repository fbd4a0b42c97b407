"""Kiosk attempt claims may be badge-card attempts (method ``CARD``, issue 16): a card reader
at the kiosk types the card's number, which the edge seals to identity's key like a PIN. The
claim keeps only the method and the fingerprint (never the number), as for a PIN.

Revision ID: 0006
Revises: 0004_owner_roles
"""

from punchcard_kit.migrations import execute_all

revision = "0006"
down_revision = "0004_owner_roles"


def upgrade() -> None:
    execute_all(
        (
            "ALTER TABLE kiosk_attempts DROP CONSTRAINT kiosk_attempts_method_check",
            "ALTER TABLE kiosk_attempts ADD CONSTRAINT kiosk_attempts_method_check"
            " CHECK (method IN ('PIN', 'FACE', 'CARD'))",
        )
    )


def downgrade() -> None:
    execute_all(
        (
            "ALTER TABLE kiosk_attempts DROP CONSTRAINT kiosk_attempts_method_check",
            "ALTER TABLE kiosk_attempts ADD CONSTRAINT kiosk_attempts_method_check"
            # NOT VALID: claims of card attempts already made stay until pruned.
            " CHECK (method IN ('PIN', 'FACE')) NOT VALID",
        )
    )
