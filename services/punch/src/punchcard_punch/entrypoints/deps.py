"""Dependencies of punch's routes, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from punchcard_kit.internal_auth import Caller, current_caller, current_caller_or_clock

from ..bootstrap import PunchContainer


def _punch(request: Request) -> PunchContainer:
    return request.app.state.punch


PunchDep = Annotated[PunchContainer, Depends(_punch)]
# An admin (the gateway forwarding an admin's request).
CallerDep = Annotated[Caller, Depends(current_caller)]
# The kiosk edge asks for an attempt's outcome on a clock's behalf.
ClockOrAdminDep = Annotated[Caller, Depends(current_caller_or_clock)]
