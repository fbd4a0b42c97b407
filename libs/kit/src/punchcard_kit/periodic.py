"""Periodic jobs inside a service (pruning, reconciling): one supervised loop per job.

``Interval(every_s)``: for work done inline at most every ``every_s`` (a loop's own
housekeeping), due at once the first time.

``run_periodically(name, job, every_s=…, stopping=…)`` awaits ``job()`` every ``every_s``
seconds (the first time after ``first_after_s``) until ``stopping`` is set. A job that raises
is logged (its name and error type) and tried again at its next turn; it never ends the loop,
nor the service. Several replicas each run their own loop: a job must be safe to run at once
in two places (row locks, conditional updates)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from .logging import get_logger

log = get_logger(__name__)


class Interval:
    """At most once every ``every_s`` of the monotonic clock; due at once the first time and
    after ``soon()``. "Never" is ``None``, not 0.0: the monotonic clock counts from the
    machine's boot, so on a machine up for less than ``every_s`` a 0.0 start was recent."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._last: float | None = None

    def due(self) -> bool:
        return self._last is None or time.monotonic() - self._last >= self.every_s

    def done(self) -> None:
        self._last = time.monotonic()

    def soon(self) -> None:
        self._last = None


async def run_periodically(
    name: str,
    job: Callable[[], Awaitable[object]],
    *,
    every_s: float,
    stopping: asyncio.Event,
    first_after_s: float | None = None,
) -> None:
    delay = every_s if first_after_s is None else first_after_s
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), max(delay, 0.0))
            return
        except TimeoutError:
            pass
        delay = every_s
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - tried again at the next turn
            log.warning(
                "periodic job failed; trying again at its next turn",
                job=name,
                error=type(error).__name__,
                retry_in_s=every_s,
            )
