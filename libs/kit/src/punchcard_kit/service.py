"""The composition root every service shares: database, migrations, outbox relay, consumers,
and an HTTP app with /healthz, /readyz and /metrics. A service passes its own routers and
consumer handlers; nothing opens a connection at import time."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .access_log import AccessLog
from .bounds import MAX_JSON_BODY_BYTES
from .db import create_pool, ensure_database
from .http_errors import CODES, DESCRIPTIONS, ApiError, error_responses, install_error_handlers
from .internal_auth import InternalTokenVerifier
from .logging import configure_logging, get_logger
from .messaging.catalogue import DEAD_LETTER_CONFIG
from .messaging.connection import use_kafka_settings
from .messaging.consumer import ConsumerLoop, Handler
from .messaging.relay import OutboxRelay
from .messaging.topics import config_for
from .metrics import HTTP_RESPONSES, observe_request
from .migrations import upgrade_async
from .ops import sample_outbox, start_ops_server
from .periodic import run_periodically
from .retry import Backoff
from .settings import ServiceSettings, load_settings
from .tracing import configure_tracing, shutdown_tracing, traced_http

log = get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Subscription:
    """A consumer group of this service: which topics, and the handler for their events."""

    group_id: str
    topics: Sequence[str]
    handler: Handler
    # Consumers of the group in this process. Kafka gives each its own partitions, so one
    # key's events stay in order on one lane while the lanes work at once (each in its own
    # transaction): for a handler that waits on something else than the database, e.g. argon2.
    lanes: int = 1
    # Errors of this handler's own servers that mean "down, wait" (e.g. Redis's connection
    # errors): the batch is retried with backoff, never dead-lettered.
    transient: tuple[type[BaseException], ...] = ()
    # The handler recognises an event it already handled by a key of its own, kept for ever
    # (punch's verdicts: the attempt id): the loop records no event ids for this group
    # (``ConsumerLoop(idempotent_handler=True)``).
    idempotent_handler: bool = False


@dataclass
class Runtime:
    """What the kit's lifespan opened, handed to a service's ``on_started`` (its composition
    root): the pool, the relay, the consumers, the service's own resources and jobs."""

    settings: ServiceSettings
    pool: asyncpg.Pool
    relay: OutboxRelay | None = None
    consumers: list[ConsumerLoop] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # /readyz: name -> async callable answering within 2 s (a server: Redis), and
    # name -> object with ``healthy`` (a loop of the service's own: a TopicFollower).
    ready_checks: dict[str, Callable[[], Awaitable[Any]]] = field(default_factory=dict)
    ready_loops: dict[str, Any] = field(default_factory=dict)
    resources: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def enter(self, resource: AbstractAsyncContextManager[T]) -> T:
        """Open a resource of the service's (an HTTP client, a Redis client) for the life of
        the process; closed when the service stops, after its loops and jobs, before the pool."""
        return await self.resources.enter_async_context(resource)

    def on_close(self, close: Callable[[], Awaitable[Any]]) -> None:
        """Call ``close()`` when the service stops (with the resources, last opened first)."""
        self.resources.push_async_callback(close)

    def freeze_start_up(self) -> None:
        freeze_start_up(self.settings.gc_gen0_threshold)

    async def drain(self) -> None:
        """At shutdown: stop the consumers and the relay, let each finish the batch in hand
        (up to 30 s), then cancel what is left of the loops and jobs."""
        self.stopping.set()
        for consumer in self.consumers:
            consumer.stop()
        if self.relay is not None:
            self.relay.stop()
        pending = set()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=30)
        for task in pending:
            task.cancel()

    def supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run a long-lived loop of the service's own (a TopicFollower's ``run``): restarted
        with backoff if it crashes; give it a ``stop`` via ``on_stopping``."""
        self.tasks.append(asyncio.create_task(_supervise(name, run, self.stopping), name=name))

    def every(
        self,
        name: str,
        interval_s: float,
        job: Callable[[], Awaitable[object]],
        *,
        first_after_s: float | None = None,
    ) -> None:
        """Run ``job`` every ``interval_s`` (first after ``first_after_s``, default one
        interval) until the service stops. A job that raises is logged (one line, its error)
        and run again at the next tick; it is never run twice at once. Call from
        ``on_started``; SIGTERM lets a run in progress finish."""

        self.tasks.append(
            asyncio.create_task(
                run_periodically(
                    name,
                    job,
                    every_s=interval_s,
                    stopping=self.stopping,
                    first_after_s=first_after_s,
                ),
                name=name,
            )
        )


def freeze_start_up(gen0_threshold: int) -> None:
    """Called once a service has started. What start-up built (modules, the app, caches) lives
    as long as the process: out of the cyclic collector's way, so its full passes walk only
    what requests allocate. And the collector runs once ``gen0_threshold`` more container
    objects have been allocated than freed (GC_GEN0_THRESHOLD; the older generations as
    Python has them): punch and device-sync raise it for their large batches
    (punchcard_kit.settings.BATCH_GC_GEN0_THRESHOLD)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(gen0_threshold, *gc.get_threshold()[1:])


