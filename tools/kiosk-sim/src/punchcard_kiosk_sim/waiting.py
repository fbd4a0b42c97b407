"""Polling waits for tests and benchmarks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_for_condition(
    condition: Callable[[], bool],
    timeout: float,
    interval: float,
    describe: Callable[[], str],
) -> None:
    """Return as soon as condition() is true; TimeoutError with describe() after timeout s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not reached within {timeout} s: {describe()}")
        await asyncio.sleep(interval)
