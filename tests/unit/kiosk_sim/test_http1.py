"""The simulator's lean HTTP/1.1 client against a real local aiohttp server: the request the
server sees (method, path, query, body), keep-alive reuse, a kept connection the server closed
meanwhile, a server that answers `Connection: close`, nothing listening, and a timeout."""

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web
from punchcard_kiosk_sim.http1 import Http1Pool


@pytest.fixture
async def server():
    seen: list[dict] = []
    peers: set = set()

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        peers.add(request.transport.get_extra_info("peername"))
        seen.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "body": body,
                "type": request.headers.get("Content-Type"),
            }
        )
        if request.query.get("close"):
            return web.Response(text="bye", headers={"Connection": "close"})
        if request.query.get("slow"):
            await asyncio.sleep(2)
        if request.query.get("drop"):
            request.transport.close()
        return web.Response(text="OK\nID=1:é", status=int(request.query.get("status", 200)))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", seen, peers
    await runner.cleanup()


async def test_get_and_post_reach_the_server_as_sent_on_one_kept_connection(server):
    url, seen, peers = server
    pool = Http1Pool()
    try:
        status, text = await pool.request(
            "GET", url + "/iclock/getrequest", {"SN": "A 1", "INFO": "Ver 8.0,2,0,5,10.0.0.1"}
        )
        assert (status, text) == (200, "OK\nID=1:é")
        status, _ = await pool.request(
            "POST", url + "/iclock/cdata", {"SN": "A 1", "table": "ATTLOG"}, b"1001\t2026"
        )
        status_404, _ = await pool.request("GET", url + "/x", {"status": "404"})
    finally:
        await pool.close()
    assert status == 200 and status_404 == 404
    assert seen[0]["query"] == {"SN": "A 1", "INFO": "Ver 8.0,2,0,5,10.0.0.1"}
    assert seen[1]["method"] == "POST" and seen[1]["body"] == b"1001\t2026"
    assert seen[1]["type"] == "text/plain; charset=utf-8"
    assert len(peers) == 1 and pool.connections_made == 1  # one connection, kept


async def test_a_connection_the_server_closed_is_replaced_not_an_error(server):
    url, seen, _ = server
    pool = Http1Pool()
    try:
        assert (await pool.request("GET", url + "/a", {"close": "1"}))[0] == 200
        assert (await pool.request("GET", url + "/b"))[0] == 200
        # the server drops a kept connection without answering: a POST is not sent twice by the
        # client (the device decides whether to send it again); a GET is, once
        with pytest.raises(aiohttp.ClientConnectionError):
            await pool.request("POST", url + "/c", {"drop": "1"}, b"1001")
        assert (await pool.request("GET", url + "/x"))[0] == 200
        with pytest.raises(aiohttp.ClientConnectionError):
            await pool.request("GET", url + "/d", {"drop": "1"})
        assert (await pool.request("GET", url + "/e"))[0] == 200
    finally:
        await pool.close()
    assert [s["path"] for s in seen] == ["/a", "/b", "/c", "/x", "/d", "/d", "/e"]
    assert pool.connections_made == 5


async def test_nothing_listening_and_a_timeout_are_the_errors_a_device_handles(server):
    url, _, _ = server
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    pool = Http1Pool()
    try:
        with pytest.raises(aiohttp.ClientConnectionError):
            await pool.request("GET", f"http://127.0.0.1:{free_port}/x")
        with pytest.raises(TimeoutError):
            await pool.request("GET", url + "/slow", {"slow": "1"}, timeout=0.2)
        # the timed-out connection is not reused for the next answer
        assert await pool.request("GET", url + "/after") == (200, "OK\nID=1:é")
    finally:
        await pool.close()
