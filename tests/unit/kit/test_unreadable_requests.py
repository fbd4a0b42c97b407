"""A request the HTTP server cannot read as HTTP (a URL past httptools' ~64 KiB, a malformed
request line or header) is refused before any app sees it, with a 400 in the one error shape,
not uvicorn's plain text; and every operation's OpenAPI declares that 400 (a randomized fuzz
met it undeclared: device-sync's clock list with thousands of ``clock_id`` values)."""

import asyncio
import json

import pytest
import uvicorn
from fastapi import APIRouter
from punchcard_kit.service import create_service_app, uvicorn_config
from punchcard_kit.settings import ServiceSettings


def app():
    router = APIRouter()

    @router.get("/items")
    async def items(q: str = "") -> dict:
        return {"length": len(q)}

    @router.post("/items")
    async def add(body: dict) -> dict:
        return body

    return create_service_app(
        ServiceSettings(environment="test"), package="punchcard_kit", title="t", routers=[router]
    )


async def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)  # the server closes the connection
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


@pytest.fixture
async def served():
    """The app as the kit serves it (uvicorn_config), on a free port; no lifespan (no database)."""
    config = uvicorn_config(ServiceSettings(environment="test", http_host="127.0.0.1"), app())
    config.port, config.lifespan = 0, "off"
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn's flag; it has no event)
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await task


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /items?q=" + b"x" * 70_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /items HTTP/1.1\r\nHo st: t\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
    ids=["url-over-64KiB", "malformed-header", "malformed-request-line"],
)
async def test_a_request_that_is_not_readable_http_gets_a_400_in_the_error_shape(
    served, request_bytes
):
    status, headers, body = await exchange(served, request_bytes)
    assert status == 400
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["code"] == "BAD_REQUEST" and answer["field"] is None
    assert "64 KiB" in answer["message"]


async def test_a_readable_request_is_the_apps(served):
    status, _, body = await exchange(
        served,
        b"GET /items?q=" + b"x" * 60_000 + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    assert status == 200 and body == b'{"length":60000}'


def test_every_operation_declares_the_400_and_each_with_a_body_its_413():
    paths = app().openapi()["paths"]
    get, post = paths["/items"]["get"], paths["/items"]["post"]
    for operation in (get, post):
        refusal = operation["responses"]["400"]
        assert refusal["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorPublic"
        }
    assert "413" in post["responses"] and "413" not in get["responses"]
