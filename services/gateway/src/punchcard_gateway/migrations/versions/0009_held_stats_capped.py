"""The reconciler's gauges stay cheap in an outage: ``gateway_kiosk_held_stats()`` counts at
most 100,000 held attempts and 100,000 abandoned claims (the gauges then mean "at least", as
the kit's outbox backlog does: ``punchcard_kit.ops.OUTBOX_COUNT_CAP``), and finds the oldest
arrival through ``kiosk_held_attempts_received_at``.

Every replica's reconciler calls it on every turn. In an outage the held table holds every
kiosk attempt of the outage, and each call read it whole, twice, while the database was also
taking the recovery's load. The function keeps its owner (0003's retention role: this
database's owner is a member of it) and its grants.

Revision ID: 0009
Revises: 0008
"""

from punchcard_kit.migrations import execute_all

revision = "0009"
down_revision = "0008"


def _held_stats(limit: str) -> str:
    """The function, each count limited to ``limit`` rows (``ALL``: 0004's, uncapped)."""
    return f"""
CREATE OR REPLACE FUNCTION gateway_kiosk_held_stats()
    RETURNS TABLE (held bigint, oldest timestamptz, abandoned bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        (SELECT count(*) FROM (SELECT 1 FROM public.kiosk_held_attempts LIMIT {limit}) AS h),
        (SELECT min(received_at) FROM public.kiosk_held_attempts),
        (SELECT count(*) FROM (
            SELECT 1 FROM public.kiosk_attempts a
            WHERE a.outcome_type IS NULL AND NOT EXISTS (
                SELECT 1 FROM public.kiosk_held_attempts h
                WHERE h.tenant_id = a.tenant_id AND h.attempt_id = a.attempt_id)
            LIMIT {limit}) AS a)
$$"""


def upgrade() -> None:
    execute_all(
        (
            "CREATE INDEX kiosk_held_attempts_received_at ON kiosk_held_attempts (received_at)",
            _held_stats("100000"),
        )
    )


def downgrade() -> None:
    execute_all((_held_stats("ALL"), "DROP INDEX kiosk_held_attempts_received_at"))
