"""What the use cases need, built once by the composition root (``main.build_app``) from real
adapters, or by a unit test from fakes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ..domain.login import LoginPolicy, ThrottleKey
from .tokens import REFRESH_TOKEN_TTL_S, AccessTokens
from .unit_of_work import UnitOfWorkFactory


class Hasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    async def burn(self, password: str) -> None: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class LoginThrottle(Protocol):
    """Sliding-window counters of failed logins (domain.login.sliding_window)."""

    async def take(self, keys: Sequence[ThrottleKey], window_s: int) -> tuple[float, str]:
        """Takes a slot in every counter and answers ``(0, slot)``, or, when any counter is
        full, takes none and answers ``(seconds to wait, "")``."""

    async def give_back(self, keys: Sequence[ThrottleKey], slot: str) -> None:
        """The attempt succeeded: its slot no longer counts."""

    async def clear(self, key: str) -> None:
        """Forget a counter (an admin unlocked the account)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    uow: UnitOfWorkFactory
    hasher: Hasher
    access_tokens: AccessTokens
    # Failed-login counters (Redis); the composition root always gives one.
    throttle: LoginThrottle | None = None
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    refresh_ttl_s: int = REFRESH_TOKEN_TTL_S
    now: Callable[[], datetime] = field(default=utc_now)
