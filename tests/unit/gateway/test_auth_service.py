"""Login, refresh rotation and reuse detection, and admin-user rules, on fakes."""

import hashlib
from datetime import timedelta

import pytest
from punchcard_gateway.domain.login import LoginPolicy, TooManyAttempts
from punchcard_gateway.domain.model import (
    Forbidden,
    Invalid,
    InvalidCredentials,
    InvalidRefreshToken,
    Role,
    WrongPassword,
    own_account_refusal,
    sites_refusal,
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
    # A 403: the request is valid (its schema allows it), this caller may not make it.
    with pytest.raises(Forbidden) as role:
        await users.update_user(s, admin.principal(), admin.id, users.UpdateUser(role=Role.VIEWER))
    assert (role.value.code, role.value.field) == ("OWN_ACCOUNT", "role")
    with pytest.raises(Forbidden) as active:
        await users.update_user(s, admin.principal(), admin.id, users.UpdateUser(active=False))
    assert (active.value.code, active.value.field) == ("OWN_ACCOUNT", "active")
    # Renaming oneself is fine.
    renamed = await users.update_user(
        s, admin.principal(), admin.id, users.UpdateUser(name="The Boss")
    )
    assert renamed.name == "The Boss"


async def test_a_manager_has_at_least_one_site():
    s, _, _ = services()
    _, admin = await _tenant(s)

    def manager(sites=()):
        return users.CreateUser(
            email="m@example.com", name="M", role=Role.MANAGER, password=PASSWORD, site_ids=sites
        )

    with pytest.raises(Invalid) as none:
        await users.create_user(s, admin.principal(), manager())
    assert none.value.field == "site_ids"
    made = await users.create_user(s, admin.principal(), manager(("north",)))
    with pytest.raises(Invalid):
        await users.update_user(s, admin.principal(), made.id, users.UpdateUser(site_ids=()))
    viewer = users.UpdateUser(role=Role.VIEWER, site_ids=())
    assert (await users.update_user(s, admin.principal(), made.id, viewer)).role is Role.VIEWER
    with pytest.raises(Invalid):  # a viewer of no site made a manager, still of no site
        await users.update_user(s, admin.principal(), made.id, users.UpdateUser(role=Role.MANAGER))


async def test_an_admin_changes_their_own_password_with_the_current_one():
    s, store, _ = services()
    _, admin = await _tenant(s)
    elsewhere = await auth.login(s, admin.email, PASSWORD)
    with pytest.raises(WrongPassword) as wrong:
        await auth.change_own_password(s, admin.principal(), "not it", "a new passphrase")
    assert (wrong.value.code, wrong.value.field) == ("WRONG_PASSWORD", "current_password")
    assert store.users[admin.id].failed_logins == 1  # the same guess as a login's
    issued = await auth.change_own_password(s, admin.principal(), PASSWORD, "a new passphrase")
    assert issued.access_token and issued.refresh_token
    with pytest.raises(InvalidCredentials):
        await auth.login(s, admin.email, PASSWORD)
    # Every other session ends; this one goes on with its new tokens.
    with pytest.raises(InvalidRefreshToken):
        await auth.refresh(s, elsewhere.refresh_token)
    assert (await auth.refresh(s, issued.refresh_token)).user.id == admin.id
    assert (await auth.login(s, admin.email, "a new passphrase")).user.id == admin.id


async def test_a_sysadmin_gives_another_admin_a_new_password_but_not_themselves():
    s, store, _ = services()
    _, admin = await _tenant(s)
    viewer = await users.create_user(
        s,
        admin.principal(),
        users.CreateUser(email="v@example.com", name="V", role=Role.VIEWER, password=PASSWORD),
    )
    signed_in = await auth.login(s, viewer.email, PASSWORD)
    store.users[viewer.id] = store.users[viewer.id].changed(failed_logins=9)
    reset = await users.set_password(s, admin.principal(), viewer.id, "given by the boss")
    assert reset.failed_logins == 0 and reset.locked_until is None
    with pytest.raises(InvalidRefreshToken):  # their sessions end
        await auth.refresh(s, signed_in.refresh_token)
    assert (await auth.login(s, viewer.email, "given by the boss")).user.id == viewer.id
    with pytest.raises(Forbidden) as own:
        await users.set_password(s, admin.principal(), admin.id, "no current one asked")
    assert (own.value.code, own.value.field) == ("OWN_ACCOUNT", "password")


def test_sites_refusal():
    assert sites_refusal(Role.MANAGER, ()).field == "site_ids"
    assert sites_refusal(Role.MANAGER, ("north",)) is None
    assert sites_refusal(Role.VIEWER, ()) is None and sites_refusal(Role.SYSADMIN, ()) is None


def test_own_account_refusal():
    assert own_account_refusal(changes_role=False, deactivates=False) is None
    assert own_account_refusal(changes_role=True, deactivates=True).field == "role"
    refusal = own_account_refusal(changes_role=False, deactivates=True)
    assert (type(refusal), refusal.code, refusal.field) == (Forbidden, "OWN_ACCOUNT", "active")
    assert own_account_refusal(sets_password=True).field == "password"


# --- throttle and lock (domain/login.py) ----------------------------------------------------


async def test_failed_logins_over_the_account_window_are_refused_before_any_password_work():
    hasher = FakeHasher()
    s, _, clock = services(hasher=hasher, policy=LoginPolicy(max_failures_per_account=3))
    await _tenant(s)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await auth.login(s, "boss@example.com", "wrong", auth.Client(ip="10.0.0.1"))
    checked = len(hasher.verified)
    with pytest.raises(TooManyAttempts) as refused:
        await auth.login(s, "boss@example.com", PASSWORD, auth.Client(ip="10.0.0.2"))
    assert 0 < refused.value.retry_after_s <= 900
    assert len(hasher.verified) == checked  # no argon2 work for a refused attempt
    clock.advance(seconds=901)
    assert (await auth.login(s, "boss@example.com", PASSWORD)).user is not None


async def test_an_unknown_email_is_throttled_exactly_like_a_known_one():
    s, _, _ = services(policy=LoginPolicy(max_failures_per_account=2))
    await _tenant(s)
    answers = {}
    for email in ("boss@example.com", "nobody@example.com"):
        for _ in range(2):
            with pytest.raises(InvalidCredentials) as error:
                await auth.login(s, email, "wrong")
            assert error.value.message == InvalidCredentials.MESSAGE
        with pytest.raises(TooManyAttempts) as error:
            await auth.login(s, email, "wrong")
        answers[email] = (type(error.value), error.value.message)
    assert answers["boss@example.com"] == answers["nobody@example.com"]


async def test_successes_do_not_fill_the_window():
    s, _, _ = services(policy=LoginPolicy(max_failures_per_account=2, max_failures_per_client=2))
    await _tenant(s)
    for _ in range(5):
        await auth.login(s, "boss@example.com", PASSWORD, auth.Client(ip="10.0.0.1"))


async def test_the_client_window_spans_accounts():
    s, _, _ = services(policy=LoginPolicy(max_failures_per_client=3))
    await _tenant(s)
    for n in range(3):
        with pytest.raises(InvalidCredentials):
            await auth.login(s, f"guess{n}@example.com", "wrong", auth.Client(ip="10.0.0.9"))
    with pytest.raises(TooManyAttempts):
        await auth.login(s, "boss@example.com", PASSWORD, auth.Client(ip="10.0.0.9"))
    # Another client is not affected.
    await auth.login(s, "boss@example.com", PASSWORD, auth.Client(ip="10.0.0.10"))


async def test_repeated_failures_lock_the_account_with_an_audit_row_until_unlocked():
    policy = LoginPolicy(max_failures_per_account=100, lock_after_failures=3, lock_s=600)
    hasher = FakeHasher()
    s, store, clock = services(hasher=hasher, policy=policy)
    _, admin = await _tenant(s)
    client = auth.Client(ip="198.51.100.7", user_agent="UA", request_id="r1")
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await auth.login(s, "boss@example.com", "wrong", client)
    assert store.users[admin.id].locked_until == clock() + timedelta(seconds=600)
    [lock] = [e for e in store.audit if e.action == auth.LOCK_ACTION]
    assert lock.target_id == str(admin.id) and lock.status_code == 423
    assert lock.client_ip == "198.51.100.7" and lock.actor_id is None
    # The right password is refused, with the same answer and the same work.
    burnt = hasher.burnt
    with pytest.raises(InvalidCredentials) as refused:
        await auth.login(s, "boss@example.com", PASSWORD)
    assert refused.value.message == InvalidCredentials.MESSAGE and hasher.burnt == burnt + 1
    unlocked = await users.unlock_user(s, admin.principal(), admin.id)
    assert unlocked.locked_until is None and unlocked.failed_logins == 0
    assert (await auth.login(s, "boss@example.com", PASSWORD)).user.id == admin.id


async def test_a_lock_expires_and_a_success_resets_the_count():
    policy = LoginPolicy(max_failures_per_account=100, lock_after_failures=3, lock_s=600)
    s, store, clock = services(policy=policy)
    _, admin = await _tenant(s)
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await auth.login(s, "boss@example.com", "wrong")
    await auth.login(s, "boss@example.com", PASSWORD)
    assert store.users[admin.id].failed_logins == 0
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await auth.login(s, "boss@example.com", "wrong")
    clock.advance(seconds=601)
    assert (await auth.login(s, "boss@example.com", PASSWORD)).user is not None


async def test_logout_revokes_the_whole_family():
    s, store, _ = services()
    _, admin = await _tenant(s)
    first = await auth.login(s, "boss@example.com", PASSWORD)
    second = await auth.refresh(s, first.refresh_token)
    other_login = await auth.login(s, "boss@example.com", PASSWORD)
    assert await auth.logout(s, second.refresh_token) == (admin.tenant_id, admin.id)
    with pytest.raises(InvalidRefreshToken):
        await auth.refresh(s, second.refresh_token)
    # Another login (another device) stays signed in.
    assert (await auth.refresh(s, other_login.refresh_token)).user is not None
    assert await auth.logout(s, "not-a-token") is None
