"""Wake the requests a clock holds open when its queue changes, on every replica.

Issuers ``NOTIFY punchcard_clock_commands`` with the clock ids in the transaction that queued
the commands (PostgreSQL delivers it at commit, to every listening replica). Each replica
keeps one listening connection and a map clock id → open requests. ``r:<clock id>`` means the
clock's credential changed (revoked or rotated): cached authentications are dropped too.

A lost listening connection may have missed notifications: every open request is woken (it
re-reads its queue) and the listener reconnects with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import asyncpg
from punchcard_kit.logging import get_logger
from punchcard_kit.retry import Backoff

from .postgres import WAKE_CHANNEL

log = get_logger(__name__)


class ClockWakeups:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._on_credential_change: list[Callable[[str], None]] = []
        self._on_queue_change: list[Callable[[str | None], None]] = []
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._stopping = asyncio.Event()
        self.connected = False

    def on_credential_change(self, forget: Callable[[str], None]) -> None:
        """Call ``forget(clock_id)`` when a clock's credential is revoked or rotated."""
        self._on_credential_change.append(forget)

    def on_queue_change(self, changed: Callable[[str | None], None]) -> None:
        """Call ``changed(clock_id)`` when a clock's queue (or credential) changed, and
        ``changed(None)`` when notifications may have been missed (a lost listener)."""
        self._on_queue_change.append(changed)

    @contextmanager
    def waiter(self, clock_id: str) -> Iterator[asyncio.Event]:
        """Register before reading the queue, then wait: nothing queued in between is missed."""
        event = asyncio.Event()
        self._waiters.setdefault(clock_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(clock_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[clock_id]

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def held(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def wake_all(self) -> None:
        for changed in self._on_queue_change:
            changed(None)
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    def _notified(self, _conn, _pid, _channel, payload: str) -> None:
        for item in payload.split(","):
            if item.startswith("r:"):
                item = item[2:]
                for forget in self._on_credential_change:
                    forget(item)
            for changed in self._on_queue_change:
                changed(item)
            for event in self._waiters.get(item, ()):
                event.set()

    def _terminated(self, _conn) -> None:
        self._lost.set()

    async def run(self) -> None:
        backoff = Backoff(0.2, 5)
        while not self._stopping.is_set():
            try:
                conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as error:
                delay = backoff.delay()
                log.warning(
                    "cannot listen for clock commands; retrying",
                    error=type(error).__name__,
                    retry_in_s=round(delay, 2),
                )
                await self._sleep(delay)
                continue
            self._conn = conn
            self._lost.clear()
            conn.add_termination_listener(self._terminated)
            await conn.add_listener(WAKE_CHANNEL, self._notified)
            self.connected = True
            backoff.reset()
            self.wake_all()  # anything queued while we were not listening
            stop = asyncio.create_task(self._stopping.wait())
            lost = asyncio.create_task(self._lost.wait())
            await asyncio.wait({stop, lost}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            lost.cancel()
            self.connected = False
            if not self._stopping.is_set():
                log.warning("lost the clock-commands listener; reconnecting")
            self.wake_all()
            try:
                await conn.close(timeout=2)
            except Exception:  # noqa: BLE001
                conn.terminate()

    async def _sleep(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except TimeoutError:
            pass

    def stop(self) -> None:
        self._stopping.set()
        self.wake_all()
