"""Tenants, admin users, refresh tokens and the audit log, under row-level security.

Every tenant-owned table has RLS enabled AND forced, with one policy for the application role
``<database>_app`` (``punchcard_gateway_app``): a row is visible (and writable) only when its
tenant is the one the transaction declared with ``set_config('app.tenant_id', …, true)``. The
app switches to that role in every transaction (``SET LOCAL ROLE``), because the user it logs
in as owns the tables (or is a superuser), and owners and superusers bypass or outrank RLS.
FORCE makes the owner subject to it as well; it has no policy, so it sees nothing either.

Login and refresh must find a tenant before they know it: two SECURITY DEFINER functions
answer only "which tenant owns this e-mail / this refresh-token hash". They run as
``<database>_lookup``, a NOLOGIN role that may read nothing but those two columns of
each table (through a read-only policy of its own); no password hash or token row leaves them.

Roles belong to the whole PostgreSQL cluster, so they are named after this database
(``punchcard_kit.tenancy.ROLE_NAME``): another database on the cluster never shares them.

Revision ID: 0002
Revises: 0001
"""

from punchcard_kit.migrations import TENANT, database_role, execute_all, give_function, own_role

revision = "0002"
down_revision = "0001"

# NULLIF(…, true): an unset tenant (a fresh session, or one whose SET LOCAL ended) reads as
# NULL, so the policy is simply false — the role sees nothing — instead of a cast error.


def _up(APP_ROLE: str, LOOKUP_ROLE: str) -> tuple[str, ...]:
    return (
        # This database's own roles; the migrating user (the service's login role) joins them, so
        # it may SET ROLE to them and hand them functions.
        own_role(APP_ROLE),
        own_role(LOOKUP_ROLE),
        """
CREATE TABLE tenants (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
)""",
        """
CREATE TABLE admin_users (
    id            uuid        PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    email         text        NOT NULL CHECK (email = lower(email)),
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('sysadmin', 'manager', 'viewer')),
    site_ids      text[]      NOT NULL DEFAULT '{}',
    password_hash text        NOT NULL,
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
)""",
        # Login is by e-mail across tenants, so an e-mail is unique across the whole gateway.
        "CREATE UNIQUE INDEX admin_users_email ON admin_users (lower(email))",
        "CREATE INDEX admin_users_tenant ON admin_users (tenant_id, created_at, id)",
        """
CREATE TABLE refresh_tokens (
    id         uuid        PRIMARY KEY,
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    user_id    uuid        NOT NULL REFERENCES admin_users (id),
    family_id  uuid        NOT NULL,
    token_hash bytea       NOT NULL UNIQUE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
)""",
        "CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id)",
        "CREATE INDEX refresh_tokens_user ON refresh_tokens (tenant_id, user_id)",
        # Never a request body: PINs and passwords travel in bodies.
        """
CREATE TABLE audit_log (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid        REFERENCES tenants (id),
    actor_id    uuid,
    action      text        NOT NULL,
    target_id   text,
    status_code smallint    NOT NULL,
    client_ip   text,
    user_agent  text,
    request_id  text,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
)""",
        "CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC)",
        # Row-level security, enabled and forced on every tenant-owned table.
        "ALTER TABLE tenants ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE tenants FORCE ROW LEVEL SECURITY",
        "ALTER TABLE admin_users ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE admin_users FORCE ROW LEVEL SECURITY",
        "ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY",
        "ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE audit_log FORCE ROW LEVEL SECURITY",
        f"""
CREATE POLICY tenant_isolation ON tenants TO {APP_ROLE}
    USING (id = {TENANT}) WITH CHECK (id = {TENANT})""",
        f"""
CREATE POLICY tenant_isolation ON admin_users TO {APP_ROLE}
    USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})""",
        f"""
CREATE POLICY tenant_isolation ON refresh_tokens TO {APP_ROLE}
    USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})""",
        f"""
CREATE POLICY tenant_isolation ON audit_log TO {APP_ROLE}
    USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})""",
        # A failed login for an unknown e-mail belongs to no tenant: it may be written, never read
        # back by the app (operators read those rows as the owner/superuser).
        f"""
CREATE POLICY anonymous_insert ON audit_log FOR INSERT TO {APP_ROLE}
    WITH CHECK (tenant_id IS NULL)""",
        f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}, {LOOKUP_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE ON tenants, admin_users, refresh_tokens TO {APP_ROLE}",
        # The audit log is append-only for the app.
        f"GRANT SELECT, INSERT ON audit_log TO {APP_ROLE}",
        # The lookup role: two columns of each table, read-only, every tenant.
        f"GRANT SELECT (tenant_id, email) ON admin_users TO {LOOKUP_ROLE}",
        f"GRANT SELECT (tenant_id, token_hash) ON refresh_tokens TO {LOOKUP_ROLE}",
        f"CREATE POLICY lookup ON admin_users FOR SELECT TO {LOOKUP_ROLE} USING (true)",
        f"CREATE POLICY lookup ON refresh_tokens FOR SELECT TO {LOOKUP_ROLE} USING (true)",
        """
CREATE FUNCTION gateway_tenant_of_email(p_email text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT tenant_id FROM public.admin_users WHERE lower(email) = lower(p_email) $$""",
        """
CREATE FUNCTION gateway_tenant_of_refresh_token(p_hash bytea) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT tenant_id FROM public.refresh_tokens WHERE token_hash = p_hash $$""",
        *give_function("gateway_tenant_of_email(text)", LOOKUP_ROLE),
        *give_function("gateway_tenant_of_refresh_token(bytea)", LOOKUP_ROLE),
        "REVOKE ALL ON FUNCTION gateway_tenant_of_email(text) FROM PUBLIC",
        "REVOKE ALL ON FUNCTION gateway_tenant_of_refresh_token(bytea) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION gateway_tenant_of_email(text) TO {APP_ROLE}",
        f"GRANT EXECUTE ON FUNCTION gateway_tenant_of_refresh_token(bytea) TO {APP_ROLE}",
    )


def _down(APP_ROLE: str, LOOKUP_ROLE: str) -> tuple[str, ...]:
    return (
        "DROP FUNCTION gateway_tenant_of_refresh_token(bytea)",
        "DROP FUNCTION gateway_tenant_of_email(text)",
        "DROP TABLE audit_log",
        "DROP TABLE refresh_tokens",
        "DROP TABLE admin_users",
        "DROP TABLE tenants",
        # Privileges on schema public would keep the roles alive in this database's catalogue.
        f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}, {LOOKUP_ROLE}",
    )


def upgrade() -> None:
    execute_all(_up(database_role("app"), database_role("lookup")))


def downgrade() -> None:
    execute_all(_down(database_role("app"), database_role("lookup")))
