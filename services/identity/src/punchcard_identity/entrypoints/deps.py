"""Dependencies of identity's routes, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from punchcard_kit.internal_auth import Caller, current_caller, current_caller_or_clock

from ..bootstrap import IdentityContainer
from ..service_layer.workers import Services


def _container(request: Request) -> IdentityContainer:
    return request.app.state.identity


def _services(request: Request) -> Services:
    return _container(request).services


CallerDep = Annotated[Caller, Depends(current_caller)]
# Only for the endpoints meant for clocks (the kiosk edge asking as a clock).
ClockCallerDep = Annotated[Caller, Depends(current_caller_or_clock)]
ContainerDep = Annotated[IdentityContainer, Depends(_container)]
ServicesDep = Annotated[Services, Depends(_services)]
