"""Thousands of simulated ZK devices in one process: one shared keep-alive client
(http1.Http1Pool, a lean HTTP/1.1 client, so that the simulator's CPU does not crowd out the
services it measures; an aiohttp session may be given instead), at most `connections` cycles
in flight, and one scheduler (a heap of due times) that fires each device's cycle when it is
due. No task per device: a device costs memory, not a sleeping coroutine."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import aiohttp

from punchcard_kiosk_sim.fleet import FleetLifecycle, count_states, sum_counters
from punchcard_kiosk_sim.http1 import Http1Pool
from punchcard_kiosk_sim.waiting import wait_for_all, wait_for_condition
from punchcard_kiosk_sim.zk import Punch, ZkDevice

log = logging.getLogger("punchcard_kiosk_sim.zk")

POLL = "poll"
UPLOAD = "upload"


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile (0..1) of measured values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Latencies:
    """Milliseconds per request kind (poll, attlog, devicecmd, handshake, ...), plus the HTTP
    statuses seen. `reset()` starts a new measuring window."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.statuses: dict[str, dict[int, int]] = {}

    def record(self, kind: str, ms: float, status: int) -> None:
        self.samples.setdefault(kind, []).append(ms)
        counts = self.statuses.setdefault(kind, {})
        counts[status] = counts.get(status, 0) + 1

    def reset(self) -> None:
        self.samples = {}
        self.statuses = {}

    def summary(self, kind: str) -> dict[str, Any]:
        values = self.samples.get(kind, [])
        return {
            "n": len(values),
            "p50_ms": _round(percentile(values, 0.5)),
            "p99_ms": _round(percentile(values, 0.99)),
            "max_ms": _round(max(values) if values else None),
            "statuses": {str(k): v for k, v in sorted(self.statuses.get(kind, {}).items())},
        }

    def summaries(self) -> dict[str, dict[str, Any]]:
        return {kind: self.summary(kind) for kind in sorted(self.samples)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class ZkFleet(FleetLifecycle):
    """N ZkDevices sharing one session, driven by one scheduler.

    `serials`: serial numbers of registered ZK_PUSH clocks. `connections`: the pool size and the
    most cycles in flight at once (a cycle waiting for a slot counts as scheduler lateness, not
    as request latency). `ramp_s`: the first handshakes are spread uniformly over that many
    seconds (default: one poll interval). Polls are then spread over the Delay interval: each
    device keeps its phase, with `jitter` (a fraction of the interval) added per cycle. Other
    keyword arguments go to every ZkDevice (poll_s, error_delay_s, history, fail_codes, ...).

        async with ZkFleet(url, serials, poll_s=10) as fleet:
            fleet.punch(fleet[0], "1001", state=0)
            await fleet.wait_all(lambda d: not d.pending_punches, timeout=30)
            print(fleet.latencies.summary("poll"))
    """

    def __init__(
        self,
        base_url: str,
        serials: Iterable[str],
        *,
        session: aiohttp.ClientSession | Http1Pool | None = None,
        connections: int = 1000,
        ramp_s: float | None = None,
        jitter: float = 0.05,
        rng: random.Random | None = None,
        on_punch_ok: Callable[[ZkDevice, Punch, float], None] | None = None,
        **device_opts: Any,
    ) -> None:
        self.base_url = base_url
        self.connections = max(1, connections)
        self.ramp_s = ramp_s
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.device_opts = device_opts
        self.session = session
        self._own_session = session is None
        self.latencies = Latencies()
        self.punch_ok_ms: list[float] = []
        self._on_punch_ok = on_punch_ok
        self.devices: list[ZkDevice] = []
        self._by_serial: dict[str, ZkDevice] = {}
        self._heap: list[tuple[float, int, int, str]] = []
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self._slots = asyncio.Semaphore(self.connections)
        self._inflight: set[asyncio.Task[None]] = set()
        self._upload_queued: set[int] = set()
        self._scheduler: asyncio.Task[None] | None = None
        self._stopping = False
        self.cycles = 0
        self.uploads = 0
        self.late_ms: list[float] = []
        self.crashed: list[tuple[ZkDevice, BaseException]] = []
        self._pending_serials = list(serials)

    # -- the fleet as a collection -----------------------------------------------------------

    def __len__(self) -> int:
        return len(self.devices)

    def __iter__(self) -> Iterator[ZkDevice]:
        return iter(self.devices)

    def __getitem__(self, index: int) -> ZkDevice:
        return self.devices[index]

    def by_serial(self, serial: str) -> ZkDevice:
        return self._by_serial[serial]

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> ZkFleet:
        if self._scheduler is not None:
            raise RuntimeError("this fleet is already started")
        if self.session is None:
            self.session = Http1Pool()
        self._scheduler = asyncio.get_running_loop().create_task(
            self._schedule(), name="zk-fleet-scheduler"
        )
        serials, self._pending_serials = self._pending_serials, []
        self.add(serials, ramp_s=self.ramp_s)
        return self

    def add(self, serials: Iterable[str], *, ramp_s: float | None = None) -> list[ZkDevice]:
        """More devices, their first cycle (the handshake) spread over `ramp_s` seconds
        (default: the fleet's ramp, else one poll interval)."""
        if self._scheduler is None:  # not started yet: start() adds them
            self._pending_serials.extend(serials)
            return []
        added = []
        for serial in serials:
            device = ZkDevice(
                self.base_url,
                serial,
                self.session,
                on_request=self._on_request,
                on_punch_ok=self._punch_ok,
                rng=self.rng,  # one generator for the fleet (one each would be 5 KiB a device)
                **self.device_opts,
            )
            device._fleet_index = len(self.devices)  # type: ignore[attr-defined]
            self.devices.append(device)
            self._by_serial[serial] = device
            added.append(device)
        now = time.monotonic()
        for device in added:
            spread = ramp_s if ramp_s is not None else device.poll_interval()
            self._push(now + self.rng.uniform(0, max(spread, 0.0)), device, POLL)
        return added

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop scheduling, let the cycles in flight finish (cancelled after `timeout`), close
        the session if it is the fleet's own."""
        self._stopping = True
        for device in self.devices:
            device.stop()
        self._changed.set()
        if self._scheduler is not None:
            self._scheduler.cancel()
            await asyncio.gather(self._scheduler, return_exceptions=True)
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._own_session and self.session is not None:
            await self.session.close()
            self.session = None

    # -- scheduling ------------------------------------------------------------------------------

    def _push(self, due: float, device: ZkDevice, action: str) -> None:
        index = self._index(device)
        heapq.heappush(self._heap, (due, next(self._seq), index, action))
        if self._heap[0][2] == index and self._heap[0][0] == due:
            self._changed.set()

    def _index(self, device: ZkDevice) -> int:
        index = getattr(device, "_fleet_index", None)
        if index is None or self.devices[index] is not device:
            raise ValueError(f"{device!r} is not a device of this fleet")
        return index

    def poll_soon(self, device: ZkDevice, delay_s: float = 0.0) -> None:
        """An extra cycle for this device (its regular polls go on)."""
        self._push(time.monotonic() + delay_s, device, POLL + "-extra")

    def punch(self, device: ZkDevice, pin: str, **kwargs: Any) -> Punch:
        """The worker punches at the device; with Realtime=1 its upload is fired at once."""
        record = device.punch(pin, **kwargs)
        index = self._index(device)
        if device.realtime and index not in self._upload_queued:
            self._upload_queued.add(index)
            self._push(time.monotonic(), device, UPLOAD)
        return record

    async def _schedule(self) -> None:
        while not self._stopping:
            if not self._heap:
                self._changed.clear()
                await self._changed.wait()
                continue
            due = self._heap[0][0]
            delay = due - time.monotonic()
            if delay > 0:
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), delay)
                except TimeoutError:
                    pass
                continue
            await self._slots.acquire()
            if self._stopping:
                self._slots.release()
                break
            due, _, index, action = heapq.heappop(self._heap)
            self.late_ms.append(1000 * max(0.0, time.monotonic() - due))
            task = asyncio.get_running_loop().create_task(self._fire(index, action, due))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _fire(self, index: int, action: str, due: float) -> None:
        device = self.devices[index]
        try:
            if action == UPLOAD:
                self._upload_queued.discard(index)
                await device.upload_now()
                self.uploads += 1
                return
            interval = await device.step()
            self.cycles += 1
            if action == POLL and not self._stopping:
                # keep the device's phase: the next poll is one interval after this one was due
                jitter = self.rng.uniform(-self.jitter, self.jitter) * interval
                next_due = max(time.monotonic(), due + interval + jitter)
                if device.consecutive_errors:
                    next_due = time.monotonic() + interval
                self._push(next_due, device, POLL)
        except Exception as exc:  # a device's bug must not stop the fleet
            self.crashed.append((device, exc))
            log.exception("device %s crashed", device.serial)
        finally:
            self._slots.release()

    # -- measuring -------------------------------------------------------------------------------

    def _on_request(self, device: ZkDevice, kind: str, ms: float, status: int) -> None:
        self.latencies.record(kind, ms, status)

    def _punch_ok(self, device: ZkDevice, punch: Punch, ms: float) -> None:
        self.punch_ok_ms.append(ms)
        if self._on_punch_ok is not None:
            self._on_punch_ok(device, punch, ms)

    def reset_measurements(self) -> None:
        """A new measuring window: request latencies, punch-to-OK and scheduler lateness."""
        self.latencies.reset()
        self.punch_ok_ms = []
        self.late_ms = []

    async def wait_until(
        self, predicate: Callable[[ZkFleet], bool], timeout: float = 10.0, *, what: str = ""
    ) -> None:
        await wait_for_condition(
            lambda: predicate(self),
            timeout,
            self._check_interval(),
            lambda: f"{what or predicate!r}: {self.stats()}",
        )

    async def wait_all(
        self, predicate: Callable[[ZkDevice], bool], timeout: float = 10.0, *, what: str = ""
    ) -> None:
        """Until predicate(device) holds for every device; the TimeoutError names the laggards."""
        await wait_for_all(
            lambda: self.devices,
            predicate,
            timeout,
            self._check_interval(),
            what or repr(predicate),
            "devices",
        )

    def _check_interval(self) -> float:
        """How often a wait looks: a pass over 20,000 devices costs a few ms."""
        return max(0.02, len(self.devices) / 200_000)

    def stats(self) -> dict[str, Any]:
        states = count_states(self.devices)
        totals = sum_counters(
            self.devices,
            (
                "requests",
                "errors",
                "handshakes",
                "refusals",
                "polls",
                "commands_received",
                "commands_failed",
                "results_delivered",
                "punches",
                "punches_acked",
                "attlog_batches",
                "attlog_lines_sent",
                "attlog_resent_lines",
                "lost_oks",
                "query_uploads",
            ),
        )
        return {
            "devices": len(self.devices),
            "states": states,
            **totals,
            "pending_punches": sum(len(d.pending_punches) for d in self.devices),
            "users": sum(len(d.users) for d in self.devices),
            "cycles": self.cycles,
            "scheduled": len(self._heap),
            "in_flight": len(self._inflight),
            "scheduler_late_p99_ms": _round(percentile(self.late_ms, 0.99)),
            "crashed": len(self.crashed),
        }
