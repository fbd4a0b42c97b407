"""A tiny in-process PUSH (ADMS) server (aiohttp.web on loopback), written from the protocol notes,
enough to unit-test the ZK device simulator: registered serials, the handshake's options and
stamps, `type=time`, per-device command queues delivered on getrequest and acknowledged from
devicecmd, ATTLOG batches deduplicated on (SN, PIN, time, state). Not a model of device-sync."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .loopback import serve


@dataclass
class FakeZk:
    serial: str
    time_zone: str = "+00:00"
    options: dict[str, str] = field(default_factory=dict)  # extra / overriding option lines
    stamps: dict[str, str] = field(default_factory=dict)  # table -> the last Stamp received
    queue: list[tuple[str, str]] = field(default_factory=list)  # (id, command) not acknowledged
    results: list[dict[str, str]] = field(default_factory=list)
    attlog_posts: list[dict[str, Any]] = field(default_factory=list)  # every POST, raw
    punches: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)  # deduplicated
    operlog: list[str] = field(default_factory=list)
    biodata: list[str] = field(default_factory=list)
    handshakes: list[dict[str, str]] = field(default_factory=list)
    polls: list[dict[str, str]] = field(default_factory=list)
    time_requests: int = 0
    photos: list[bytes] = field(default_factory=list)
    unknown_tables: list[str] = field(default_factory=list)

    @property
    def lines_received(self) -> int:
        return sum(len(p["lines"]) for p in self.attlog_posts)


class FakePushServer:
    def __init__(self, delay: int = 1, error_delay: int = 1) -> None:
        self.devices: dict[str, FakeZk] = {}
        self.unknown: list[str] = []  # serials of unregistered devices that knocked
        self.delay = delay
        self.error_delay = error_delay
        self.fail_attlog_next = 0  # answer this many ATTLOG posts with 503 (nothing stored)
        self.clock_offset = timedelta(0)  # type=time answers now + this
        self.registrations: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add(self, serial: str, **kw: Any) -> FakeZk:
        device = FakeZk(serial, **kw)
        self.devices[serial] = device
        return device

    def queue(self, serial: str, *commands: str) -> list[str]:
        ids = []
        for command in commands:
            command_id = str(next(self._ids))
            self.devices[serial].queue.append((command_id, command))
            ids.append(command_id)
        return ids

    def _device(self, request: web.Request) -> FakeZk | None:
        serial = request.query.get("SN", "")
        device = self.devices.get(serial)
        if device is None:
            self.unknown.append(serial)
        return device

    async def cdata(self, request: web.Request) -> web.Response:
        device = self._device(request)
        if device is None:
            return web.Response(text="")  # nothing useful for an unknown serial
        q = request.query
        if request.method == "GET":
            if q.get("type") == "time":
                device.time_requests += 1
                offset = _offset(device.time_zone)
                now = (datetime.now(UTC) + self.clock_offset).astimezone(offset)
                return web.Response(text=f"Time={now.isoformat(timespec='seconds')}")
            device.handshakes.append({**q, "_at": time.monotonic()})
            options = {
                "ATTLOGStamp": device.stamps.get("ATTLOG", "None"),
                "OPERLOGStamp": device.stamps.get("OPERLOG", "None"),
                "ErrorDelay": str(self.error_delay),
                "Delay": str(self.delay),
                "TransTimes": "00:00;14:05",
                "TransInterval": "1",
                "TransFlag": "TransData AttLog OpLog AttPhoto EnrollUser ChgUser EnrollFP ChgFP",
                "TimeZone": device.time_zone,
                "Realtime": "1",
                "Encrypt": "0",
                "Timeout": "60",
                "SyncTime": "3600",
                "ServerVer": "fake-push 1",
                **device.options,
            }
            lines = [f"GET OPTION FROM: {device.serial}", *(f"{k}={v}" for k, v in options.items())]
            return web.Response(text="\n".join(lines))
        table = q.get("table", "")
        raw = await request.read()
        if table == "ATTPHOTO":
            device.photos.append(raw)
            return web.Response(text="OK")
        if table not in ("ATTLOG", "OPERLOG", "BIODATA"):
            device.unknown_tables.append(table)
            return web.Response(text="OK")
        body = raw.decode()
        lines = [line for line in body.split("\n") if line.strip()]
        if table == "ATTLOG":
            if self.fail_attlog_next > 0:
                self.fail_attlog_next -= 1
                return web.Response(status=503, text="busy")
            device.attlog_posts.append({"stamp": q.get("Stamp"), "lines": lines})
            for line in lines:
                parts = line.split("\t")
                assert len(parts) == 7, line
                device.punches.setdefault((parts[0], parts[1], parts[2]), parts)
            if q.get("Stamp"):
                device.stamps["ATTLOG"] = str(
                    max(int(q["Stamp"]), int(device.stamps.get("ATTLOG", "0")))
                )
            return web.Response(text=f"OK: {len(lines)}")
        if table == "OPERLOG":
            device.operlog.extend(lines)
        elif table == "BIODATA":
            device.biodata.extend(lines)
        return web.Response(text="OK")

    async def getrequest(self, request: web.Request) -> web.Response:
        device = self._device(request)
        if device is None:
            return web.Response(text="")
        device.polls.append(dict(request.query))
        if not device.queue:
            return web.Response(text="OK")
        return web.Response(text="\n".join(f"C:{i}:{c}" for i, c in device.queue[:200]))

    async def devicecmd(self, request: web.Request) -> web.Response:
        device = self._device(request)
        if device is None:
            return web.Response(text="")
        for line in (await request.read()).decode().split("\n"):
            if not line.strip():
                continue
            result = dict(part.split("=", 1) for part in line.split("&"))
            device.results.append(result)
            device.queue = [(i, c) for i, c in device.queue if i != result["ID"]]
        return web.Response(text="OK")

    async def register(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer admin-token":
            return web.json_response({"code": "unauthorized", "message": "no"}, status=401)
        body = await request.json()
        self.registrations.append(body)
        self.add(body["serial_number"])
        return web.json_response(
            {"id": f"clock-{len(self.registrations)}", "protocol": body.get("protocol"), **body},
            status=201,
        )

    async def start(self) -> FakePushServer:
        app = web.Application()
        app.router.add_route("*", "/iclock/cdata", self.cdata)
        app.router.add_get("/iclock/getrequest", self.getrequest)
        app.router.add_post("/iclock/devicecmd", self.devicecmd)
        app.router.add_post("/internal/v1/clocks", self.register)
        self._runner, self.url = await serve(app)
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _offset(value: str):
    from datetime import timezone

    sign = -1 if value.startswith("-") else 1
    hours, minutes = value.lstrip("+-").split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
