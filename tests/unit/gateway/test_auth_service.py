"""Login, refresh rotation and reuse detection, and admin-user rules, on fakes."""

import hashlib

import pytest
from punchcard_gateway.domain.model import (
    Invalid,
    InvalidCredentials,
    InvalidRefreshToken,
    Role,
)
from punchcard_gateway.service_layer import auth, users

from .fakes import FakeHasher, services

PASSWORD = "correct horse battery"


async def _tenant(s, email="boss@example.com"):
    tenant, admin = await users.create_tenant(
        s, users.CreateTenant(name="Acme", admin_email=email, admin_password=PASSWORD)
    )
    return tenant, admin


async def test_login_issues_an_access_token_and_stores_only_the_refresh_hash():
    s, store, _ = services()
    _, admin = await _tenant(s)
    issued = await auth.login(s, "  BOSS@example.com ", PASSWORD)
    assert issued.user.id == admin.id
    assert s.access_tokens.verify(issued.access_token) == admin.principal()
    assert issued.expires_in == 900
    [stored] = store.tokens.values()
    assert stored.token_hash == hashlib.sha256(issued.refresh_token.encode()).digest()
    assert (stored.expires_at - stored.issued_at).days == 14
    assert issued.refresh_token not in repr(store)


async def test_unknown_email_does_the_same_password_work_and_says_the_same():
    hasher = FakeHasher()
    s, _, _ = services(hasher=hasher)
    _, admin = await _tenant(s)
    with pytest.raises(InvalidCredentials) as unknown:
        await auth.login(s, "ghost@example.com", PASSWORD)
    assert hasher.burnt == 1
    assert unknown.value.tenant_id is None and unknown.value.user_id is None
    with pytest.raises(InvalidCredentials) as wrong:
        await auth.login(s, admin.email, "wrong password!")
    assert str(wrong.value) == str(unknown.value) == "incorrect email or password"
    assert wrong.value.tenant_id == admin.tenant_id and wrong.value.user_id == admin.id


async def test_an_inactive_admin_is_refused_after_the_password_check():
    hasher = FakeHasher()
    s, store, _ = services(hasher=hasher)
    _, admin = await _tenant(s)
    store.users[admin.id] = admin.changed(active=False)
    with pytest.raises(InvalidCredentials):
        await auth.login(s, admin.email, PASSWORD)
    assert hasher.verified == [admin.password_hash]


async def test_an_outdated_hash_is_upgraded_at_login():
    s, store, _ = services(hasher=FakeHasher(outdated=True))
    _, admin = await _tenant(s)
    store.users[admin.id] = admin.changed(password_hash="fake$" + PASSWORD[::-1])
    await auth.login(s, admin.email, PASSWORD)
    assert store.commits >= 2


async def test_refresh_rotates_within_the_family():
    s, store, clock = services()
    _, admin = await _tenant(s)
    first = await auth.login(s, admin.email, PASSWORD)
    clock.advance(days=13)
    second = await auth.refresh(s, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    old, new = sorted(store.tokens.values(), key=lambda t: t.issued_at)
    assert old.used_at == clock.now and new.used_at is None
    assert old.family_id == new.family_id
    assert (new.expires_at - clock.now).days == 14
    # The rotated token keeps working after the first would have expired.
    clock.advance(days=2)
    await auth.refresh(s, second.refresh_token)


async def test_reusing_a_spent_token_revokes_the_whole_family():
    s, store, _ = services()
    _, admin = await _tenant(s)
    first = await auth.login(s, admin.email, PASSWORD)
    elsewhere = await auth.login(s, admin.email, PASSWORD)
    second = await auth.refresh(s, first.refresh_token)
    with pytest.raises(InvalidRefreshToken) as reuse:
        await auth.refresh(s, first.refresh_token)
    assert reuse.value.user_id == admin.id
    with pytest.raises(InvalidRefreshToken):
        await auth.refresh(s, second.refresh_token)
    family = {t.family_id for t in store.tokens.values() if t.revoked_at is not None}
    assert len(family) == 1
    await auth.refresh(s, elsewhere.refresh_token)  # another login's family lives on


async def test_expired_unknown_and_deactivated_refresh_tokens_are_refused():
    s, store, clock = services()
    _, admin = await _tenant(s)
    issued = await auth.login(s, admin.email, PASSWORD)
    with pytest.raises(InvalidRefreshToken):
        await auth.refresh(s, "never-issued")
    clock.advance(days=14)
    with pytest.raises(InvalidRefreshToken):
        await auth.refresh(s, issued.refresh_token)

    fresh = await auth.login(s, admin.email, PASSWORD)
    store.users[admin.id] = admin.changed(active=False)
    with pytest.raises(InvalidRefreshToken):
        await auth.refresh(s, fresh.refresh_token)
    assert all(t.revoked_at for t in store.tokens.values() if t.expires_at > clock.now)


async def test_deactivating_an_admin_revokes_their_refresh_tokens():
    s, store, _ = services()
    _, admin = await _tenant(s)
    viewer = await users.create_user(
        s,
        admin.principal(),
        users.CreateUser(email="v@example.com", name="V", role=Role.VIEWER, password=PASSWORD),
    )
    issued = await auth.login(s, viewer.email, PASSWORD)
    await users.update_user(s, admin.principal(), viewer.id, users.UpdateUser(active=False))
    with pytest.raises(InvalidRefreshToken):
        await auth.refresh(s, issued.refresh_token)


async def test_a_sysadmin_cannot_lock_themselves_out():
    s, _, _ = services()
    _, admin = await _tenant(s)
    with pytest.raises(Invalid) as role:
        await users.update_user(s, admin.principal(), admin.id, users.UpdateUser(role=Role.VIEWER))
    assert role.value.field == "role"
    with pytest.raises(Invalid) as active:
        await users.update_user(s, admin.principal(), admin.id, users.UpdateUser(active=False))
    assert active.value.field == "active"
    # Renaming oneself is fine.
    renamed = await users.update_user(
        s, admin.principal(), admin.id, users.UpdateUser(name="The Boss")
    )
    assert renamed.name == "The Boss"
