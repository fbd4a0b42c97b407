"""PostgreSQL repositories and the unit of work, under row-level security.

Every transaction the app opens starts with one statement:

    SELECT set_config('role', <database>_app, true),
           set_config('app.tenant_id', <tenant or ''>, true)

i.e. ``SET LOCAL ROLE`` and ``SET LOCAL app.tenant_id`` (``punchcard_kit.tenancy``). The role
switch is what makes RLS apply: the user the app logs in as owns the tables (and could be a
superuser), and superusers and BYPASSRLS roles skip RLS altogether. The application role
has no BYPASSRLS, owns nothing, and its policies show it only the declared tenant's rows. Both
settings are transaction-local, so a pooled connection never carries them to the next user.
Every query below still filters by tenant itself as well (isolation twice)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg
from punchcard_kit import tenancy
from punchcard_kit.messaging.envelope import Envelope
from punchcard_kit.messaging.outbox import (
    OutboxRecord,
    add_records,
    insert_records,
    outbox_record,
)

from ..domain.kiosk import (
    Claim,
    HeldAttempt,
    Outcome,
    RepublishPolicy,
    StoredClaim,
    first_check_at,
    parse_outcome,
)
from ..domain.model import (
    AdminUser,
    AuditEntry,
    Conflict,
    RefreshToken,
    Role,
    Tenant,
)

# The database's own application role, `<database>_app` (punchcard_kit.tenancy.ROLE_NAME).
APP_ROLE = "app"


async def enter_tenant(conn: asyncpg.Connection, tenant_id: uuid.UUID | None) -> None:
    """Put the current transaction under RLS for ``tenant_id`` (``None``: no tenant)."""
    await tenancy.enter_tenant(conn, APP_ROLE, tenant_id)


def tenant_transaction(pool: asyncpg.Pool, tenant_id: uuid.UUID | None):
    """A transaction under RLS for one tenant; commits when the block ends without error."""
    return tenancy.tenant_transaction(pool, APP_ROLE, tenant_id)


class _Repository:
    def __init__(self, conn: asyncpg.Connection, tenant_id: uuid.UUID | None) -> None:
        self.conn = conn
        self.tenant_id = tenant_id


class PostgresTenants(_Repository):
    async def add(self, tenant: Tenant) -> None:
        await self.conn.execute(
            "INSERT INTO tenants (id, name) VALUES ($1, $2)", tenant.id, tenant.name
        )

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        row = await self.conn.fetchrow(
            "SELECT id, name FROM tenants WHERE id = $1 AND id = $2", tenant_id, self.tenant_id
        )
        return Tenant(id=row["id"], name=row["name"]) if row else None


_USER_COLUMNS = (
    "id, tenant_id, email, name, role, site_ids, password_hash, active, created_at, updated_at,"
    " failed_logins, locked_until"
)


def _user(row: asyncpg.Record) -> AdminUser:
    return AdminUser(
        id=row["id"],
        tenant_id=row["tenant_id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        site_ids=tuple(row["site_ids"]),
        password_hash=row["password_hash"],
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        failed_logins=row["failed_logins"],
        locked_until=row["locked_until"],
    )


class PostgresUsers(_Repository):
    async def add(self, user: AdminUser) -> None:
        if user.tenant_id != self.tenant_id:
            raise ValueError("an admin user is added only inside its own tenant's transaction")
        try:
            await self.conn.execute(
                "INSERT INTO admin_users (id, tenant_id, email, name, role, site_ids,"
                " password_hash, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                user.id,
                self.tenant_id,
                user.email,
                user.name,
                user.role.value,
                list(user.site_ids),
                user.password_hash,
                user.active,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict("an admin user with this email already exists", "email") from None

    async def get(self, user_id: uuid.UUID) -> AdminUser | None:
        row = await self.conn.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM admin_users WHERE id = $1 AND tenant_id = $2",
            user_id,
            self.tenant_id,
        )
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> AdminUser | None:
        row = await self.conn.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM admin_users"
            " WHERE lower(email) = lower($1) AND tenant_id = $2",
            email,
            self.tenant_id,
        )
        return _user(row) if row else None

    async def list(self, offset: int, limit: int) -> tuple[Sequence[AdminUser], int]:
        rows = await self.conn.fetch(
            f"SELECT {_USER_COLUMNS}, count(*) OVER () AS total FROM admin_users"
            " WHERE tenant_id = $1 ORDER BY created_at, id OFFSET $2 LIMIT $3",
            self.tenant_id,
            offset,
            limit,
        )
        if rows:
            return [_user(r) for r in rows], rows[0]["total"]
        total = await self.conn.fetchval(
            "SELECT count(*) FROM admin_users WHERE tenant_id = $1", self.tenant_id
        )
        return [], total

    async def update(self, user: AdminUser) -> None:
        await self.conn.execute(
            "UPDATE admin_users SET name = $3, role = $4, site_ids = $5, password_hash = $6,"
            " active = $7, failed_logins = $8, locked_until = $9, updated_at = now()"
            " WHERE id = $1 AND tenant_id = $2",
            user.id,
            self.tenant_id,
            user.name,
            user.role.value,
            list(user.site_ids),
            user.password_hash,
            user.active,
            user.failed_logins,
            user.locked_until,
        )


def _token(row: asyncpg.Record) -> RefreshToken:
    return RefreshToken(
        id=row["id"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        family_id=row["family_id"],
        token_hash=bytes(row["token_hash"]),
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        revoked_at=row["revoked_at"],
    )


class PostgresRefreshTokens(_Repository):
    async def add(self, token: RefreshToken) -> None:
        await self.conn.execute(
            "INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, token_hash,"
            " issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            token.id,
            self.tenant_id,
            token.user_id,
            token.family_id,
            token.token_hash,
            token.issued_at,
            token.expires_at,
        )

    async def get_by_hash_for_update(self, token_hash: bytes) -> RefreshToken | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM refresh_tokens WHERE token_hash = $1 AND tenant_id = $2 FOR UPDATE",
            token_hash,
            self.tenant_id,
        )
        return _token(row) if row else None

    async def mark_used(self, token_id: uuid.UUID, at) -> None:
        await self.conn.execute(
            "UPDATE refresh_tokens SET used_at = $3 WHERE id = $1 AND tenant_id = $2",
            token_id,
            self.tenant_id,
            at,
        )

    async def revoke_family(self, family_id: uuid.UUID, at) -> None:
        await self.conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $3"
            " WHERE family_id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
            family_id,
            self.tenant_id,
            at,
        )

    async def revoke_user(self, user_id: uuid.UUID, at) -> None:
        await self.conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $3"
            " WHERE user_id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
            user_id,
            self.tenant_id,
            at,
        )


def _entry(row: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        tenant_id=row["tenant_id"],
        actor_id=row["actor_id"],
        action=row["action"],
        target_id=row["target_id"],
        status_code=row["status_code"],
        client_ip=row["client_ip"],
        user_agent=row["user_agent"],
        request_id=row["request_id"],
        at=row["at"],
        clock_id=row["clock_id"],
        repeated=row["repeated"],
    )


class PostgresAudit(_Repository):
    async def add(self, entry: AuditEntry) -> None:
        # A row of no tenant (a failed login for an unknown e-mail) is allowed by its own
        # insert-only policy; any other row must be this transaction's tenant's.
        await self.conn.execute(
            "INSERT INTO audit_log (id, tenant_id, actor_id, action, target_id, status_code,"
            " client_ip, user_agent, request_id, clock_id, repeated)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            entry.id,
            entry.tenant_id,
            entry.actor_id,
            entry.action,
            entry.target_id,
            entry.status_code,
            entry.client_ip,
            entry.user_agent,
            entry.request_id,
            entry.clock_id,
            entry.repeated,
        )

    async def list(
        self, offset: int, limit: int, actor: uuid.UUID | None, action: str | None
    ) -> tuple[Sequence[AuditEntry], int]:
        where, args = audit_filter(self.tenant_id, actor, action)
        n = len(args)
        # Planned for these values each time (AUDIT_PAGE_PLAN), in this transaction only.
        await self.conn.execute(f"SET LOCAL plan_cache_mode = {AUDIT_PAGE_PLAN}")
        rows = await self.conn.fetch(
            f"SELECT * FROM audit_log WHERE {where}"
            f" ORDER BY at DESC, id OFFSET ${n + 1} LIMIT ${n + 2}",
            *args,
            offset,
            limit,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM audit_log WHERE {where}", *args)
        return [_entry(r) for r in rows], total


# How the audit list's page is planned: for its own tenant, admin and action every time. A
# generic plan (what a pool's prepared statement switches to after five executions) estimates
# each filter from its number of distinct values, so with many tenants, admins and actions it
# expects a handful of rows for an admin and an action together, and reads every row of that
# admin through a bitmap scan to sort them: 5,000 for a page of 50 on a 20,000-row log
# (tests/integration/gateway/test_audit_log.py). Planned for the values, a busy admin is known
# busy (the column's most common values) and the page reads its rows newest first through an
# index. Planning costs a fraction of a millisecond; an admin opens the page rarely.
AUDIT_PAGE_PLAN = "force_custom_plan"


def audit_filter(
    tenant_id: uuid.UUID, actor: uuid.UUID | None, action: str | None
) -> tuple[str, list]:
    """The audit list's condition and its arguments: only the filters given, so each list is
    served by its index newest first (``audit_log_tenant_at``, ``_actor_at``, ``_action_at``),
    planned for the values (``AUDIT_PAGE_PLAN``). The page reads its own rows; its total is a count
    apart. (``count(*) OVER ()`` on the page had read and sorted every matching row, whole.)"""
    conditions, args = ["tenant_id = $1"], [tenant_id]
    for column, value in (("actor_id", actor), ("action", action)):
        if value is not None:
            args.append(value)
            conditions.append(f"{column} = ${len(args)}")
    return " AND ".join(conditions), args


class PostgresDirectory(_Repository):
    """Cross-tenant lookups through the two SECURITY DEFINER functions of migration 0002:
    they answer a tenant id and nothing else."""

    async def tenant_of_email(self, email: str) -> uuid.UUID | None:
        return await self.conn.fetchval("SELECT gateway_tenant_of_email($1)", email)

    async def tenant_of_refresh_token(self, token_hash: bytes) -> uuid.UUID | None:
        return await self.conn.fetchval("SELECT gateway_tenant_of_refresh_token($1)", token_hash)


class PostgresUnitOfWork:
    """``async with uow:`` opens a transaction under RLS for the tenant; ``await
    uow.commit()`` commits it; leaving the block without committing rolls it back."""

    def __init__(self, pool: asyncpg.Pool, tenant_id: uuid.UUID | None) -> None:
        self._pool = pool
        self.tenant_id = tenant_id
        self._conn: asyncpg.Connection | None = None
        self._tx = None
        self._done = False

    async def __aenter__(self) -> PostgresUnitOfWork:
        conn = await self._pool.acquire()
        try:
            self._tx = conn.transaction()
            await self._tx.start()
            await enter_tenant(conn, self.tenant_id)
        except BaseException:
            await self._pool.release(conn)
            raise
        self._conn = conn
        self.tenants = PostgresTenants(conn, self.tenant_id)
        self.users = PostgresUsers(conn, self.tenant_id)
        self.refresh_tokens = PostgresRefreshTokens(conn, self.tenant_id)
        self.audit = PostgresAudit(conn, self.tenant_id)
        self.directory = PostgresDirectory(conn, self.tenant_id)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._conn is not None and self._tx is not None
        try:
            if not self._done:
                await self._tx.rollback()
        finally:
            await self._pool.release(self._conn)
            self._conn = None

    async def commit(self) -> None:
        assert self._tx is not None and not self._done
        await self._tx.commit()
        self._done = True


def unit_of_work_factory(pool: asyncpg.Pool):
    return lambda tenant_id: PostgresUnitOfWork(pool, tenant_id)


class PostgresKioskAttempts:
    """The kiosk edge's claims (service_layer.kiosk.AttemptStore) and the attempts held until
    their outcome (service_layer.reconciler.HeldAttempts), under RLS like the rest: each
    transaction is the clock's tenant's. Outcomes are kept as the event's type name and its
    serialised bytes, so the answer is always made by the one converter. A held attempt is its
    outbox record byte for byte (migration 0004): republished, it is the same event."""

    def __init__(self, pool: asyncpg.Pool, policy: RepublishPolicy) -> None:
        self.pool = pool
        self.policy = policy

    async def claim(
        self, claim: Claim, events: Sequence[tuple[str, str, Envelope]]
    ) -> StoredClaim | None:
        records = [outbox_record(topic, key, env) for topic, key, env in events]
        async with tenant_transaction(self.pool, claim.tenant_id) as conn:
            inserted = await conn.fetchval(*self._claim_statement(claim, records))
            if inserted:
                return None
            # Claimed before (perhaps a moment ago, by a request that waited for our insert's
            # conflict to resolve): nothing is written, the claim is returned.
            row = await self._get(conn, claim.tenant_id, claim.attempt_id)
            assert row is not None
            return StoredClaim(row["clock_id"], bytes(row["fingerprint"]), _outcome(row))

    async def get(self, tenant_id: str, attempt_id: str) -> StoredClaim | None:
        async with tenant_transaction(self.pool, tenant_id) as conn:
            row = await self._get(conn, tenant_id, attempt_id)
        if row is None:
            return None
        return StoredClaim(row["clock_id"], bytes(row["fingerprint"]), _outcome(row))

    async def _get(self, conn: asyncpg.Connection, tenant_id: str, attempt_id: str):
        return await conn.fetchrow(
            "SELECT clock_id, fingerprint, outcome_type, outcome FROM kiosk_attempts"
            " WHERE tenant_id = $1 AND attempt_id = $2",
            uuid.UUID(tenant_id),
            uuid.UUID(attempt_id),
        )

    async def save_outcome(self, tenant_id: str, attempt_id: str, event: Outcome) -> None:
        """The outcome, and the held attempt deleted with it (its frame or sealed PIN is not
        needed any more)."""
        async with tenant_transaction(self.pool, tenant_id) as conn:
            # One statement (one round trip): the UPDATE as a CTE, the DELETE beside it.
            await conn.execute(
                "WITH saved AS ("
                " UPDATE kiosk_attempts SET outcome_type = $3, outcome = $4, outcome_at = now()"
                " WHERE tenant_id = $1 AND attempt_id = $2 AND outcome IS NULL)"
                " DELETE FROM kiosk_held_attempts WHERE tenant_id = $1 AND attempt_id = $2",
                uuid.UUID(tenant_id),
                uuid.UUID(attempt_id),
                event.DESCRIPTOR.full_name,
                event.SerializeToString(deterministic=True),
            )

    def _claim_statement(self, claim: Claim, records: Sequence[OutboxRecord]) -> tuple:
        """One statement (one round trip, not three): the claim, its events in the outbox and
        the held copy of the attempt (the first record: an evidence photo beside it is
        published once and never held, issue 17) — the last two only where the claim was
        inserted (``claimed``: its RETURNING is what the other CTEs see). True: claimed now."""
        args: list = [
            uuid.UUID(claim.tenant_id),
            uuid.UUID(claim.attempt_id),
            claim.clock_id,
            claim.method,
            claim.fingerprint,
            claim.received_at,
        ]
        sql = (
            "WITH claimed AS ("
            " INSERT INTO kiosk_attempts (tenant_id, attempt_id, clock_id, method, fingerprint,"
            " received_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (tenant_id, attempt_id) DO NOTHING RETURNING true)"
        )
        if records:
            held = records[0]
            outbox_sql, outbox_args = insert_records(records, first=13)
            sql += (
                ", held AS ("
                " INSERT INTO kiosk_held_attempts (tenant_id, attempt_id, topic, key, value,"
                " headers, event_id, received_at, next_check_at)"
                " SELECT $1, $2, $7, $8, $9, $10::jsonb, $11, $6, $12"
                " WHERE EXISTS (TABLE claimed)),"
                f" outboxed AS ({outbox_sql} WHERE EXISTS (TABLE claimed))"
            )
            args += [
                held.topic,
                held.key,
                held.value,
                json.dumps(held.headers),
                uuid.UUID(held.event_id),
                first_check_at(claim.received_at, self.policy),
                *outbox_args,
            ]
        return (sql + " SELECT EXISTS (TABLE claimed)", *args)

    # -- held attempts (the reconciler) ---------------------------------------------------
    async def due(self, limit: int) -> list[tuple[str, str]]:
        """(tenant, attempt) of every tenant's held attempts due for a look, most overdue
        first (migration 0004's SECURITY DEFINER function: ids only)."""
        async with tenant_transaction(self.pool, None) as conn:
            rows = await conn.fetch("SELECT * FROM gateway_due_kiosk_attempts($1)", limit)
        return [(str(row["tenant_id"]), str(row["attempt_id"])) for row in rows]

    async def held(self, tenant_id: str, attempt_id: str) -> HeldAttempt | None:
        async with tenant_transaction(self.pool, tenant_id) as conn:
            row = await conn.fetchrow(
                "SELECT c.clock_id, h.received_at, h.published FROM kiosk_held_attempts h"
                " JOIN kiosk_attempts c USING (tenant_id, attempt_id)"
                " WHERE h.tenant_id = $1 AND h.attempt_id = $2 AND c.outcome IS NULL",
                uuid.UUID(tenant_id),
                uuid.UUID(attempt_id),
            )
        if row is None:
            return None
        return HeldAttempt(
            tenant_id, attempt_id, row["clock_id"], row["received_at"], row["published"]
        )

    async def republish(
        self, tenant_id: str, attempt_id: str, published: int, next_check_at: datetime
    ) -> bool:
        """Put the held record in the outbox again — unless another replica did since it was
        read (``published`` changed) or holds it now — and schedule the next look."""
        async with tenant_transaction(self.pool, tenant_id) as conn:
            row = await conn.fetchrow(
                "SELECT topic, key, value, headers, event_id FROM kiosk_held_attempts"
                " WHERE tenant_id = $1 AND attempt_id = $2 AND published = $3"
                " FOR UPDATE SKIP LOCKED",
                uuid.UUID(tenant_id),
                uuid.UUID(attempt_id),
                published,
            )
            if row is None:
                return False
            headers = [(str(k), str(v)) for k, v in json.loads(row["headers"])]
            record = OutboxRecord(
                row["topic"],
                None if row["key"] is None else bytes(row["key"]),
                bytes(row["value"]),
                headers,
                str(row["event_id"]),
            )
            await add_records(conn, [record])
            await conn.execute(
                "UPDATE kiosk_held_attempts SET published = published + 1, next_check_at = $3"
                " WHERE tenant_id = $1 AND attempt_id = $2",
                uuid.UUID(tenant_id),
                uuid.UUID(attempt_id),
                next_check_at,
            )
        return True

    async def give_up(self, tenant_id: str, attempt_id: str) -> bool:
        """Delete the held attempt (its record included); False when it was gone already."""
        async with tenant_transaction(self.pool, tenant_id) as conn:
            deleted = await conn.fetchval(
                "DELETE FROM kiosk_held_attempts WHERE tenant_id = $1 AND attempt_id = $2"
                " RETURNING true",
                uuid.UUID(tenant_id),
                uuid.UUID(attempt_id),
            )
        return bool(deleted)

    async def held_stats(self) -> tuple[int, datetime | None, int]:
        """(attempts held without an outcome, the earliest arrival among them, claims without
        an outcome no longer held), over every tenant."""
        async with tenant_transaction(self.pool, None) as conn:
            row = await conn.fetchrow("SELECT * FROM gateway_kiosk_held_stats()")
        return row["held"], row["oldest"], row["abandoned"]

    async def prune(self, older_than_days: int) -> int:
        """Every tenant's old claims, through the SECURITY DEFINER function of migration 0003
        (the app role sees one tenant at a time; the function's owner may delete old rows)."""
        async with tenant_transaction(self.pool, None) as conn:
            return await conn.fetchval("SELECT gateway_prune_kiosk_attempts($1)", older_than_days)


class PostgresRetention:
    """Hourly pruning across tenants, through the SECURITY DEFINER functions of migration
    0004 (like the kiosk claims'): refresh tokens long expired, audit rows past retention."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def prune_refresh_tokens(self, days_after_expiry: int) -> int:
        async with tenant_transaction(self.pool, None) as conn:
            return await conn.fetchval("SELECT gateway_prune_refresh_tokens($1)", days_after_expiry)

    async def prune_audit_log(self, older_than_days: int) -> int:
        async with tenant_transaction(self.pool, None) as conn:
            return await conn.fetchval("SELECT gateway_prune_audit_log($1)", older_than_days)


def _outcome(row: asyncpg.Record) -> Outcome | None:
    if row["outcome"] is None:
        return None
    return parse_outcome(row["outcome_type"], bytes(row["outcome"]))
