"""Dependencies of the internal API's routes, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from punchcard_kit.internal_auth import Caller, current_caller, current_caller_or_clock

from ..bootstrap import FaceMatchContainer


def _face_match(request: Request) -> FaceMatchContainer:
    return request.app.state.face_match


def _request_id(request: Request) -> str | None:
    return request.headers.get("x-request-id")


FaceMatchDep = Annotated[FaceMatchContainer, Depends(_face_match)]
CallerDep = Annotated[Caller, Depends(current_caller)]
# Only for the endpoints meant for clocks (the kiosk edge asking as a clock).
ClockCallerDep = Annotated[Caller, Depends(current_caller_or_clock)]
RequestIdDep = Annotated[str | None, Depends(_request_id)]
