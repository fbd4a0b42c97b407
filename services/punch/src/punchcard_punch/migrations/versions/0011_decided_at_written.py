"""An attempt's ``decided_at`` is when its row is written, not when its transaction began:
``DEFAULT clock_timestamp()`` instead of ``now()``.

punch reads a batch's projections, parked verdicts and evidence checks and only then decides
(an evidence wait, for one, is "has the wait passed, now"). ``now()`` is the transaction's start,
before those reads, so a PIN punch that waited out its photo's check was stamped a few
milliseconds before the wait had passed (CI: 29.999 s for a 30 s wait). ``clock_timestamp()``,
evaluated by the insert, comes after the decision. It is still the database server's clock, the
one ``punches.recorded_at`` is on, which the suspicious-PIN report compares it with.

Revision ID: 0011_decided_at_written
Revises: 0010_rejected_attempts
"""

from punchcard_kit.migrations import execute_all

revision = "0011_decided_at_written"
down_revision = "0010_rejected_attempts"


def upgrade() -> None:
    execute_all(("ALTER TABLE attempts ALTER COLUMN decided_at SET DEFAULT clock_timestamp()",))


def downgrade() -> None:
    execute_all(("ALTER TABLE attempts ALTER COLUMN decided_at SET DEFAULT now()",))
