"""The ZK PUSH (ADMS) edge: hardware clocks call ``/iclock/*`` directly, plain text in and
out (docs/device-sync.md, "ZK PUSH clocks"). Routes only translate: the query and body go to
``service_layer.zk_edge``, its text comes back. A serial no one registered (or a revoked
clock's) gets ``401 UNREGISTERED`` and nothing else: the device keeps its records and tries
again after its error delay, and the call is listed for admins to adopt."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import Counter

from ..domain import zk
from ..service_layer.zk_edge import ZkDevice
from .deps import ContainerDep

# An upload (ATTLOG batch, templates, a photo): up to 2 MiB; every other route: the kit's
# 64 KiB (a larger body is 413 before it is read).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
TEXT = {"content": {"text/plain": {}}}
RESPONSES = {200: TEXT, 400: TEXT, 401: TEXT}

router = APIRouter(prefix="/iclock", tags=["zk-push"])


def _text(body: str, status: int = 200) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=status)


def _bad(error: zk.ZkInvalid) -> PlainTextResponse:
    if error.field == "body":
        return _text(f"TOO LARGE: {error}", 413)
    return _text(f"BAD REQUEST: {error}", 400)


UNREGISTERED = _text("UNREGISTERED", 401)


async def _caller(
    request: Request, c: ContainerDep
) -> tuple[zk.DeviceQuery, ZkDevice] | PlainTextResponse:
    """The query and the registered device it names, or the answer refusing it (a bad query:
    400; an unknown or revoked serial: 401, recorded as an unregistered device; a wrong or
    missing Comm Key of a clock that has one: 401 the same way)."""
    try:
        query = zk.parse_query(request.url.query)
    except zk.ZkInvalid as error:
        return _bad(error)
    remote = request.client.host if request.client else ""
    device = await c.zk.device(query.serial, remote, query.push_version)
    if device is None:
        return UNREGISTERED
    # The handshake: GET /cdata, other than type=time.
    handshake = request.method == "GET" and request.url.path.endswith("/cdata")
    handshake = handshake and query.type != "time"
    device = await c.zk.admit(device, query.com_key, remote, handshake)
    if device is None:
        return UNREGISTERED
    return query, device


@router.get("/cdata", response_class=PlainTextResponse, responses=RESPONSES)
async def cdata_get(request: Request, c: ContainerDep) -> PlainTextResponse:
    """The handshake (``options=all``: the options, stamps and time zone) or, with
    ``type=time``, the clock's local time and offset."""
    found = await _caller(request, c)
    if isinstance(found, PlainTextResponse):
        return found
    query, device = found
    if query.type == "time":
        return _text(c.zk.time(device))
    return _text(await c.zk.handshake(device))


@router.post(
    "/cdata",
    response_class=PlainTextResponse,
    responses={**RESPONSES, 413: TEXT},
    max_body_size=MAX_UPLOAD_BYTES,
)
async def cdata_post(request: Request, c: ContainerDep) -> PlainTextResponse:
    """An upload: ``ATTLOG`` punches (recorded once, then ``OK``), ``OPERLOG``/``BIODATA``
    users and templates, ``ATTPHOTO`` (answered ``OK``, not stored); any other table ``OK``
    and a log line (an error would make the device resend it forever)."""
    found = await _caller(request, c)
    if isinstance(found, PlainTextResponse):
        return found
    query, device = found
    table = query.table or ""
    if table == "ATTPHOTO":
        return _text("OK")
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        if table == "ATTLOG":
            await c.zk.attlog(device, body, query.stamp)
        elif table in ("OPERLOG", "BIODATA"):
            await c.zk.operlog(device, table, body, query.stamp)
        else:
            c.zk.unknown_table(device, table)
    except zk.ZkInvalid as error:
        return _bad(error)
    return _text("OK")


@router.get("/getrequest", response_class=PlainTextResponse, responses=RESPONSES)
async def getrequest(request: Request, c: ContainerDep) -> PlainTextResponse:
    """The poll (the device's heartbeat): ``OK``, or its next commands as ``C:<id>:<cmd>``."""
    found = await _caller(request, c)
    if isinstance(found, PlainTextResponse):
        return found
    query, device = found
    return _text(await c.zk.poll(device, query.info, query.push_version))


@router.post(
    "/devicecmd",
    response_class=PlainTextResponse,
    responses={**RESPONSES, 413: TEXT},
    max_body_size=256 * 1024,
)
async def devicecmd(request: Request, c: ContainerDep) -> PlainTextResponse:
    """Command results: ``ID=<id>&Return=<code>&CMD=<word>`` per line."""
    found = await _caller(request, c)
    if isinstance(found, PlainTextResponse):
        return found
    query, device = found
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        await c.zk.results(device, body)
    except zk.ZkInvalid as error:
        return _bad(error)
    return _text("OK")


@router.get("/ping", response_class=PlainTextResponse, responses=RESPONSES)
async def ping(request: Request, c: ContainerDep) -> PlainTextResponse:
    """Newer firmware pings while it uploads a long backlog: ``OK`` (no heartbeat of its own)."""
    found = await _caller(request, c)
    return found if isinstance(found, PlainTextResponse) else _text("OK")


# --- the common poll, before FastAPI -------------------------------------------------------

POLLS = Counter(
    "device_sync_zk_polls_total",
    "ZK polls (GET /iclock/getrequest) by how they were answered",
    ["answered"],
)
_POLL_PATH = "/iclock/getrequest"
_TEXT_HEADERS = [(b"content-type", b"text/plain; charset=utf-8")]


class FastPoll:
    """Pure ASGI, in front of FastAPI's routing and dependencies: answers the common poll (a
    known device, nothing due for it: ``ZkEdge.poll_at_once``) from memory. Anything else (an
    unknown or uncached serial, a bad query, a queue to read, the app not started) falls
    through to the ``getrequest`` route, which answers the same way. Counted, never logged
    per request (as every route: uvicorn's access log is off)."""

    def __init__(self, app) -> None:
        self.app = app
        self._answered = POLLS.labels("memory")
        self._routed = POLLS.labels("route")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == _POLL_PATH and scope["method"] == "GET":
            reply = self._at_once(scope)
            if reply is not None:
                self._answered.inc()
                body = reply.encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [*_TEXT_HEADERS, (b"content-length", b"%d" % len(body))],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            self._routed.inc()
        await self.app(scope, receive, send)

    @staticmethod
    def _at_once(scope) -> str | None:
        app = scope.get("app")
        container = getattr(getattr(app, "state", None), "device_sync", None)
        if container is None:
            return None
        try:
            query = zk.parse_query(scope["query_string"].decode("latin-1"))
        except zk.ZkInvalid:
            return None  # the route answers 400
        device = container.zk.known(query.serial)
        if device is None or device.com_key_digest is not None:
            return None  # looked up, or a Comm Key to check: the route
        return container.zk.poll_at_once(device, query.info, query.push_version)