def _start_relay(runtime: Runtime) -> None:
    """The outbox relay of this service, on the runtime's pool, supervised (``_supervise``)."""
    settings = runtime.settings
    assert settings.database_url is not None and settings.kafka_bootstrap_servers is not None
    runtime.relay = OutboxRelay(
        pool=runtime.pool,
        dsn=settings.database_url,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        name=settings.service_name,
        batch_size=settings.relay_batch_size,
        batch_max_bytes=settings.relay_batch_max_bytes,
        poll_interval_s=settings.relay_poll_interval_s,
    )
    runtime.supervise("relay", runtime.relay.run)


def create_relay_app(settings: ServiceSettings) -> FastAPI:
    """``<service> relay``: this service's outbox relay alone, in a process of its own, beside
    a ``serve`` process started with ``RELAY_ENABLED=false`` (docs/architecture.md, "The
    relay in its own process"). It serves only /healthz, /readyz (database, relay) and
    /metrics. It does not migrate: until the serving process has made the outbox, the relay
    fails, logs it, and tries again with backoff. Several relays of one service (one per
    replica) share the outbox as the in-process ones do (its shard locks)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        use_kafka_settings(settings)
        assert settings.database_url is not None
        # The relay holds one connection for its claims and one for LISTEN; /readyz one more.
        pool = await create_pool(
            settings.database_url,
            min_size=1,
            max_size=3,
            timeout=settings.db_connect_timeout_s,
            command_timeout=settings.db_command_timeout_s,
        )
        runtime = Runtime(settings=settings, pool=pool)
        app.state.runtime = runtime
        _start_relay(runtime)
        runtime.freeze_start_up()
        log.info("relay started", ops=f"{settings.http_host}:{settings.http_port}")
        try:
            yield
        finally:
            await runtime.drain()
            await pool.close()
            log.info("relay stopped")
            shutdown_tracing()

    app = FastAPI(
        title=f"{settings.service_name} outbox relay",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    # The producer spans of traced rows (punchcard_kit.tracing), as in the serving process.
    configure_tracing(settings)
    app.state.on_exit = []
    app.include_router(health_router())
    return app


async def _supervise(
    name: str, run: Callable[[], Awaitable[None]], stopping: asyncio.Event
) -> None:
    """Run a loop; if it ever crashes, log it and start it again with backoff."""
    backoff = Backoff(0.5, 30)
    while not stopping.is_set():
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            delay = backoff.delay()
            log.exception("background loop crashed; restarting", loop=name, retry_in_s=delay)
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                pass


def create_service_app(
    settings: ServiceSettings,
    *,
    package: str,
    title: str,
    routers: Sequence[APIRouter] = (),
    subscriptions: Callable[[Runtime], Sequence[Subscription]] = lambda runtime: (),
    on_started: Callable[[Runtime], Awaitable[None]] | None = None,
    on_stopped: Callable[[Runtime], Awaitable[None]] | None = None,
    pool_max_size: int = 10,
    max_body_size: int = MAX_JSON_BODY_BYTES,
    transient: tuple[type[BaseException], ...] = (),
    on_stopping: Callable[[Runtime], None] | None = None,
) -> FastAPI:
    """``package`` holds ``migrations/``; ``subscriptions`` builds this service's consumers.

    ``app.state.on_exit``: callables run the moment a shutdown signal arrives, before uvicorn
    waits for requests in flight (e.g. to answer held long-polls at once).

    ``max_body_size``: every request body is refused with 413 past this many bytes (the
    declared Content-Length at once, a chunked body as it arrives), before more is read; a
    route that needs more (an upload, a bulk call) declares its own ``max_body_size=…``.

    ``on_started(runtime)`` is the service's composition root, called before the consumers are
    built (``subscriptions(runtime)`` comes after it, so handlers can use what it built): it
    builds its container (``bootstrap``) on ``runtime.pool``, opens its own resources with
    ``runtime.enter(...)``, starts its periodic jobs with ``runtime.every(...)`` and its own
    loops with ``runtime.supervise(...)``.
    ``on_stopping(runtime)`` runs first at shutdown (stop the service's own loops);
    ``transient``: this service's "a server is down" errors, answered 503 like the kit's."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        # Every Kafka client of this process (relay, consumers, followers, the kit's admin
        # calls) connects with this service's KAFKA_SECURITY_PROTOCOL, SASL and TLS settings.
        use_kafka_settings(settings)
        # The ops port (punchcard_kit.ops): up first, so /healthz answers during migrations.
        ops = await start_ops_server(app, settings, health_router())
        dsn = settings.database_url
        assert dsn is not None and settings.kafka_bootstrap_servers is not None
        if settings.environment in ("development", "test"):
            await ensure_database(dsn)
        await upgrade_async(dsn, package)
        pool = await create_pool(
            dsn,
            min_size=2,
            max_size=pool_max_size,
            timeout=settings.db_connect_timeout_s,
            command_timeout=settings.db_command_timeout_s,
        )
        runtime = Runtime(settings=settings, pool=pool)
        app.state.runtime = runtime
        stopping = runtime.stopping
        if settings.relay_enabled:
            _start_relay(runtime)
        # Every service has an outbox: its backlog and age are sampled, relay or not.
        runtime.every(
            "outbox metrics",
            settings.outbox_metrics_interval_s,
            lambda: sample_outbox(pool, settings.service_name),
            first_after_s=0,
        )
        if on_started is not None:
            await on_started(runtime)
        for sub in subscriptions(runtime):
            for lane in range(max(1, sub.lanes)):
                loop = ConsumerLoop(
                    group_id=sub.group_id + settings.consumer_group_suffix,
                    topics=sub.topics,
                    handler=sub.handler,
                    pool=pool,
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    max_batch=settings.consumer_max_batch,
                    max_attempts=settings.consumer_max_attempts,
                    processed_retention_days=settings.processed_events_retention_days,
                    dlq_replication_factor=settings.kafka_replication_factor,
                    # As deploy/topics.yaml's dead_letters says (created there; here only
                    # where it is missing: a developer's stack, a test's group suffix).
                    dlq_config=config_for(
                        DEAD_LETTER_CONFIG.get(sub.group_id, {}),
                        settings.kafka_replication_factor,
                    ),
                    consumer_options={"auto_offset_reset": settings.consumer_offset_reset},
                    transient=tuple(sub.transient) + tuple(transient),
                    idempotent_handler=sub.idempotent_handler,
                )
                loop.lane = lane
                name = sub.group_id if sub.lanes <= 1 else f"{sub.group_id}#{lane}"
                runtime.consumers.append(loop)
                runtime.tasks.append(asyncio.create_task(_supervise(name, loop.run, stopping)))
        runtime.freeze_start_up()
        log.info("service started", http=f"{settings.http_host}:{settings.http_port}")
        try:
            yield
        finally:
            # SIGTERM: uvicorn stops taking requests, then we drain the loops and close.
            stopping.set()
            if on_stopping is not None:
                on_stopping(runtime)
            await runtime.drain()
            if on_stopped is not None:
                await on_stopped(runtime)
            await runtime.resources.aclose()
            await pool.close()
            if ops is not None:
                await ops.stop()
            log.info("service stopped")
            shutdown_tracing()

    app = _ServiceApp(title=title, lifespan=lifespan, max_body_size=max_body_size)
    app.state.service_name = settings.service_name
    # Traces and access logs (punchcard_kit.tracing, .access_log): off unless configured.
    configure_tracing(settings)
    app.state.access_log_sample_every = settings.access_log_sample_every
    app.state.on_exit = []
    install_error_handlers(app, tuple(transient))
    if settings.verifies_internal_tokens and settings.internal_token_public_key is not None:
        app.state.internal_token_verifier = InternalTokenVerifier.for_service(
            settings.internal_token_public_key, settings.service_name
        )
    app.include_router(health_router())
    for router in routers:
        # Every route may answer 422 (bad input) and 503 (a server it needs is down) in the
        # one error shape: declared here once (a route's own declaration wins).
        app.include_router(router, responses=error_responses(422, 503))
    return app


class _ServiceApp(FastAPI):
    """FastAPI, whose body limit (Starlette's RequestBodyLimitMiddleware) answers a declared
    Content-Length over the limit with a text/plain 413 of its own: that answer gets the one
    error shape too, and the OpenAPI names it on every operation that takes a body."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            declare_refusals(super().openapi())  # FastAPI keeps the document it returns
        return self.openapi_schema

    def build_middleware_stack(self):
        counted = _CountResponses(
            super().build_middleware_stack(), getattr(self.state, "service_name", "unknown")
        )
        shaped = _TooLargeInErrorShape(counted)
        # The access log runs inside the request's server span, so its line carries the trace.
        sample_every = getattr(self.state, "access_log_sample_every", 10)
        return traced_http(AccessLog(shaped, sample_every=sample_every))


UNREADABLE = (
    "The request could not be read as HTTP (a malformed request line or header, or a URL over"
    " 64 KiB); nothing changed"
)


def declare_refusals(document: dict[str, Any]) -> None:
    """Adds to each operation of an OpenAPI document the refusals the kit makes before the
    operation runs, in the error shape, where the operation does not declare its own: the 413 of
    the body limit to each that takes a body (the ZK edge's 413 is text), and the 400 of a request
    the HTTP server cannot read (``_HttpProtocol``) to every one. A client, or a fuzzer, sending
    such a request learns the answer it gets."""
    if "ErrorPublic" not in document.get("components", {}).get("schemas", {}):
        return

    def refusal(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}
            },
        }

    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"].setdefault("400", refusal(UNREADABLE))
            if "requestBody" in operation:
                operation["responses"].setdefault("413", refusal(DESCRIPTIONS[413]))


class _HttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools), which answers a request it cannot read as HTTP
    (a malformed request line or header; a URL over ~64 KiB, past which httptools stops) with
    a 400 before any app sees it: here in the error shape, not uvicorn's plain
    text, like every other refusal (declared by ``declare_refusals``)."""

    BODY = json.dumps(ApiError(400, CODES[400], UNREADABLE).body()).encode()

    def send_400_response(self, msg: str) -> None:
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(self.BODY)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                self.BODY,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


class _CountResponses:
    """Counts every response the app sends by its status class
    (``punchcard_http_responses_total{service, code}``: the 5xx share the alerts watch), and
    by route template (``punchcard_http_requests_total`` and ``_request_seconds``: metrics.py)."""

    def __init__(self, app, service: str) -> None:
        self.app = app
        self.service = service
        self.classes = {c: HTTP_RESPONSES.labels(service, f"{c}xx") for c in range(1, 6)}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def counting(message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                counter = self.classes.get(status // 100)
                if counter is not None:
                    counter.inc()
                observe_request(self.service, scope, status, time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, counting)


class _TooLargeInErrorShape:
    BODY = json.dumps(
        {"code": "TOO_LARGE", "message": "the request body is too large", "field": None}
    ).encode()

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rewriting = False

        async def send_shaped(message) -> None:
            nonlocal rewriting
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = dict(message.get("headers", ()))
                rewriting = headers.get(b"content-type", b"").startswith(b"text/plain")
                if rewriting:
                    message = {
                        **message,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(self.BODY)).encode()),
                        ],
                    }
            elif message["type"] == "http.response.body" and rewriting:
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": self.BODY}
            await send(message)

        await self.app(scope, receive, send_shaped)


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive (the event loop answers)."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Ready to take traffic: database answers, relay and consumers are connected, and
        the service's own checks (``runtime.ready_checks``, ``runtime.ready_loops``) answer."""
        runtime: Runtime | None = getattr(request.app.state, "runtime", None)
        checks: dict[str, str] = {}
        if runtime is None:
            return JSONResponse({"status": "starting", "checks": checks}, status_code=503)
        try:
            async with asyncio.timeout(2):
                await runtime.pool.fetchval("SELECT 1")
            checks["database"] = "ok"
        except Exception as error:  # noqa: BLE001
            checks["database"] = f"down: {type(error).__name__}"
        if runtime.relay is not None:
            checks["outbox_relay"] = "ok" if runtime.relay.healthy else "not connected"
        for consumer in runtime.consumers:
            lane = f"#{consumer.lane}" if consumer.lane else ""
            checks[f"consumer:{consumer.group_id}{lane}"] = (
                "ok" if consumer.healthy else "not connected"
            )
        # A service's own loops (e.g. a TopicFollower): name -> object with ``healthy``.
        loops = {**getattr(request.app.state, "ready_loops", {}), **runtime.ready_loops}
        for name, loop in loops.items():
            checks[name] = "ok" if loop.healthy else "not connected"
        # A service's own servers (e.g. Redis): name -> async callable that answers in 2 s.
        own_checks = {**getattr(request.app.state, "ready_checks", {}), **runtime.ready_checks}
        for name, check in own_checks.items():
            try:
                async with asyncio.timeout(2):
                    await check()
                checks[name] = "ok"
            except Exception as error:  # noqa: BLE001
                checks[name] = f"down: {type(error).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def service_main(
    settings_cls: type[ServiceSettings],
    build_app: Callable[[ServiceSettings], FastAPI],
    package: str,
    argv: list[str] | None = None,
) -> None:
    """The command line of every service: ``serve`` (default), ``migrate``, or ``relay`` (the
    outbox relay alone, its /healthz, /readyz and /metrics on OPS_PORT, else HTTP_PORT:
    ``create_relay_app``)."""
    parser = argparse.ArgumentParser(
        description=f"{package}: serve HTTP and its loops, migrate, or run its outbox relay alone"
    )
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "migrate", "relay"]
    )
    args = parser.parse_args(argv)
    settings = load_settings(settings_cls)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if args.command == "migrate":

        async def migrate() -> None:
            if settings.environment in ("development", "test"):
                await ensure_database(settings.database_url)
            await upgrade_async(settings.database_url, package)

        asyncio.run(migrate())
        return
    if args.command == "relay":
        # Its only routes are the ops ones: served on the ops port where there is one.
        settings = settings.model_copy(
            update={
                "http_host": settings.ops_host or settings.http_host,
                "http_port": settings.ops_port or settings.http_port,
            }
        )
        relay_app = create_relay_app(settings)
        _Server(uvicorn_config(settings, relay_app), relay_app.state.on_exit).run()
        return
    app = build_app(settings)
    _Server(uvicorn_config(settings, app), app.state.on_exit).run()


