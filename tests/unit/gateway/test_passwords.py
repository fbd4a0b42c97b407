"""Password hashing is bounded: at most ``max_concurrent`` argon2 runs at once (each costs
64 MiB), on a pool of its own; a request finding every slot taken waits briefly, then Busy."""

import asyncio
import threading

import argon2
import pytest
from punchcard_gateway.adapters.passwords import PasswordHasher
from punchcard_gateway.domain.login import Busy


async def until(condition) -> None:
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("never happened")


class HeldHasher(argon2.PasswordHasher):
    """verify() blocks until released, so a test can hold every slot."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8 * 1024, parallelism=1)
        self.release = threading.Event()
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def verify(self, hash, password):  # noqa: A002 - argon2's signature
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.release.wait(30)
        with self.lock:
            self.running -= 1
        return True


async def test_excess_hashing_waits_then_is_refused_busy_and_never_exceeds_the_bound():
    held = HeldHasher()
    hasher = PasswordHasher(held, max_concurrent=2, wait_s=0.05)
    first = [asyncio.create_task(hasher.verify("h", "p")) for _ in range(2)]
    await until(lambda: hasher.in_use == 2)
    with pytest.raises(Busy):
        await hasher.verify("h", "p")
    held.release.set()
    assert await asyncio.gather(*first) == [True, True]
    assert held.most == 2


async def test_a_waiting_request_gets_the_slot_freed_in_time():
    held = HeldHasher()
    hasher = PasswordHasher(held, max_concurrent=1, wait_s=30)
    first = asyncio.create_task(hasher.verify("h", "p"))
    await until(lambda: hasher.in_use == 1)
    second = asyncio.create_task(hasher.verify("h", "p"))
    held.release.set()
    assert await asyncio.gather(first, second) == [True, True]
    assert held.most == 1


async def test_a_request_that_gives_up_keeps_its_slot_until_the_hash_is_done():
    held = HeldHasher()
    hasher = PasswordHasher(held, max_concurrent=1, wait_s=0.05)
    first = asyncio.create_task(hasher.verify("h", "p"))
    await until(lambda: hasher.in_use == 1)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    # The thread still hashes: its slot is still taken.
    assert hasher.in_use == 1
    with pytest.raises(Busy):
        await hasher.verify("h", "p")
    held.release.set()
    await until(lambda: hasher.in_use == 0)
    assert await hasher.verify("h", "p") is True
