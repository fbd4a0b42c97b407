"""The pure rules bounding online password guessing (domain/login.py)."""

from datetime import UTC, datetime, timedelta

from punchcard_gateway.domain.login import (
    LoginPolicy,
    after_failure,
    is_locked,
    retry_after_header,
    sliding_window,
    throttle_keys,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_the_window_admits_until_the_limit_then_says_when_the_oldest_leaves():
    assert sliding_window([], 100.0, 3, 60) == 0
    assert sliding_window([50.0, 60.0], 100.0, 3, 60) == 0
    # Full: the oldest counted (50) leaves at 110.
    assert sliding_window([50.0, 60.0, 70.0], 100.0, 3, 60) == 10.0
    # Hits older than the window no longer count.
    assert sliding_window([10.0, 20.0, 60.0, 70.0], 100.0, 3, 60) == 0
    # Over the limit (a burst counted together): wait for enough of them to leave.
    assert sliding_window([50.0, 55.0, 60.0, 70.0], 100.0, 3, 60) == 15.0


def test_retry_after_is_whole_seconds_never_zero():
    assert retry_after_header(0.001) == "1"
    assert retry_after_header(10.0) == "10"
    assert retry_after_header(10.2) == "11"


def test_an_attempt_counts_for_its_account_and_its_client_and_no_email_is_stored():
    policy = LoginPolicy(max_failures_per_account=5, max_failures_per_client=30)
    account, client = throttle_keys("ana@example.com", "198.51.100.4", policy)
    assert account.limit == 5 and "ana@example.com" not in account.key
    assert client.key == "client:198.51.100.4" and client.limit == 30
    # The same key for an e-mail whether or not it exists: nothing here knows.
    assert throttle_keys("ana@example.com", None, policy) == [account]


def test_consecutive_failures_lock_the_account_at_the_threshold():
    policy = LoginPolicy(lock_after_failures=3, lock_s=600)
    first = after_failure(0, None, NOW, policy)
    assert (first.failed_logins, first.locked_until, first.locked_now) == (1, None, False)
    second = after_failure(1, None, NOW, policy)
    assert not second.locked_now and second.failed_logins == 2
    third = after_failure(2, None, NOW, policy)
    assert third.locked_now and third.locked_until == NOW + timedelta(seconds=600)
    assert third.failed_logins == 0


def test_a_lock_holds_until_it_expires():
    until = NOW + timedelta(minutes=10)
    assert is_locked(until, NOW)
    assert not is_locked(until, until)
    assert not is_locked(None, NOW)
