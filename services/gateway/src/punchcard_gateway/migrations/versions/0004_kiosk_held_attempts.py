"""Kiosk attempts held until their outcome, so a lost one is published again (the reconciler).

``kiosk_held_attempts`` keeps, for each claim that has no outcome yet, the attempt's outbox
record exactly as it was first written — topic, key, value (the encoded envelope: for a PIN
attempt the PIN sealed to identity's key, for a face attempt the frame), headers and event id
— plus when the reconciler should look at it next and how often it was published. The row is
written in the claim's transaction and deleted in the transaction that stores the outcome, or
by the reconciler when the attempt is older than ``KIOSK_ATTEMPT_HOLD_HOURS`` (given up: logged
and counted). Republishing the same bytes under the same event id is an ordinary at-least-once
redelivery: a consumer that processed the attempt already drops it (processed_events), and
punch decides each attempt id once.

The app role reads, inserts and deletes its tenant's rows and updates the schedule columns.
The reconciler must find due rows of every tenant: ``gateway_due_kiosk_attempts(limit)`` and
``gateway_kiosk_held_stats()``, SECURITY DEFINER functions owned by 0003's retention role, may
read only the ids, times and counts of every row (never the record) and the outcome-less claims.

Revision ID: 0004
Revises: 0003
"""

from punchcard_kit.migrations import TENANT, database_role, execute_all, give_function

revision = "0004"
down_revision = "0003"


def _up(APP_ROLE: str, RETENTION_ROLE: str) -> tuple[str, ...]:
    return (
        """
CREATE TABLE kiosk_held_attempts (
    tenant_id        uuid        NOT NULL,
    attempt_id       uuid        NOT NULL,
    topic            text        NOT NULL,
    key              bytea,
    value            bytea       NOT NULL,
    headers          jsonb       NOT NULL,
    event_id         uuid        NOT NULL,
    received_at      timestamptz NOT NULL,
    published        integer     NOT NULL DEFAULT 1 CHECK (published >= 1),
    next_check_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, attempt_id),
    FOREIGN KEY (tenant_id, attempt_id) REFERENCES kiosk_attempts ON DELETE CASCADE
)""",
        "CREATE INDEX kiosk_held_attempts_next_check ON kiosk_held_attempts (next_check_at)",
        # The stats count the claims without an outcome every turn: few rows, so a small index.
        """CREATE INDEX kiosk_attempts_without_outcome ON kiosk_attempts (tenant_id, attempt_id)
    WHERE outcome_type IS NULL""",
        "ALTER TABLE kiosk_held_attempts ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE kiosk_held_attempts FORCE ROW LEVEL SECURITY",
        f"""
CREATE POLICY tenant_isolation ON kiosk_held_attempts TO {APP_ROLE}
    USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})""",
        f"GRANT SELECT, INSERT, DELETE ON kiosk_held_attempts TO {APP_ROLE}",
        f"GRANT UPDATE (published, next_check_at) ON kiosk_held_attempts TO {APP_ROLE}",
        # The reconciler's cross-tenant view: ids, times and counts, never the record.
        f"""GRANT SELECT (tenant_id, attempt_id, received_at, published, next_check_at)
    ON kiosk_held_attempts TO {RETENTION_ROLE}""",
        f"""CREATE POLICY retention_read ON kiosk_held_attempts FOR SELECT TO {RETENTION_ROLE}
    USING (true)""",
        f"GRANT SELECT (tenant_id, attempt_id, outcome_type) ON kiosk_attempts TO {RETENTION_ROLE}",
        # Due rows, the longest overdue first; at most 1,000 a call.
        """
CREATE FUNCTION gateway_due_kiosk_attempts(p_limit integer)
    RETURNS TABLE (tenant_id uuid, attempt_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT h.tenant_id, h.attempt_id FROM public.kiosk_held_attempts h
    WHERE h.next_check_at <= now()
    ORDER BY h.next_check_at
    LIMIT least(greatest(p_limit, 1), 1000)
$$""",
        # held: attempts still held without an outcome; oldest: the earliest of their arrivals;
        # abandoned: claims without an outcome that are no longer held (given up, or claimed
        # before this migration) — until the claims are pruned.
        """
CREATE FUNCTION gateway_kiosk_held_stats()
    RETURNS TABLE (held bigint, oldest timestamptz, abandoned bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        (SELECT count(*) FROM public.kiosk_held_attempts),
        (SELECT min(received_at) FROM public.kiosk_held_attempts),
        (SELECT count(*) FROM public.kiosk_attempts a
         WHERE a.outcome_type IS NULL AND NOT EXISTS (
             SELECT 1 FROM public.kiosk_held_attempts h
             WHERE h.tenant_id = a.tenant_id AND h.attempt_id = a.attempt_id))
$$""",
        *give_function("gateway_due_kiosk_attempts(integer)", RETENTION_ROLE),
        *give_function("gateway_kiosk_held_stats()", RETENTION_ROLE),
        "REVOKE ALL ON FUNCTION gateway_due_kiosk_attempts(integer) FROM PUBLIC",
        "REVOKE ALL ON FUNCTION gateway_kiosk_held_stats() FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION gateway_due_kiosk_attempts(integer) TO {APP_ROLE}",
        f"GRANT EXECUTE ON FUNCTION gateway_kiosk_held_stats() TO {APP_ROLE}",
    )


def _down(APP_ROLE: str, RETENTION_ROLE: str) -> tuple[str, ...]:
    return (
        "DROP INDEX kiosk_attempts_without_outcome",
        "DROP FUNCTION gateway_kiosk_held_stats()",
        "DROP FUNCTION gateway_due_kiosk_attempts(integer)",
        "REVOKE SELECT (tenant_id, attempt_id, outcome_type) ON kiosk_attempts"
        f" FROM {RETENTION_ROLE}",
        "DROP TABLE kiosk_held_attempts",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app"), database_role("retention")))


def downgrade() -> None:
    execute_all(_down(database_role("app"), database_role("retention")))
