"""The ZK PUSH (ADMS) edge: hardware clocks call ``/iclock/*`` directly, plain text in and
out (docs/device-sync.md, "ZK PUSH clocks"). Routes only translate: the query and body go to
``service_layer.zk_edge``, its text comes back. A serial no one registered (or a revoked
clock's) gets ``401 UNREGISTERED`` and nothing else: the device keeps its records and tries
again after its error delay, and the call is listed for admins to adopt."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import Counter
from punchcard_kit.http_errors import error_response
from punchcard_kit.logging import get_logger
from punchcard_kit.retry import is_transient
from punchcard_kit.tracing import SpanKind, span

from ..domain import zk
from ..service_layer.zk_edge import ZkDevice
from .deps import ContainerDep

log = get_logger(__name__)

# An upload (ATTLOG batch, templates, a photo): up to 2 MiB; every other route: the kit's
# 64 KiB (a larger body is 413 before it is read).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
TEXT = {"content": {"text/plain": {}}}
RESPONSES = {200: TEXT, 400: TEXT, 401: TEXT}
# Every call names its device (``zk.parse_query``; without it a 400): the OpenAPI says so, as
# the routes read the query themselves (the protocol's names, any case, repeated keys).
DEVICE = {
    "parameters": [
        {
            "name": "SN",
            "in": "query",
            "required": True,
            "description": "The device's serial number",
            "schema": {"type": "string", "pattern": zk.SERIAL_PATTERN.pattern},
        }
    ]
}

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


@router.get("/cdata", response_class=PlainTextResponse, responses=RESPONSES, openapi_extra=DEVICE)
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
    openapi_extra=DEVICE,
    max_body_size=MAX_UPLOAD_BYTES,
)
async def cdata_post(request: Request, c: ContainerDep) -> PlainTextResponse:
    """An upload: ``ATTLOG`` punches (recorded once, then ``OK``), ``OPERLOG``/``BIODATA``
    users and templates, ``ATTPHOTO`` (answered ``OK``, not stored but for its Stamp); any other
    table ``OK`` and a log line (an error would make the device resend it forever)."""
    found = await _caller(request, c)
    if isinstance(found, PlainTextResponse):
        return found
    query, device = found
    table = query.table or ""
    if table == "ATTPHOTO":  # not kept: only its Stamp, so the device sends it once
        await c.zk.attphoto(device, query.stamp)
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


@router.get(
    "/getrequest", response_class=PlainTextResponse, responses=RESPONSES, openapi_extra=DEVICE
)
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
    openapi_extra=DEVICE,
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


@router.get("/ping", response_class=PlainTextResponse, responses=RESPONSES, openapi_extra=DEVICE)
async def ping(request: Request, c: ContainerDep) -> PlainTextResponse:
    """Newer firmware pings while it uploads a long backlog: ``OK`` (no heartbeat of its own)."""
    found = await _caller(request, c)
    return found if isinstance(found, PlainTextResponse) else _text("OK")


# --- the common poll and ATTLOG uploads, before FastAPI ----------------------------------------

POLLS = Counter(
    "device_sync_zk_polls_total",
    "ZK polls (GET /iclock/getrequest) by how they were answered",
    ["answered"],
)
UPLOADS = Counter(
    "device_sync_zk_attlog_uploads_total",
    "ZK ATTLOG uploads (POST /iclock/cdata?table=ATTLOG) by where they were handled",
    ["answered"],
)
_POLL_PATH = "/iclock/getrequest"
_UPLOAD_PATH = "/iclock/cdata"
# Some firmware (eSSL and other rebadged ZKTeco models, e.g. x2008's) asks for the same routes
# with the suffix of the vendor's old ASP.NET server: /iclock/cdata.aspx, getrequest.aspx, ...
_ASPX = re.compile(r"^/iclock/(cdata|getrequest|devicecmd|ping)\.aspx$")
_TEXT_HEADERS = [(b"content-type", b"text/plain; charset=utf-8")]


class TooLarge(Exception):
    pass


# Past MAX_UPLOAD_BYTES: what the kit answers for a body over a route's bound.
_TOO_LARGE = error_response(413, "TOO_LARGE", "the request body is too large")


async def _read_body(receive, limit: int) -> bytes | None:
    """The request's body, at most ``limit`` bytes (``TooLarge`` past it); None when the
    client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None  # http.disconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def firmware_path(scope: dict) -> dict:
    """The scope as the routes know it: ``/iclock/<route>.aspx``, as some firmware spells the
    protocol's paths, is ``/iclock/<route>`` (the same request, the same answer); any other
    scope is returned as it is."""
    match = _ASPX.match(scope.get("path", ""))
    if match is None:
        return scope
    path = f"/iclock/{match[1]}"
    return {**scope, "path": path, "raw_path": path.encode()}


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_TEXT_HEADERS, (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


class FastPath:
    """Pure ASGI, in front of FastAPI (its middleware, routing and dependencies: the kit
    serves ``FastPath(app)``), for the two requests a fleet of ZK devices makes all day:

    - the common poll (a known device, nothing due for it: ``ZkEdge.poll_at_once``),
      answered from memory;
    - an ATTLOG upload of a known device (``POST /iclock/cdata?table=ATTLOG``): the body read
      here (at most ``MAX_UPLOAD_BYTES``, else 413), recorded by ``ZkEdge.attlog`` exactly as
      the route does, then ``OK`` — only after the commit holding its rows.

    A path with firmware's ``.aspx`` suffix is first made the route's (``firmware_path``), here
    and for everything behind.

    Anything else (an unknown or uncached serial, a bad query, another table or route, a
    queue to read, the app not started) falls through to the routes, which answer the same
    way. An upload that fails here is answered as the kit's error handler would: 503 when a
    server it needs is down, else 500 (no ``OK``: the device sends it again); one past the
    bound 413 in the kit's error shape, as the route's is. Counted, never logged per request
    (as every route: uvicorn's access log is off). The container is the wrapped app's
    (``scope["app"]``'s where a caller sets one)."""

    def __init__(self, app, transient: tuple[type[BaseException], ...] = ()) -> None:
        self.app = app
        self._transient = transient
        self._answered = POLLS.labels("memory")
        self._routed = POLLS.labels("route")
        self._uploaded = UPLOADS.labels("fast")
        self._upload_routed = UPLOADS.labels("route")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            scope = firmware_path(scope)
            path, method = scope["path"], scope["method"]
            if path == _POLL_PATH and method == "GET":
                reply = self._at_once(scope)
                if reply is not None:
                    self._answered.inc()
                    await _answer(send, 200, reply)
                    return
                self._routed.inc()
            elif path == _UPLOAD_PATH and method == "POST":
                found = self._attlog_of_known(scope)
                if found is not None:
                    self._uploaded.inc()
                    # Its own server span (tracing on): the punches' traces start here.
                    with span("POST /iclock/cdata", kind=SpanKind.SERVER):
                        await self._attlog(found, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _container(self, scope):
        app = scope.get("app", self.app)
        return getattr(getattr(app, "state", None), "device_sync", None)

    def _at_once(self, scope) -> str | None:
        container = self._container(scope)
        if container is None:
            return None
        try:
            query = zk.parse_query(scope["query_string"].decode("latin-1"))
        except zk.ZkInvalid:
            return None  # the route answers 400
        device = container.zk.known(query.serial)
        if device is None:
            return None  # looked up, or a Comm Key to check: the route
        return container.zk.poll_at_once(device, query.info, query.push_version)

    def _attlog_of_known(self, scope):
        """(edge, device, query) for an ATTLOG upload of a device memory holds; None: route."""
        query_string = scope["query_string"]
        if b"ATTLOG" not in query_string.upper():
            return None
        container = self._container(scope)
        if container is None:
            return None
        try:
            query = zk.parse_query(query_string.decode("latin-1"))
        except zk.ZkInvalid:
            return None  # the route answers 400
        if query.table != "ATTLOG":
            return None
        device = container.zk.known(query.serial)
        if device is None:
            self._upload_routed.inc()
            return None  # looked up, or a Comm Key to check: the route
        return container.zk, device, query

    async def _attlog(self, found, scope, receive, send) -> None:
        edge, device, query = found
        length = _content_length(scope)
        if length is not None and length > MAX_UPLOAD_BYTES:
            await _TOO_LARGE(scope, receive, send)
            return
        try:
            raw = await _read_body(receive, MAX_UPLOAD_BYTES)
        except TooLarge:
            await _TOO_LARGE(scope, receive, send)
            return
        if raw is None:
            return  # the device hung up before sending its batch: nothing recorded
        try:
            await edge.attlog(device, raw.decode("utf-8", errors="replace"), query.stamp)
        except zk.ZkInvalid as error:  # as the route's ``_bad`` (its 413 in the kit's shape)
            if error.field == "body":
                await _TOO_LARGE(scope, receive, send)
            else:
                await _answer(send, 400, f"BAD REQUEST: {error}")
            return
        except Exception as error:  # noqa: BLE001 - answered as the kit's handler answers
            if is_transient(error, self._transient):
                log.warning(
                    "a server this service needs is unavailable; answering 503",
                    error=type(error).__name__,
                    method="POST",
                    path=_UPLOAD_PATH,
                )
                await error_response(
                    503,
                    "UNAVAILABLE",
                    "a server this service needs is unavailable; try again shortly",
                    None,
                    {"Retry-After": "2"},
                )(scope, receive, send)
                return
            log.error("unhandled error", method="POST", path=_UPLOAD_PATH, exc_info=error)
            await error_response(500, "INTERNAL", "internal error")(scope, receive, send)
            return
        await _answer(send, 200, "OK")
