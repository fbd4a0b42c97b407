"""A kiosk's punch, as the kiosk app makes it: ``POST /kiosk/v1/punches`` on the gateway with
the clock's credential, a fresh attempt id and the device's capture time; while the answer is
``pending``, ``GET /kiosk/v1/punches/{attempt_id}`` until it is decided. A 503 (a server the
edge needs is down) is retried with the *same* attempt id, as a kiosk must: the edge never
makes a second punch of one attempt."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp


async def punch(
    session: aiohttp.ClientSession,
    gateway_url: str,
    credential: str,
    *,
    employee_id: str | None = None,
    pin: str | None = None,
    card: str | None = None,
    frame_jpeg_b64: str | None = None,
    direction: str | None = None,
    captured_at: datetime | None = None,
    offline: bool = False,
    attempt_id: str | None = None,
    max_wait_s: float = 60.0,
) -> dict[str, Any]:
    """The kiosk's answer (``recorded`` / ``rejected``; ``pending`` if still undecided after
    ``max_wait_s``): by face (``frame_jpeg_b64``), by badge card (``card``, as a card reader
    at the kiosk types it) or by Employee ID and PIN. Raises ``aiohttp.ClientResponseError``
    on a 4xx (bad input, credential)."""
    method = "FACE" if frame_jpeg_b64 else "CARD" if card else "PIN"
    body: dict[str, Any] = {
        "attempt_id": attempt_id or str(uuid.uuid4()),
        "captured_at": (captured_at or datetime.now(UTC)).isoformat(),
        "offline": offline,
        "direction": direction,
        "method": method,
    }
    if employee_id:
        body["employee_id"] = employee_id
    if method == "FACE":
        body["frame_jpeg"] = frame_jpeg_b64
    elif method == "CARD":
        body["card"] = card
    else:
        body["pin"] = pin
    base = gateway_url.rstrip("/") + "/kiosk/v1/punches"
    headers = {"Authorization": f"Bearer {credential}"}
    deadline = asyncio.get_running_loop().time() + max_wait_s
    delay = 0.5
    answer: dict[str, Any] = {"attempt_id": body["attempt_id"], "status": "pending"}
    request = ("POST", base, body)
    while True:
        method, url, json_body = request
        async with session.request(method, url, json=json_body, headers=headers) as response:
            if response.status == 503:
                answer = {"attempt_id": body["attempt_id"], "status": "pending"}
            else:
                if 400 <= response.status < 500:
                    detail = await response.text()
                    raise aiohttp.ClientResponseError(
                        response.request_info,
                        response.history,
                        status=response.status,
                        message=detail,
                    )
                answer = await response.json()
                if answer.get("status") != "pending":
                    return answer
                request = ("GET", f"{base}/{body['attempt_id']}", None)
        if asyncio.get_running_loop().time() + delay > deadline:
            return answer
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
