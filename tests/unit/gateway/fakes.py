"""In-memory stand-ins for the unit of work and the password hasher. Each repository sees
only its unit of work's tenant, as RLS makes the real ones do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from punchcard_gateway.domain.login import LoginPolicy, ThrottleKey, sliding_window
from punchcard_gateway.domain.model import (
    AdminUser,
    AuditEntry,
    Conflict,
    RefreshToken,
    Tenant,
)
from punchcard_gateway.service_layer.services import Services
from punchcard_gateway.service_layer.tokens import AccessTokens


@dataclass
class Store:
    tenants: dict[uuid.UUID, Tenant] = field(default_factory=dict)
    users: dict[uuid.UUID, AdminUser] = field(default_factory=dict)
    tokens: dict[uuid.UUID, RefreshToken] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    commits: int = 0


class _Repo:
    def __init__(self, data: dict, tenant_id: uuid.UUID | None) -> None:
        self.data, self.tenant_id = data, tenant_id

    def _mine(self):
        return [v for v in self.data.values() if v.tenant_id == self.tenant_id]


class FakeTenants(_Repo):
    async def add(self, tenant: Tenant) -> None:
        assert tenant.id == self.tenant_id
        self.data[tenant.id] = tenant

    async def get(self, tenant_id):
        t = self.data.get(tenant_id)
        return t if t and t.id == self.tenant_id else None


class FakeUsers(_Repo):
    def __init__(self, data, tenant_id, everyone) -> None:
        super().__init__(data, tenant_id)
        self.everyone = everyone

    async def add(self, user: AdminUser) -> None:
        assert user.tenant_id == self.tenant_id
        if any(u.email == user.email for u in self.everyone.values()):
            raise Conflict("an admin user with this email already exists", "email")
        self.data[user.id] = user

    async def get(self, user_id):
        return next((u for u in self._mine() if u.id == user_id), None)

    async def get_by_email(self, email):
        return next((u for u in self._mine() if u.email == email.lower()), None)

    async def list(self, offset, limit):
        rows = self._mine()
        return rows[offset : offset + limit], len(rows)

    async def update(self, user: AdminUser) -> None:
        assert user.tenant_id == self.tenant_id and user.id in self.data
        self.data[user.id] = user


class FakeTokens(_Repo):
    async def add(self, token: RefreshToken) -> None:
        self.data[token.id] = replace(token, tenant_id=self.tenant_id)

    async def get_by_hash_for_update(self, token_hash):
        return next((t for t in self._mine() if t.token_hash == token_hash), None)

    async def mark_used(self, token_id, at) -> None:
        self.data[token_id] = replace(self.data[token_id], used_at=at)

    async def revoke_family(self, family_id, at) -> None:
        for t in self._mine():
            if t.family_id == family_id and t.revoked_at is None:
                self.data[t.id] = replace(t, revoked_at=at)

    async def revoke_user(self, user_id, at) -> None:
        for t in self._mine():
            if t.user_id == user_id and t.revoked_at is None:
                self.data[t.id] = replace(t, revoked_at=at)


class FakeAudit:
    def __init__(self, rows: list[AuditEntry], tenant_id) -> None:
        self.rows, self.tenant_id = rows, tenant_id

    async def add(self, entry: AuditEntry) -> None:
        assert entry.tenant_id in (None, self.tenant_id)
        self.rows.append(entry)

    async def list(self, offset, limit, actor, action):
        rows = [
            e
            for e in self.rows
            if e.tenant_id == self.tenant_id
            and (actor is None or e.actor_id == actor)
            and (action is None or e.action == action)
        ]
        return rows[offset : offset + limit], len(rows)


class FakeDirectory:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def tenant_of_email(self, email):
        return next((u.tenant_id for u in self.store.users.values() if u.email == email), None)

    async def tenant_of_refresh_token(self, token_hash):
        return next(
            (t.tenant_id for t in self.store.tokens.values() if t.token_hash == token_hash), None
        )


class FakeUnitOfWork:
    """Changes are staged on copies and land in the store only on commit."""

    def __init__(self, store: Store, tenant_id: uuid.UUID | None) -> None:
        self.store, self.tenant_id = store, tenant_id

    async def __aenter__(self) -> FakeUnitOfWork:
        self._tenants = dict(self.store.tenants)
        self._users = dict(self.store.users)
        self._tokens = dict(self.store.tokens)
        self._audit = list(self.store.audit)
        self.tenants = FakeTenants(self._tenants, self.tenant_id)
        self.users = FakeUsers(self._users, self.tenant_id, self._users)
        self.refresh_tokens = FakeTokens(self._tokens, self.tenant_id)
        self.audit = FakeAudit(self._audit, self.tenant_id)
        self.directory = FakeDirectory(self.store)
        return self

    async def __aexit__(self, *exc) -> None:
        pass

    async def commit(self) -> None:
        self.store.tenants, self.store.users = self._tenants, self._users
        self.store.tokens, self.store.audit = self._tokens, self._audit
        self.store.commits += 1


class FakeHasher:
    def __init__(self, outdated: bool = False) -> None:
        self.verified: list[str] = []
        self.burnt = 0
        self.outdated = outdated

    async def hash(self, password: str) -> str:
        return "fake$" + password[::-1]

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return password_hash == "fake$" + password[::-1]

    async def burn(self, password: str) -> None:
        self.burnt += 1

    def needs_rehash(self, password_hash: str) -> bool:
        return self.outdated


class FakeThrottle:
    """The sliding-window rule over in-memory counters (the Redis adapter runs it in Lua)."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.hits: dict[str, dict[str, float]] = {}
        self.next_slot = 0

    async def take(self, keys: list[ThrottleKey], window_s: int) -> tuple[float, str]:
        now = self.clock.seconds()
        wait = max(
            sliding_window(list(self.hits.get(k.key, {}).values()), now, k.limit, window_s)
            for k in keys
        )
        if wait:
            return wait, ""
        self.next_slot += 1
        slot = str(self.next_slot)
        for k in keys:
            self.hits.setdefault(k.key, {})[slot] = now
        return 0.0, slot

    async def give_back(self, keys: list[ThrottleKey], slot: str) -> None:
        for k in keys:
            self.hits.get(k.key, {}).pop(slot, None)

    async def clear(self, key: str) -> None:
        self.hits.pop(key, None)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def seconds(self) -> float:
        return self.now.timestamp()


def services(
    store: Store | None = None,
    hasher: FakeHasher | None = None,
    clock=None,
    policy: LoginPolicy | None = None,
):
    store = store or Store()
    clock = clock or FakeClock()
    s = Services(
        uow=lambda tenant_id: FakeUnitOfWork(store, tenant_id),
        hasher=hasher or FakeHasher(),
        access_tokens=AccessTokens("k" * 40, clock=clock.seconds),
        throttle=FakeThrottle(clock),
        login_policy=policy or LoginPolicy(),
        now=clock,
    )
    return s, store, clock