# Idle keep-alive connections: a service closes one after SERVER_KEEP_ALIVE_S (uvicorn's
# default, made explicit); a service's client of another (the gateway's httpx clients) forgets
# one after CLIENT_KEEPALIVE_EXPIRY_S, well before. With both at 5 s (the libraries'
# defaults) a client may reuse a connection just as the server closes it and get a ReadError on
# a request it cannot safely send again (seen as a 503 UPSTREAM_UNAVAILABLE on a POST).
SERVER_KEEP_ALIVE_S = 5
CLIENT_KEEPALIVE_EXPIRY_S = 2.0


def uvicorn_config(settings: ServiceSettings, app: FastAPI) -> uvicorn.Config:
    """How every service is served (``FORWARDED_ALLOW_IPS``: the proxies believed about the
    real client address)."""
    # A service's ASGI front (``app.state.front``, e.g. device-sync's ZK fast path): in front
    # of FastAPI's whole middleware stack, so the requests it answers itself skip it.
    front = getattr(app.state, "front", None)
    return uvicorn.Config(
        front(app) if front is not None else app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
        timeout_keep_alive=SERVER_KEEP_ALIVE_S,
        backlog=4096,
        http=_HttpProtocol,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, running the app's ``on_exit`` hooks when a shutdown signal arrives."""

    def __init__(self, config: uvicorn.Config, on_exit: list[Callable[[], None]]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig, frame) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for hook in self._on_exit:
            if loop is not None:
                loop.call_soon_threadsafe(hook)
            else:
                hook()
        super().handle_exit(sig, frame)
