"""Periodic jobs inside a service (pruning, reconciling): one supervised loop per job.

``run_periodically(name, job, every_s=…, stopping=…)`` awaits ``job()`` every ``every_s``
seconds (the first time after ``first_after_s``) until ``stopping`` is set. A job that raises
is logged (its name and error type) and tried again at its next turn; it never ends the loop,
nor the service. Several replicas each run their own loop: a job must be safe to run at once
in two places (row locks, conditional updates)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .logging import get_logger

log = get_logger(__name__)


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
