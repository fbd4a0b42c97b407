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

from uvicorn.loops.auto import auto_loop_factory

T = TypeVar("T")

__all__ = ["run_as_service", "service_loop_factory"]


def service_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvicorn's own ``auto`` choice (what ``loop="auto"`` resolves to), not a copy of it."""
    return auto_loop_factory(use_subprocess=False)


def run_as_service(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop the services run on."""
    with asyncio.Runner(loop_factory=service_loop_factory()) as runner:
        return runner.run(main)
