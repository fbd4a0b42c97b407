"""The ops side of every service: its /metrics, /healthz and /readyz on a port of their own
(``OPS_PORT``), which the ingress never routes and only Prometheus (and the kubelet) reaches,
and the samplers of gauges that are read from the database (the outbox's backlog and age).

With ``OPS_PORT`` unset nothing listens there: the same endpoints stay on the API's port,
as they always are (``make run``, the tests and the benchmarks read them there)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import uvicorn
from fastapi import FastAPI

from .logging import get_logger
from .metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, outbox_age_s

log = get_logger(__name__)

# Counting a runaway outbox stops here (the gauge then means "at least"): a sample never
# scans more than this many rows.
OUTBOX_COUNT_CAP = 100_000
_OUTBOX_SAMPLE = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox LIMIT $1) AS waiting) AS backlog,
       (SELECT created_at FROM outbox ORDER BY id LIMIT 1) AS oldest,
       clock_timestamp() AS now
"""


def outbox_sample(backlog: int, oldest: datetime | None, now: datetime) -> tuple[int, float]:
    """(rows waiting, age of the oldest in seconds) as the gauges show them."""
    return backlog, outbox_age_s(oldest, now)


async def sample_outbox(pool: asyncpg.Pool, service: str) -> tuple[int, float]:
    """Set ``punchcard_outbox_backlog`` and ``punchcard_outbox_oldest_age_seconds`` from the
    outbox (its primary key's order is its insertion order; the database's clock is the one
    that stamped the rows)."""
    row = await pool.fetchrow(_OUTBOX_SAMPLE, OUTBOX_COUNT_CAP)
    backlog, age = outbox_sample(row["backlog"], row["oldest"], row["now"])
    OUTBOX_BACKLOG.labels(service).set(backlog)
    OUTBOX_OLDEST_AGE.labels(service).set(age)
    return backlog, age


def ops_app(app: FastAPI, routes) -> FastAPI:
    """The ops endpoints (``routes``: the kit's health router) answering for ``app``: the
    same runtime and checks, through the same state."""
    ops = FastAPI(title=f"{app.title} (ops)", openapi_url=None, docs_url=None, redoc_url=None)
    ops.state = app.state
    ops.include_router(routes)
    return ops


class OpsServer:
    """A second uvicorn server in the service's event loop, for the ops app: started by the
    lifespan before anything else (so /healthz answers during migrations), stopped last."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(self.config)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        # uvicorn's serve() would take over the process' signal handlers (the API server's):
        # its parts are run here instead.
        self.config.load()
        self.server.lifespan = self.config.lifespan_class(self.config)
        try:
            await self.server.startup()
        except SystemExit as error:  # uvicorn exits when it cannot bind
            raise RuntimeError(
                f"cannot listen on OPS_PORT {self.config.port} ({self.config.host})"
            ) from error
        self._task = asyncio.create_task(self.server.main_loop(), name="ops-server")
        log.info("ops endpoints listening", ops=f"{self.config.host}:{self.config.port}")

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        await self._task
        await self.server.shutdown()
        self._task = None


async def start_ops_server(app: FastAPI, settings, routes) -> OpsServer | None:
    """The ops server of ``app`` when ``settings.ops_port`` is set (else None)."""
    if settings.ops_port is None:
        return None
    server = OpsServer(
        ops_app(app, routes), settings.ops_host or settings.http_host, settings.ops_port
    )
    await server.start()
    return server
