"""A tiny in-process stand-in for device-sync's clock API (aiohttp.web on loopback), enough to
unit-test the simulator's client loop: per-clock queues, long-poll, acks, 401, injected 503s.
Not a model of device-sync beyond the contract's wire format."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .loopback import serve


@dataclass
class FakeClock:
    clock_id: str
    credential: str
    queue: list[dict[str, Any]] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    syncs: list[dict[str, Any]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    revoked: bool = False

    @property
    def last_sequence(self) -> int:
        return self.queue[-1]["sequence"] if self.queue else 0


class FakeDeviceSync:
    def __init__(self) -> None:
        self.clocks: dict[str, FakeClock] = {}
        self.registrations: list[dict[str, Any]] = []
        self.fail_next = 0  # answer this many sync requests with fail_status
        self.fail_status = 503
        self.redeliver = False  # ignore applied_sequence: send the whole queue every time
        self._sequence = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add_clock(self) -> FakeClock:
        clock_id = str(uuid.uuid4())
        clock = FakeClock(clock_id, f"pcc_{clock_id}_{uuid.uuid4().hex}")
        self.clocks[clock.credential] = clock
        return clock

    def push(self, clock: FakeClock, kind: str, worker: dict[str, Any] | None = None) -> dict:
        """Queue a command (sequences increase with gaps: one counter for every clock)."""
        command: dict[str, Any] = {
            "command_id": str(uuid.uuid4()),
            "sequence": next(self._sequence),
            "kind": kind,
        }
        if worker is not None:
            command["worker"] = worker
        if kind == "FULL_RESYNC":
            command["reason"] = "test"
        clock.queue.append(command)
        clock.wake.set()
        return command

    async def sync(self, request: web.Request) -> web.Response:
        clock = self._authorise(request)
        body = await request.json()
        clock.syncs.append(body)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.json_response(
                {"code": "injected", "message": "injected"}, status=self.fail_status
            )
        clock.acks.extend(body.get("acks", []))
        applied = -1 if self.redeliver else body["applied_sequence"]
        limit = body.get("limit", 200)

        def due() -> list[dict[str, Any]]:
            return [c for c in clock.queue if c["sequence"] > applied][:limit]

        commands = due()
        if not commands and body.get("wait_s", 0) > 0:
            clock.wake.clear()
            try:
                await asyncio.wait_for(clock.wake.wait(), body["wait_s"])
            except TimeoutError:
                pass
            commands = due()
        return web.json_response(
            {"clock_id": clock.clock_id, "last_sequence": clock.last_sequence, "commands": commands}
        )

    async def acks(self, request: web.Request) -> web.Response:
        clock = self._authorise(request)
        clock.acks.extend((await request.json())["acks"])
        return web.Response(status=204)

    async def register(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer admin-token":
            return web.json_response({"code": "unauthorized", "message": "no"}, status=401)
        body = await request.json()
        self.registrations.append(body)
        clock = self.add_clock()
        return web.json_response(
            {"id": clock.clock_id, "credential": clock.credential, **body}, status=201
        )

    def _authorise(self, request: web.Request) -> FakeClock:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        clock = self.clocks.get(credential)
        if scheme != "Bearer" or clock is None or clock.revoked:
            raise web.HTTPUnauthorized(
                text='{"code": "clock_unauthorized", "message": "revoked"}',
                content_type="application/json",
            )
        return clock

    async def start(self) -> FakeDeviceSync:
        app = web.Application()
        app.router.add_post("/clock/v1/sync", self.sync)
        app.router.add_post("/clock/v1/acks", self.acks)
        app.router.add_post("/internal/v1/clocks", self.register)
        self._runner, self.url = await serve(app)
        return self

    async def close(self) -> None:
        for clock in self.clocks.values():
            clock.wake.set()
        if self._runner is not None:
            await self._runner.cleanup()
