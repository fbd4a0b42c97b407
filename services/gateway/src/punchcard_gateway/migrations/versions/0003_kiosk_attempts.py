"""The kiosk edge's attempt claims, under row-level security like the rest (0002).

``kiosk_attempts`` holds one row per (tenant, attempt id) a kiosk sent: the clock that sent it,
the method, a fingerprint of the attempt's content (SHA-256 of method, Employee ID, capture
time and, for a face, the frame's hash — never the PIN), when it arrived, and the outcome once
known (the punch event's type name and bytes). The attempt's event goes to the outbox in the
transaction that inserts the row, so an attempt is published exactly when it is first claimed
and never again; the outcome makes a repeated request answer the same.

The app role may read, insert and set the outcome of its tenant's rows, and insert into the
outbox. Claims are pruned after 30 days by ``gateway_prune_kiosk_attempts(days)``, a SECURITY
DEFINER function owned by ``<database>_retention``: a NOLOGIN role that may see only
``received_at`` of every row and delete rows — the app, bound to one tenant at a time, could
not prune all tenants otherwise. Like 0002's functions, it is handed over with
``give_function`` (the role holds CREATE on the schema only for that moment).

Revision ID: 0003
Revises: 0002
"""

from punchcard_kit.migrations import TENANT, database_role, execute_all, give_function, own_role

revision = "0003"
down_revision = "0002"


def _up(APP_ROLE: str, RETENTION_ROLE: str) -> tuple[str, ...]:
    return (
        own_role(RETENTION_ROLE),
        """
CREATE TABLE kiosk_attempts (
    tenant_id    uuid        NOT NULL,
    attempt_id   uuid        NOT NULL,
    clock_id     text        NOT NULL,
    method       text        NOT NULL CHECK (method IN ('PIN', 'FACE')),
    fingerprint  bytea       NOT NULL CHECK (length(fingerprint) = 32),
    received_at  timestamptz NOT NULL,
    outcome_type text,
    outcome      bytea,
    outcome_at   timestamptz,
    PRIMARY KEY (tenant_id, attempt_id),
    CHECK ((outcome IS NULL) = (outcome_type IS NULL))
)""",
        "CREATE INDEX kiosk_attempts_received_at ON kiosk_attempts (received_at)",
        "ALTER TABLE kiosk_attempts ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE kiosk_attempts FORCE ROW LEVEL SECURITY",
        f"""
CREATE POLICY tenant_isolation ON kiosk_attempts TO {APP_ROLE}
    USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})""",
        f"GRANT SELECT, INSERT ON kiosk_attempts TO {APP_ROLE}",
        # Only the outcome changes after the claim.
        f"GRANT UPDATE (outcome_type, outcome, outcome_at) ON kiosk_attempts TO {APP_ROLE}",
        # The attempt's event is written in the claim's transaction.
        f"GRANT INSERT ON outbox TO {APP_ROLE}",
        # Retention: the arrival time of every row, and deleting rows.
        f"GRANT USAGE ON SCHEMA public TO {RETENTION_ROLE}",
        f"GRANT SELECT (received_at), DELETE ON kiosk_attempts TO {RETENTION_ROLE}",
        f"CREATE POLICY retention_read ON kiosk_attempts FOR SELECT TO {RETENTION_ROLE}"
        " USING (true)",
        f"CREATE POLICY retention ON kiosk_attempts FOR DELETE TO {RETENTION_ROLE} USING (true)",
        # At least a day is always kept, whatever the caller asks.
        """
CREATE FUNCTION gateway_prune_kiosk_attempts(p_days integer) RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM public.kiosk_attempts
        WHERE received_at < now() - make_interval(days => greatest(p_days, 1))
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$""",
        *give_function("gateway_prune_kiosk_attempts(integer)", RETENTION_ROLE),
        "REVOKE ALL ON FUNCTION gateway_prune_kiosk_attempts(integer) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION gateway_prune_kiosk_attempts(integer) TO {APP_ROLE}",
    )


def _down(APP_ROLE: str, RETENTION_ROLE: str) -> tuple[str, ...]:
    return (
        "DROP FUNCTION gateway_prune_kiosk_attempts(integer)",
        "DROP TABLE kiosk_attempts",
        f"REVOKE INSERT ON outbox FROM {APP_ROLE}",
        f"REVOKE USAGE ON SCHEMA public FROM {RETENTION_ROLE}",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app"), database_role("retention")))


def downgrade() -> None:
    execute_all(_down(database_role("app"), database_role("retention")))
