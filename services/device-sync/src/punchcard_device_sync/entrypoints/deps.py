"""Dependencies of device-sync's routes, as Annotated aliases: the container ``on_started``
built, the admin caller (the gateway's internal token) and the clock (its bearer credential)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from punchcard_kit.internal_auth import Caller, current_caller

from ..bootstrap import DeviceSyncContainer
from ..domain.errors import clock_unauthorized
from ..service_layer.sync import AuthenticatedClock


async def _container(request: Request) -> DeviceSyncContainer:
    return request.app.state.device_sync


ContainerDep = Annotated[DeviceSyncContainer, Depends(_container)]
CallerDep = Annotated[Caller, Depends(current_caller)]


async def current_clock(request: Request, container: ContainerDep) -> AuthenticatedClock:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise clock_unauthorized()
    return await container.sync.authenticate(credential.strip())


ClockDep = Annotated[AuthenticatedClock, Depends(current_clock)]
