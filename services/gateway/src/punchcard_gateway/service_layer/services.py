"""What the use cases need, built once by the composition root (``main.build_app``) from real
adapters, or by a unit test from fakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from .tokens import REFRESH_TOKEN_TTL_S, AccessTokens
from .unit_of_work import UnitOfWorkFactory


class Hasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    async def burn(self, password: str) -> None: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    uow: UnitOfWorkFactory
    hasher: Hasher
    access_tokens: AccessTokens
    refresh_ttl_s: int = REFRESH_TOKEN_TTL_S
    now: Callable[[], datetime] = field(default=utc_now)
