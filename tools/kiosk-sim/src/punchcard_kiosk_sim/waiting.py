"""Polling waits for tests and benchmarks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


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


async def wait_for_all(
    items: Callable[[], Sequence[T]],
    predicate: Callable[[T], bool],
    timeout: float,
    interval: float,
    what: str,
    noun: str = "items",
) -> None:
    """Until predicate(item) holds for every one of items(); the TimeoutError names how many
    (and the first few) still do not."""

    def lagging() -> list[T]:
        return [item for item in items() if not predicate(item)]

    def describe() -> str:
        late = lagging()
        return f"{what}: {len(late)}/{len(items())} {noun} not there, e.g. {late[:3]}"

    await wait_for_condition(lambda: not lagging(), timeout, interval, describe)
