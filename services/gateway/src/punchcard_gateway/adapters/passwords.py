"""Admin passwords: argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile: t=3,
m=64 MiB, p=4), hashed and verified in worker threads so the event loop keeps serving.

Each hash costs 64 MiB, so at most ``max_concurrent`` run at once, on a pool of exactly that
many threads (never the loop's default executor). A request that finds every slot taken
waits up to ``wait_s`` for one, then gets ``Busy`` (503 with Retry-After): memory stays
bounded whatever the flood."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..domain.login import Busy


class PasswordHasher:
    def __init__(
        self,
        hasher: argon2.PasswordHasher | None = None,
        *,
        max_concurrent: int = 2,
        wait_s: float = 3.0,
    ) -> None:
        self._hasher = hasher or argon2.PasswordHasher()
        self._dummy: str | None = None
        self._max = max_concurrent
        self._wait_s = wait_s
        self._slots: asyncio.Semaphore | None = None
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="argon2")

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(self._verify, password_hash, password)

    async def burn(self, password: str) -> None:
        """The same work as a real check, for an e-mail that does not exist: a failed login
        takes as long whether or not the e-mail is known."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    @property
    def in_use(self) -> int:
        """Hashes running now (for tests and metrics)."""
        return 0 if self._slots is None else self._max - self._slots._value

    async def _run(self, fn: Any, *args: str) -> Any:
        if self._slots is None:  # made on the loop that uses it
            self._slots = asyncio.Semaphore(self._max)
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait_s)
        except TimeoutError:
            raise Busy() from None
        slots = self._slots
        try:
            running = asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except BaseException:
            slots.release()
            raise
        # The slot is free when the hash is done, even if the request gave up waiting.
        running.add_done_callback(lambda _: slots.release())
        return await asyncio.shield(running)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
