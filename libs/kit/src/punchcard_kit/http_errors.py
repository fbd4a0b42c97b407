"""One error shape for every HTTP API: ``{"code", "message", "field"}`` with the right status
(422 invalid field, 404 unknown id, 409 duplicate, 401/403 access, 503 a server this service
needs is down). Bad input changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from . import errors
from .logging import get_logger
from .patterns import meaning_of
from .retry import TRANSIENT_ERRORS, is_transient

log = get_logger(__name__)

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "TOO_LARGE",
    422: "INVALID",
    429: "TOO_MANY_REQUESTS",
    503: "UNAVAILABLE",
}

DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or the credential is no longer valid",
    403: "The caller's role or sites do not allow this",
    404: "Not found (or not one the caller may see)",
    409: "Conflicts with the current state",
    413: "The request body is too large",
    422: "Invalid input: `field` names the first bad one; nothing changed",
    429: "Too many attempts; `Retry-After` says when to try again",
    503: "A server this needs is down; nothing changed, try again after `Retry-After`",
}

#: The status of each domain error (``punchcard_kit.errors``): the one place that maps them.
DOMAIN_STATUS: dict[type[errors.DomainError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.Invalid: 422,
    errors.TooManyRequests: 429,
    errors.Unavailable: 503,
}

DEFAULT_RETRY_AFTER_S = 2


def status_of(error: errors.DomainError) -> int:
    """The HTTP status of a domain error: its nearest class in ``DOMAIN_STATUS`` (400 else)."""
    for cls in type(error).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def _retry_after(seconds: float) -> str:
    return str(max(1, int(-(-seconds // 1))))


def domain_error_response(error: errors.DomainError) -> JSONResponse:
    status = status_of(error)
    headers: dict[str, str] | None = None
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif status in (429, 503):
        seconds = error.retry_after_s
        headers = {"Retry-After": _retry_after(seconds or DEFAULT_RETRY_AFTER_S)}
    # ``body()``: the one shape; a rule that says more (e.g. each photo's verdict) adds keys.
    return JSONResponse(error.body(), status_code=status, headers=headers)


class ErrorPublic(BaseModel):
    """The error body, for OpenAPI ``responses=``."""

    code: str
    message: str
    field: str | None = None


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI ``responses=`` declaring the error shape for these statuses, e.g.
    ``error_responses(404, 409)``; 422 and 503 are declared on every route by the kit
    (``service.declare_error_responses``)."""
    return {
        status: {"model": ErrorPublic, "description": DESCRIPTIONS.get(status, "error")}
        for status in statuses
    }


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers  # e.g. Retry-After with a 429

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} not found")


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers=None
) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "field": field}, status_code=status, headers=headers
    )


# FastAPI's answer to a body it could not decode before any validation (fastapi/routing.py).
_UNREADABLE_BODY = "There was an error parsing the body"
_NOT_JSON = "the request body is not valid JSON"

# What pydantic calls a body that is not the JSON object a route takes: a list, a string, or
# bytes sent as another content type (FastAPI parses only ``application/json`` bodies).
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type", "model_type"})


def first_problem(errors: Sequence[Mapping[str, Any]]) -> tuple[str, str | None]:
    """A request's first validation error (FastAPI's ``RequestValidationError.errors()``) as
    the error body's ``message`` and ``field``: the field a client can point at (``a.b.0``),
    or None when the problem is the body as a whole (none, not JSON, not a JSON object).
    Only the location and pydantic's message: its ``input`` may be a password or a PIN."""
    first = errors[0] if errors else {}
    where = tuple(first.get("loc", ()))
    kind = first.get("type")
    if kind == "json_invalid":  # loc: ("body", the character where decoding stopped)
        at = where[1] if len(where) > 1 else None
        reason = (first.get("ctx") or {}).get("error", "")
        detail = f" ({reason} at character {at})" if reason and at is not None else ""
        return f"{_NOT_JSON}{detail}", None
    if where == ("body",) and kind == "missing":  # no body at all
        return "the request needs a JSON body", None
    if where == ("body",) and kind in _NOT_AN_OBJECT:
        return "the request body must be a JSON object (Content-Type: application/json)", None
    loc = [str(p) for p in where if p not in ("body", "query", "path", "header")]
    message = str(first.get("msg", "invalid request"))
    if kind == "string_pattern_mismatch":
        meaning = meaning_of((first.get("ctx") or {}).get("pattern"))
        if meaning is not None:  # the words, not the regular expression (patterns.py)
            message = f"Input should be {meaning}"
    return message, ".".join(loc) or None


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(routes: Sequence[BaseRoute], scope: Mapping[str, Any]) -> list[str]:
    """The methods some route serves at the request's path (a 405's ``Allow``, RFC 9110):
    Starlette names only the first route it matched by path, so a path with GET and POST on
    two routes said ``Allow: GET``. Each method is asked of every route, included routers too."""
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    ]


def install_error_handlers(app: FastAPI, transient: tuple[type[BaseException], ...] = ()) -> None:
    """``transient``: this service's own errors that mean "a server is down" (e.g. Redis's
    connection errors): answered 503 like the kit's."""

    @app.exception_handler(errors.DomainError)
    async def domain_error(_: Request, error: errors.DomainError) -> JSONResponse:
        return domain_error_response(error)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.field, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        # Only the location and the message: pydantic's "input" may be a password or a PIN.
        message, field = first_problem(error.errors())
        return error_response(422, "INVALID", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:
            # FastAPI or Starlette could not read the body at all (bytes that are no UTF-8
            # text; a multipart body whose parts do not parse: "Invalid multipart data."):
            # invalid input like any body that is not JSON, the 422 every route documents.
            # Nothing of ours raises a 400.
            message = _NOT_JSON if error.detail == _UNREADABLE_BODY else str(error.detail)
            return error_response(422, "INVALID", message, None)
        if isinstance(error.detail, dict) and "code" in error.detail:
            return JSONResponse(error.detail, status_code=error.status_code, headers=error.headers)
        code = CODES.get(error.status_code, f"HTTP_{error.status_code}")
        headers = error.headers
        if error.status_code == 405 and (allowed := allowed_methods(app.routes, request.scope)):
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return error_response(error.status_code, code, str(error.detail), None, headers)

    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # The request's transaction rolled back: nothing changed; the caller may retry.
        if is_transient(error, transient):
            log.warning(
                "a server this service needs is unavailable; answering 503",
                error=type(error).__name__,
                method=request.method,
                path=request.url.path,
            )
            return error_response(
                503,
                "UNAVAILABLE",
                "a server this service needs is unavailable; try again shortly",
                None,
                {"Retry-After": "2"},
            )
        log.error("unhandled error", method=request.method, path=request.url.path, exc_info=error)
        return error_response(500, "INTERNAL", "internal error")

    # The errors of a server that is down, each by its class: Starlette answers these inside
    # the app and is done. A handler of ``Exception`` alone runs in its outermost middleware,
    # which re-raises after answering, so every 503 of an outage also went to the server as
    # "Exception in ASGI application" (a traceback at ERROR per request), and uvicorn closed
    # the caller's keep-alive connection: its next request on it failed (the gateway's pool).
    for kind in dict.fromkeys((*TRANSIENT_ERRORS, *transient)):
        app.add_exception_handler(kind, unexpected)
    # Anything else is a 500 (and the traceback logged, as a bug's should be).
    app.add_exception_handler(Exception, unexpected)
