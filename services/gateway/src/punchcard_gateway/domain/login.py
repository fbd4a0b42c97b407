"""The rules that bound online password guessing at the admin login (pure, no I/O).

Two defences, each in one function below:

- **Throttle** (``sliding_window``): failed logins are counted per account (the e-mail typed,
  known or not, so an unknown e-mail answers exactly like a known one) and per client address,
  in a sliding window. An attempt takes a slot *before* any password work and gives it back
  when it succeeds, so a burst of parallel guesses cannot outrun the count. Over the limit the
  answer is 429 with ``Retry-After``: the seconds until the oldest counted failure leaves the
  window. The Redis adapter runs the same rule atomically (one Lua script over sorted sets).
- **Lock** (``after_failure``, ``is_locked``): consecutive wrong passwords of one existing
  account lock it for a while; a locked account is refused even with the right password (the
  same 401, after the same password work) until it expires or a sysadmin unlocks it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import TooManyRequests, Unavailable


@dataclass(frozen=True)
class LoginPolicy:
    window_s: int = 900
    max_failures_per_account: int = 5
    max_failures_per_client: int = 30
    lock_after_failures: int = 10
    lock_s: int = 3600


@dataclass(frozen=True)
class ThrottleKey:
    """One counter and its limit. The account's key is a hash of the e-mail: no e-mail is
    ever written to Redis."""

    key: str
    limit: int


def throttle_keys(email: str, client_ip: str | None, policy: LoginPolicy) -> list[ThrottleKey]:
    """The counters one login attempt takes a slot in."""
    keys = [ThrottleKey(account_key(email), policy.max_failures_per_account)]
    if client_ip:
        keys.append(ThrottleKey(f"client:{client_ip}", policy.max_failures_per_client))
    return keys


def account_key(email: str) -> str:
    return f"account:{hashlib.sha256(email.encode()).hexdigest()}"


def sliding_window(hits: Sequence[float], now: float, limit: int, window_s: float) -> float:
    """0 when one more attempt fits in the window (``hits`` are the times of the counted
    attempts), otherwise the seconds until the oldest counted attempt leaves it."""
    live = sorted(t for t in hits if t > now - window_s)
    if len(live) < limit:
        return 0.0
    return max(live[len(live) - limit] + window_s - now, 0.001)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, never 0 (``Retry-After: 0`` would invite an immediate retry)."""
    return str(max(1, int(seconds + 0.999)))


@dataclass(frozen=True)
class FailureOutcome:
    failed_logins: int
    locked_until: datetime | None
    locked_now: bool


def after_failure(
    failed_logins: int, locked_until: datetime | None, now: datetime, policy: LoginPolicy
) -> FailureOutcome:
    """A wrong password for an existing, unlocked account: one more consecutive failure; at
    ``lock_after_failures`` the account locks for ``lock_s`` and the count starts again."""
    count = failed_logins + 1
    if count >= policy.lock_after_failures:
        return FailureOutcome(0, now + timedelta(seconds=policy.lock_s), True)
    return FailureOutcome(count, locked_until, False)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


class TooManyAttempts(TooManyRequests):
    """429: too many failed logins for this account or from this address."""

    code = "TOO_MANY_REQUESTS"

    def __init__(self, retry_after_s: float) -> None:
        # Whole seconds by ``retry_after_header``'s rule: the kit's Retry-After keeps them.
        super().__init__(
            "too many failed sign-in attempts; try again later",
            retry_after_s=float(retry_after_header(retry_after_s)),
        )


class Busy(Unavailable):
    """503: every password-hashing slot is taken and none freed up in time."""

    code = "BUSY"

    def __init__(self) -> None:
        super().__init__("the server is busy; try again in a moment")
