"""The kit runs a service's parts outside uvicorn on the loop uvicorn gives the services."""

import asyncio
from types import SimpleNamespace

from punchcard_kit.event_loop import run_as_service
from punchcard_kit.service import uvicorn_config


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_run_as_service_uses_the_loop_uvicorn_serves_the_services_on():
    settings = SimpleNamespace(http_host="127.0.0.1", http_port=0, forwarded_allow_ips="")
    config = uvicorn_config(settings, SimpleNamespace(state=SimpleNamespace()))
    factory = config.get_loop_factory()
    served_on = type(factory()) if factory is not None else asyncio.SelectorEventLoop
    assert run_as_service(_loop_type()) is served_on
    # uvicorn[standard] is a dependency: the services run on uvloop, not asyncio's own loop.
    assert served_on.__module__.startswith("uvloop"), served_on
