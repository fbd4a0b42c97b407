"""One error shape everywhere: ``{"code", "message", "field"}`` — 422 invalid field (the first
one), 401 unauthenticated, 403 wrong role, 404 unknown id (another tenant's too), 409
duplicate, 413 too large, 429 too many failed logins (with Retry-After), 503 upstream
unavailable or busy (with Retry-After)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from punchcard_kit.http_errors import ErrorPublic, error_response

from ..domain.edge_limits import RateLimited
from ..domain.kiosk import TooLarge, Unavailable
from ..domain.login import Busy, TooManyAttempts, retry_after_header
from ..domain.model import (
    Conflict,
    Forbidden,
    GatewayError,
    Invalid,
    NotFound,
    Unauthenticated,
)

__all__ = ["ErrorPublic", "error_response", "install_error_handlers", "status_of"]

STATUS: dict[type[GatewayError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    TooLarge: 413,
    TooManyAttempts: 429,
    Unavailable: 503,
    Busy: 503,
    RateLimited: 429,
}
# Seconds a client (a kiosk keeping its attempt) waits before sending again.
RETRY_AFTER_S = "2"


def status_of(error: GatewayError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def install_error_handlers(app: FastAPI) -> None:
    """The gateway's own errors; the kit's handlers (installed by create_service_app) cover
    validation errors and plain HTTP exceptions with the same shape."""

    @app.exception_handler(GatewayError)
    async def gateway_error(_: Request, error: GatewayError) -> JSONResponse:
        status = status_of(error)
        headers = None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        elif isinstance(error, TooManyAttempts):
            headers = {"Retry-After": retry_after_header(error.retry_after_s)}
        elif status == 503:
            headers = {"Retry-After": RETRY_AFTER_S}
        elif isinstance(error, RateLimited):
            headers = {"Retry-After": str(error.retry_after_s)}
        return error_response(status, error.code, error.message, error.field, headers)
