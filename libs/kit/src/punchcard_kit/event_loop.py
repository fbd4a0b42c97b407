"""The event loop the services run on, for what runs their parts outside uvicorn.

Every service is served by uvicorn with its ``loop="auto"``: uvloop where it is installed
(``uvicorn[standard]`` installs it), asyncio's own loop otherwise. A process that runs a
service's loops without uvicorn (the standalone ``punchcard-relay``, a benchmark's consumer
process) runs them with ``run_as_service``, so it behaves and is measured as the services are
(the ledger bench's flag ``a`` keeps asyncio's loop, to compare)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run_as_service", "service_loop_factory"]


def service_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvicorn's ``auto`` choice: uvloop's loop where installed, else None (asyncio's own)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it on Linux
        return None
    return uvloop.new_event_loop


def run_as_service(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop the services run on."""
    with asyncio.Runner(loop_factory=service_loop_factory()) as runner:
        return runner.run(main)
