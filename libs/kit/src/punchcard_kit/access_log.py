"""Access logs: one structured line per answered request (sampled), carrying its trace.

``{"event": "request", "method", "route" (the template, e.g. /kiosk/v1/punches/{attempt_id}),
"status", "duration_ms", "trace_id", "span_id", ...}`` through the kit's structlog logger, so
a slow or failed request found in the logs leads to its trace, and a trace to its log lines.

Sampled: every 4xx and 5xx is logged; of the answers under 400, one in
``ACCESS_LOG_SAMPLE_EVERY`` (0: none). Health probes and /metrics (polled every few seconds)
only when they fail. Never the query string or a body (PINs and photos travel in bodies).

When tracing is on, the middleware runs inside the HTTP server span (``tracing.py``) and
names it after the route template once routing has found it (``POST /kiosk/v1/punches``),
not after the path (which holds ids).
"""

from __future__ import annotations

import itertools
import time

from opentelemetry import trace

from .logging import get_logger
from .tracing import tracing_enabled

log = get_logger("punchcard.access")

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def route_template(scope: dict) -> str | None:
    """The path template of the route that answered (set by Starlette's router), or None
    (no route matched: a 404, or a mount)."""
    route = scope.get("route")
    return getattr(route, "path", None) if route is not None else None


class AccessLog:
    """ASGI middleware writing the access log (see the module's docstring)."""

    def __init__(self, app, *, sample_every: int = 10) -> None:
        self.app = app
        self.sample_every = sample_every
        self._count = itertools.count()

    def should_log(self, path: str, status: int) -> bool:
        if status >= 400:
            return True
        if path in QUIET_PATHS or self.sample_every <= 0:
            return False
        return next(self._count) % self.sample_every == 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an app that raises before answering is answered 500 by Starlette

        async def capture(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if tracing:
                    _name_server_span(scope)
            await send(message)

        tracing = tracing_enabled()
        try:
            await self.app(scope, receive, capture)
        finally:
            route = route_template(scope)
            path = scope.get("path", "")
            if self.should_log(path, status):
                client = scope.get("client")
                log.info(
                    "request",
                    method=scope.get("method"),
                    route=route,
                    path=path[:200] if route is None else None,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    client=client[0] if client else None,
                )


def _name_server_span(scope: dict) -> None:
    """Name the request's server span after its route template (before the answer ends it)."""
    route = route_template(scope)
    current = trace.get_current_span()
    if route is not None and current.is_recording():
        current.update_name(f"{scope['method']} {route}")
        current.set_attribute("http.route", route)
