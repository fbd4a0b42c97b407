"""Many simulated clocks in one process, on one HTTP session."""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

import aiohttp

from punchcard_kiosk_sim.clock import SimulatedClock
from punchcard_kiosk_sim.waiting import wait_for_all, wait_for_condition

log = logging.getLogger("punchcard_kiosk_sim")


def make_session(**kwargs: Any) -> aiohttp.ClientSession:
    """A ClientSession whose connector has no connection limit (limit=0), so that thousands of
    clocks can each hold a long-poll at once. Call it inside a running event loop."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), **kwargs)


def raise_fd_limit(wanted: int | None = None) -> int:
    """Raise the soft limit on open files towards the hard limit (each long-poll holds a socket).
    Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if wanted is None else wanted
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def count_states(members: Iterable[Any]) -> dict[str, int]:
    """How many members are in each `state`."""
    states: dict[str, int] = {}
    for member in members:
        states[member.state] = states.get(member.state, 0) + 1
    return states


def sum_counters(members: list[Any], keys: Iterable[str]) -> dict[str, int]:
    """Each counter summed over the members."""
    return {key: sum(getattr(m, key) for m in members) for key in keys}


class FleetLifecycle:
    """`async with` for a fleet: start() on entry, stop() on leaving, and the first crash of a
    member re-raised (when nothing else is being raised)."""

    crashed: list[tuple[Any, BaseException]]

    async def start(self) -> Any:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc is None and self.crashed:
            raise self.crashed[0][1]


def _credential_of(item: str | tuple[str, str]) -> str:
    return item if isinstance(item, str) else item[1]


class ClockFleet(FleetLifecycle):
    """N SimulatedClocks sharing one session.

    `credentials`: credential strings, or (clock_id, credential) pairs as register_clocks()
    returns them. Other keyword arguments go to every SimulatedClock (wait_s, on_command,
    fail_codes, history, ...). `ramp_s` spreads the clocks' first requests over that many
    seconds. Without `session` the fleet opens (and closes) its own, see make_session().

        async with ClockFleet(url, creds, wait_s=25) as fleet:
            await fleet.wait_all(lambda c: worker_id in c.roster, timeout=10)
    """

    def __init__(
        self,
        base_url: str,
        credentials: Iterable[str | tuple[str, str]],
        *,
        session: aiohttp.ClientSession | None = None,
        ramp_s: float = 0.0,
        **clock_opts: Any,
    ) -> None:
        self.base_url = base_url
        self.credentials = [_credential_of(c) for c in credentials]
        self.ramp_s = ramp_s
        self.clock_opts = clock_opts
        self.session = session
        self._own_session = session is None
        self.clocks: list[SimulatedClock] = []
        self.crashed: list[tuple[SimulatedClock, BaseException]] = []
        self._started = False

    def __len__(self) -> int:
        return len(self.clocks)

    def __iter__(self) -> Iterator[SimulatedClock]:
        return iter(self.clocks)

    def __getitem__(self, index: int) -> SimulatedClock:
        return self.clocks[index]

    def by_clock_id(self, clock_id: str) -> SimulatedClock:
        for clock in self.clocks:
            if clock.clock_id == clock_id:
                return clock
        raise KeyError(clock_id)

    async def start(self) -> ClockFleet:
        if self._started:
            raise RuntimeError("this fleet is already started")
        self._started = True
        if self.session is None:
            self.session = make_session()
        n = len(self.credentials)
        for i, credential in enumerate(self.credentials):
            clock = SimulatedClock(self.base_url, credential, self.session, **self.clock_opts)
            self.clocks.append(clock)
            clock.start(delay_s=self.ramp_s * i / n if n else 0.0)
        return self

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop every clock (each flushes its pending acks), then close the session if it is
        the fleet's own. Clocks still running after `timeout` are cancelled."""
        for clock in self.clocks:
            clock.stop()
        tasks = [c.task for c in self.clocks if c.task is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        for clock in self.clocks:
            task = clock.task
            if task is not None and not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                assert exc is not None
                if all(c is not clock for c, _ in self.crashed):
                    self.crashed.append((clock, exc))
                    log.error("clock %s crashed", clock.clock_id, exc_info=exc)
        if self._own_session and self.session is not None:
            await self.session.close()
            self.session = None

    async def wait_until(
        self,
        predicate: Callable[[ClockFleet], bool],
        timeout: float = 10.0,
        *,
        interval: float = 0.02,
        what: str = "",
    ) -> None:
        """Wait until predicate(fleet) is true; TimeoutError (with the fleet's stats) if not."""
        await wait_for_condition(
            lambda: predicate(self),
            timeout,
            interval,
            lambda: f"{what or predicate!r}: {self.stats()}",
        )

    async def wait_all(
        self,
        predicate: Callable[[SimulatedClock], bool],
        timeout: float = 10.0,
        *,
        interval: float = 0.02,
        what: str = "",
    ) -> None:
        """Wait until predicate(clock) holds for every clock; on timeout the TimeoutError names
        how many (and the first few) still do not."""
        await wait_for_all(
            lambda: self.clocks, predicate, timeout, interval, what or repr(predicate), "clocks"
        )

    async def wait_caught_up(self, timeout: float = 10.0) -> None:
        """Wait until every online, authorised clock has applied all the server reported."""
        await self.wait_all(
            lambda c: c.offline or c.unauthorized or c.caught_up, timeout, what="caught up"
        )

    def stats(self) -> dict[str, Any]:
        """Totals over the fleet."""
        states = count_states(self.clocks)
        total = sum_counters(
            self.clocks,
            (
                "requests",
                "responses",
                "errors",
                "commands_received",
                "commands_applied",
                "commands_failed",
                "duplicates",
                "acks_sent",
            ),
        )
        return {
            "clocks": len(self.clocks),
            "states": states,
            "caught_up": sum(1 for c in self.clocks if c.caught_up),
            "pending_acks": sum(len(c.pending_acks) for c in self.clocks),
            "roster_entries": sum(len(c.roster) for c in self.clocks),
            "crashed": len(self.crashed),
            **total,
        }
