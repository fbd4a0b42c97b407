"""Structured JSON logs (structlog) carrying the correlation id of the work in hand."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, merge_contextvars

from .tracing import add_trace_ids

__all__ = ["configure_logging", "get_logger", "correlation", "bind_contextvars"]


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    """Route both structlog and the standard library (aiokafka, uvicorn) through one renderer."""
    shared = [
        merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka logs every reconnect attempt at ERROR with a traceback; our loops log one clear
    # line per failure themselves.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    bind_contextvars(service=service)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


@contextmanager
def correlation(correlation_id: str | None, **more: object) -> Iterator[None]:
    """Every log line inside carries ``correlation_id`` (and the extra fields)."""
    with bound_contextvars(correlation_id=correlation_id or None, **more):
        yield
