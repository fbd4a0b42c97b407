"""One error shape everywhere: ``{"code", "message", "field"}`` — 422 invalid field (the first
one), 401 unauthenticated, 403 wrong role, 404 unknown id (another tenant's too), 409
duplicate, 503 upstream unavailable."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..domain.model import (
    Conflict,
    Forbidden,
    GatewayError,
    Invalid,
    NotFound,
    Unauthenticated,
)

STATUS: dict[type[GatewayError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
}
CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "TOO_LARGE",
    422: "INVALID",
}


class ErrorPublic(BaseModel):
    code: str
    message: str
    field: str | None = None


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers=None
) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "field": field}, status_code=status, headers=headers
    )


def status_of(error: GatewayError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def gateway_error(_: Request, error: GatewayError) -> JSONResponse:
        status = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, error.code, error.message, error.field, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        # Only the location and the message: pydantic's "input" may be a password or a PIN.
        errors = error.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        return error_response(
            422, "INVALID", str(first.get("msg", "invalid request")), ".".join(loc) or None
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        if isinstance(error.detail, dict) and "code" in error.detail:
            return JSONResponse(error.detail, status_code=error.status_code, headers=error.headers)
        code = CODES.get(error.status_code, f"HTTP_{error.status_code}")
        return error_response(error.status_code, code, str(error.detail), None, error.headers)
