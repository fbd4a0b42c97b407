"""Registering clocks through the admin API (`POST /clocks`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from punchcard_kiosk_sim.fleet import make_session


class RegistrationError(Exception):
    """The admin API refused (or failed) a registration."""

    def __init__(self, serial_number: str, status: int, body: str) -> None:
        super().__init__(f"registering {serial_number}: HTTP {status}: {body[:500]}")
        self.serial_number = serial_number
        self.status = status
        self.body = body


def serial_number(prefix: str, index: int) -> str:
    """The serial number register_clocks gives the index-th clock (from 0)."""
    return f"{prefix}-{index:06d}"


async def register_clocks(
    admin_base_url: str,
    headers: Mapping[str, str],
    count: int,
    *,
    site_id: str,
    prefix: str,
    concurrency: int = 50,
    time_zone: str = "UTC",
    session: aiohttp.ClientSession | None = None,
    timeout_s: float = 30.0,
) -> list[tuple[str, str]]:
    """Register `count` clocks at `POST {admin_base_url}/clocks` and return their
    (clock_id, credential), in order: serial numbers `<prefix>-000000`, `<prefix>-000001`, ...

    `admin_base_url` is the gateway's `.../api/v1` (headers: an admin's bearer token) or
    device-sync's `.../internal/v1` (headers: an internal caller token). At most `concurrency`
    requests are in flight. Any answer but 201 raises RegistrationError (the clocks registered
    before it stay registered)."""
    return await _post_clocks(
        admin_base_url,
        headers,
        _bodies(count, prefix, site_id, time_zone),
        _clock_and_credential,
        concurrency,
        session,
        timeout_s,
    )


async def register_zk_clocks(
    admin_base_url: str,
    headers: Mapping[str, str],
    count: int,
    *,
    site_id: str,
    prefix: str,
    time_zone: str = "UTC",
    com_key: str | None = None,
    concurrency: int = 50,
    **options: Any,
) -> list[tuple[str, str]]:
    """Register `count` hardware clocks speaking ZK PUSH (`protocol: "ZK_PUSH"`, optional
    `com_key`) as register_clocks does (same serial numbers, `session`, `timeout_s`); returns
    their (clock_id, serial_number) in order. A ZK clock has no credential: it is known by its
    serial number."""
    extra = {"protocol": "ZK_PUSH", **({"com_key": com_key} if com_key else {})}
    return await _post_clocks(
        admin_base_url,
        headers,
        _bodies(count, prefix, site_id, time_zone, **extra),
        _clock_and_serial,
        concurrency,
        options.get("session"),
        options.get("timeout_s", 30.0),
    )


def _bodies(count: int, prefix: str, site_id: str, time_zone: str, **extra: str) -> list[dict]:
    return [
        {
            "serial_number": serial_number(prefix, i),
            "name": f"{prefix} {i}",
            "site_id": site_id,
            "time_zone": time_zone,
            **extra,
        }
        for i in range(count)
    ]


def _answer_field(answer: dict, name: str) -> object:
    """A field of the registration's answer: at the top, or in its `clock` object."""
    nested = answer.get("clock") if isinstance(answer.get("clock"), dict) else {}
    return answer.get(name) or nested.get(name)


def _clock_and_credential(serial: str, status: int, text: str, answer: dict) -> tuple[str, str]:
    clock_id, credential = _answer_field(answer, "id"), _answer_field(answer, "credential")
    if not isinstance(clock_id, str | int) or not isinstance(credential, str):
        raise RegistrationError(serial, status, f"no id or credential in: {text}")
    return str(clock_id), credential


def _clock_and_serial(serial: str, status: int, text: str, answer: dict) -> tuple[str, str]:
    clock_id = _answer_field(answer, "id")
    if not isinstance(clock_id, str | int):
        raise RegistrationError(serial, status, f"no id in: {text}")
    return str(clock_id), serial


async def _post_clocks(
    admin_base_url: str,
    headers: Mapping[str, str],
    bodies: list[dict],
    parse: Callable[[str, int, str, dict], tuple[str, str]],
    concurrency: int,
    session: aiohttp.ClientSession | None,
    timeout_s: float,
) -> list[tuple[str, str]]:
    url = f"{admin_base_url.rstrip('/')}/clocks"
    gate = asyncio.Semaphore(max(1, concurrency))
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    own = session is None
    http = session or make_session()

    async def one(body: dict) -> tuple[str, str]:
        serial = body["serial_number"]
        async with gate:
            async with http.post(url, json=body, headers=dict(headers), timeout=timeout) as r:
                text = await r.text()
                if r.status != 201:
                    raise RegistrationError(serial, r.status, text)
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise RegistrationError(serial, r.status, f"not a JSON object: {text}")
        return parse(serial, r.status, text, answer)

    try:
        tasks = [asyncio.ensure_future(one(body)) for body in bodies]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
    finally:
        if own:
            await http.close()
