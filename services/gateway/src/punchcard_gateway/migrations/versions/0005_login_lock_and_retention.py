"""Admin login lock, and retention of refresh tokens and audit rows.

``admin_users`` gains ``failed_logins`` (consecutive wrong passwords since the last success or
lock) and ``locked_until`` (domain/login.py); the app role already updates the table.

Retention: two SECURITY DEFINER functions owned by ``punchcard_gateway_retention`` (the role of
0003, which sees only the one timestamp column of each row it may delete), called hourly by
the gateway: ``gateway_prune_refresh_tokens(days)`` deletes refresh tokens expired more than
``days`` ago (at least one day: an expired token cannot be refreshed, and a spent one presented
again within those days still revokes its family; later it is merely unknown, a 401),
``gateway_prune_audit_log(days)`` deletes
audit rows older than ``days`` (at least 30), every tenant's and those of no tenant.

Revision ID: 0005
Revises: 0004
"""

from punchcard_kit.migrations import database_role, execute_all, give_function

revision = "0005"
down_revision = "0004"


def _up(APP_ROLE: str, RETENTION_ROLE: str) -> tuple[str, ...]:
    return (
        "ALTER TABLE admin_users ADD COLUMN failed_logins integer NOT NULL DEFAULT 0"
        " CHECK (failed_logins >= 0)",
        "ALTER TABLE admin_users ADD COLUMN locked_until timestamptz",
        "CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at)",
        "CREATE INDEX audit_log_at ON audit_log (at)",
        f"GRANT SELECT (expires_at), DELETE ON refresh_tokens TO {RETENTION_ROLE}",
        f"GRANT SELECT (at), DELETE ON audit_log TO {RETENTION_ROLE}",
        "CREATE POLICY retention_read ON refresh_tokens FOR SELECT"
        f" TO {RETENTION_ROLE} USING (true)",
        f"CREATE POLICY retention ON refresh_tokens FOR DELETE TO {RETENTION_ROLE} USING (true)",
        f"CREATE POLICY retention_read ON audit_log FOR SELECT TO {RETENTION_ROLE} USING (true)",
        f"CREATE POLICY retention ON audit_log FOR DELETE TO {RETENTION_ROLE} USING (true)",
        """
CREATE FUNCTION gateway_prune_refresh_tokens(p_days integer) RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM public.refresh_tokens
        WHERE expires_at < now() - make_interval(days => greatest(p_days, 1))
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$""",
        """
CREATE FUNCTION gateway_prune_audit_log(p_days integer) RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM public.audit_log
        WHERE at < now() - make_interval(days => greatest(p_days, 30))
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$""",
        *give_function("gateway_prune_refresh_tokens(integer)", RETENTION_ROLE),
        *give_function("gateway_prune_audit_log(integer)", RETENTION_ROLE),
        "REVOKE ALL ON FUNCTION gateway_prune_refresh_tokens(integer) FROM PUBLIC",
        "REVOKE ALL ON FUNCTION gateway_prune_audit_log(integer) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION gateway_prune_refresh_tokens(integer) TO {APP_ROLE}",
        f"GRANT EXECUTE ON FUNCTION gateway_prune_audit_log(integer) TO {APP_ROLE}",
    )


def _down(APP_ROLE: str, RETENTION_ROLE: str) -> tuple[str, ...]:
    return (
        "DROP FUNCTION gateway_prune_audit_log(integer)",
        "DROP FUNCTION gateway_prune_refresh_tokens(integer)",
        "DROP POLICY retention ON audit_log",
        "DROP POLICY retention_read ON audit_log",
        "DROP POLICY retention ON refresh_tokens",
        "DROP POLICY retention_read ON refresh_tokens",
        f"REVOKE SELECT (at), DELETE ON audit_log FROM {RETENTION_ROLE}",
        f"REVOKE SELECT (expires_at), DELETE ON refresh_tokens FROM {RETENTION_ROLE}",
        "DROP INDEX audit_log_at",
        "DROP INDEX refresh_tokens_expires",
        "ALTER TABLE admin_users DROP COLUMN locked_until",
        "ALTER TABLE admin_users DROP COLUMN failed_logins",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app"), database_role("retention")))


def downgrade() -> None:
    execute_all(_down(database_role("app"), database_role("retention")))
