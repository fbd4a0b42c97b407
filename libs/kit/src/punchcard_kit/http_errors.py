"""One error shape for every HTTP API: ``{"code", "message", "field"}`` with the right status
(422 invalid field, 404 unknown id, 409 duplicate, 401/403 access). Bad input changes nothing."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} not found")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        return JSONResponse(
            {
                "code": "INVALID",
                "message": first.get("msg", "invalid request"),
                "field": ".".join(loc) or None,
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        if isinstance(error.detail, dict) and "code" in error.detail:
            body = error.detail
        else:
            body = {
                "code": f"HTTP_{error.status_code}",
                "message": str(error.detail),
                "field": None,
            }
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)
