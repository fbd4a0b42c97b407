"""The simulator's kiosk punch against a stand-in kiosk edge (aiohttp on loopback): a 503 is
retried with the same attempt id, a pending answer is fetched until decided, a 401 raises; a
badge-card punch sends the card (from the environment or typed, never an argument)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from punchcard_kiosk_sim.punch import punch

_sleep = asyncio.sleep  # the real one, before a test patches it


async def edge(answers: list[tuple[int, dict]], seen: list[tuple[str, dict | None]]):
    async def handle(request: web.Request) -> web.Response:
        body = await request.json() if request.method == "POST" else None
        seen.append((request.method, body))
        if request.headers.get("Authorization") != "Bearer pcc_good":
            return web.json_response({"code": "CLOCK_UNAUTHORIZED"}, status=401)
        status, answer = answers.pop(0)
        return web.json_response(answer, status=status)

    app = web.Application()
    app.router.add_post("/kiosk/v1/punches", handle)
    app.router.add_get("/kiosk/v1/punches/{attempt_id}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}"


async def test_retries_with_the_same_attempt_then_follows_pending(monkeypatch):
    monkeypatch.setattr("asyncio.sleep", _no_sleep)
    seen: list = []
    recorded = {"status": "recorded", "punch": {"display_name": "Ana"}}
    runner, url = await edge(
        [(503, {"code": "UNAVAILABLE"}), (202, {"status": "pending"}), (200, recorded)], seen
    )
    try:
        async with aiohttp.ClientSession() as session:
            answer = await punch(session, url, "pcc_good", employee_id="E1", pin="1234")
    finally:
        await runner.cleanup()
    assert answer == recorded
    assert [m for m, _ in seen] == ["POST", "POST", "GET"]
    assert seen[0][1]["attempt_id"] == seen[1][1]["attempt_id"]
    assert seen[0][1]["method"] == "PIN" and seen[0][1]["pin"] == "1234"


async def test_a_card_punch_sends_the_card_and_no_pin(monkeypatch):
    monkeypatch.setattr("asyncio.sleep", _no_sleep)
    seen: list = []
    recorded = {"status": "recorded", "punch": {"display_name": "Ana", "method": "CARD"}}
    runner, url = await edge([(200, recorded)], seen)
    try:
        async with aiohttp.ClientSession() as session:
            answer = await punch(session, url, "pcc_good", card="0012345678", direction="IN")
    finally:
        await runner.cleanup()
    assert answer == recorded
    [(_, body)] = seen
    assert (body["method"], body["card"], body["direction"]) == ("CARD", "0012345678", "IN")
    assert "pin" not in body and "employee_id" not in body


def test_the_cli_reads_the_card_from_the_environment_never_the_command_line(monkeypatch):
    from punchcard_kiosk_sim import cli

    sent: dict = {}

    async def fake_punch(session, gateway_url, credential, **fields):
        sent.update(fields, credential=credential)
        return {"status": "recorded"}

    monkeypatch.setattr(cli, "kiosk_punch", fake_punch)
    monkeypatch.setenv("PUNCHCARD_CARD", "0099887766")
    assert cli.main(["punch", "--credential", "pcc_x", "--card"]) == 0
    assert sent == {"credential": "pcc_x", "direction": None, "card": "0099887766"}
    with pytest.raises(SystemExit):  # a card number is not an argument
        cli.build_parser().parse_args(["punch", "--credential", "pcc_x", "--card", "0099"])
    with pytest.raises(SystemExit):  # one way to punch at a time
        cli.build_parser().parse_args(
            ["punch", "--credential", "pcc_x", "--card", "--employee-id", "E1"]
        )


async def test_a_refused_credential_raises():
    runner, url = await edge([], [])
    try:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientResponseError) as refused:
                await punch(session, url, "pcc_bad", employee_id="E1", pin="1234")
    finally:
        await runner.cleanup()
    assert refused.value.status == 401


async def _no_sleep(_: float) -> None:
    # asyncio.sleep is patched for the whole loop: still yield, or anything else the loop runs
    # (a server another test left serving in it, say) would spin without letting this test on.
    await _sleep(0)
