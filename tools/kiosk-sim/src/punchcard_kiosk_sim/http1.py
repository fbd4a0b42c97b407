"""A lean HTTP/1.1 keep-alive client for simulated hardware clocks, by the thousand.

A ZK device's exchange is tiny and always the same shape: a GET or a text POST, a short text
answer, on a connection it keeps. aiohttp's request path (yarl URL building, a request and a
response object, a timer and a trace context per call) was most of the simulator's CPU in
bench/zk_push.py, on the same two cores as the services it measures. Here a request is one
bytes write on an asyncio protocol and the answer is parsed by httptools (llhttp, the parser
uvicorn uses): the same bytes on the wire, a fraction of the client's CPU.

`Http1Pool.request(method, url, params, body, timeout)` -> (status, text). Connections are
kept per host and reused; a connection the server closed while idle is dropped. A GET whose
kept connection was closed before any answer goes once more on a new connection (as aiohttp
does for idempotent requests); a POST is never sent twice by the client: the error goes to the
device, which decides (a ZK device sends its batch again, the server deduplicates). Errors are
`aiohttp.ClientConnectionError` subclasses and `TimeoutError`, what ZkDevice already handles.
"""

from __future__ import annotations

import asyncio
from collections import deque
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import httptools

MAX_IDLE_PER_HOST = 4096


class ConnectionLost(aiohttp.ClientConnectionError):
    """The server closed the connection before the answer was complete."""


class ConnectFailed(aiohttp.ClientConnectionError):
    """No connection could be made (refused, unreachable)."""


class BadResponse(aiohttp.ClientConnectionError):
    """The answer was not HTTP/1.1 this client understands."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer parsed by httptools."""

    __slots__ = (
        "transport",
        "parser",
        "waiter",
        "status",
        "body",
        "closed",
        "keep_alive",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.status = 0
        self.body: list[bytes] = []
        self.closed = False
        self.keep_alive = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(BadResponse(str(exc)))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionLost(repr(exc) if exc else "closed by the server"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.body = []

    def on_status(self, status: bytes) -> None:
        pass

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.status, b"".join(self.body)))

    # the client's side
    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def send(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.parser = httptools.HttpResponseParser(self)
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Http1Pool:
    """Keep-alive connections to a few hosts, shared by a fleet of devices (one event loop)."""

    def __init__(self, *, max_idle_per_host: int = MAX_IDLE_PER_HOST) -> None:
        self.max_idle_per_host = max_idle_per_host
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._all: set[_Connection] = set()
        self.connections_made = 0
        self.closed = False

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
        *,
        content_type: str = "text/plain; charset=utf-8",
        timeout: float = 20.0,
    ) -> tuple[int, str]:
        """One request; its status and its body as text (undecodable bytes replaced)."""
        if self.closed:
            raise aiohttp.ClientConnectionError("this pool is closed")
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 80
        target = parts.path or "/"
        if params:
            target += "?" + urlencode(params, quote_via=quote, safe=",:")
        head = [f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"]
        if body is not None:
            head.append(f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n")
        elif method in ("POST", "PUT"):
            head.append("Content-Length: 0\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1") + (body or b"")
        async with asyncio.timeout(timeout):
            status, raw = await self._exchange((host, port), data, method == "GET")
        return status, raw.decode("utf-8", errors="replace")

    async def _exchange(
        self, key: tuple[str, int], data: bytes, idempotent: bool
    ) -> tuple[int, bytes]:
        reused = True
        while True:
            conn = self._take(key)
            if conn is None:
                reused = False
                conn = await self._connect(key)
            try:
                status, raw = await conn.send(data)
            except ConnectionLost:
                conn.close()
                self._all.discard(conn)
                if idempotent and reused and not conn.body and conn.status == 0:
                    # A kept connection the server had closed meanwhile: nothing was answered;
                    # a GET goes once more on a new connection.
                    reused = False
                    continue
                raise
            except BaseException:  # a timeout or a cancellation: the answer may still come
                conn.close()
                self._all.discard(conn)
                raise
            if conn.keep_alive and not conn.closed:
                self._give_back(key, conn)
            else:
                conn.close()
                self._all.discard(conn)
            return status, raw

    def _take(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.status = 0
                conn.body = []
                return conn
            self._all.discard(conn)
        return None

    def _give_back(self, key: tuple[str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(key, deque())
        if len(idle) >= self.max_idle_per_host:
            conn.close()
            self._all.discard(conn)
            return
        idle.append(conn)

    async def _connect(self, key: tuple[str, int]) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(_Connection, *key)
        except OSError as exc:
            raise ConnectFailed(f"{key[0]}:{key[1]}: {exc}") from exc
        self._all.add(conn)
        self.connections_made += 1
        return conn

    async def close(self) -> None:
        self.closed = True
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()
        await asyncio.sleep(0)
