"""The gateway's errors are the kit's family: the kit's handler maps each to the status, code
and headers the gateway always answered (401 with WWW-Authenticate, 429/503 with Retry-After)."""

from __future__ import annotations

import json

import pytest
from punchcard_gateway.domain.edge_limits import RateLimited, refusal
from punchcard_gateway.domain.kiosk import AttemptIdReused, ClockUnauthorized
from punchcard_gateway.domain.login import Busy, TooManyAttempts
from punchcard_gateway.domain.model import (
    Conflict,
    Forbidden,
    Invalid,
    InvalidCredentials,
    NotFound,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from punchcard_kit.http_errors import domain_error_response


@pytest.mark.parametrize(
    ("error", "status", "code", "headers"),
    [
        (
            Unauthenticated("missing bearer token"),
            401,
            "UNAUTHENTICATED",
            {"www-authenticate": "Bearer"},
        ),
        (InvalidCredentials(), 401, "UNAUTHENTICATED", {"www-authenticate": "Bearer"}),
        (ClockUnauthorized(), 401, "CLOCK_UNAUTHORIZED", {"www-authenticate": "Bearer"}),
        (Forbidden("your role does not allow this"), 403, "FORBIDDEN", {}),
        (NotFound("no such resource"), 404, "NOT_FOUND", {}),
        (Conflict("taken", "email"), 409, "CONFLICT", {}),
        (AttemptIdReused(), 409, "ATTEMPT_ID_REUSED", {}),
        (Invalid("bad", "pin"), 422, "INVALID", {}),
        (TooLarge("the request body is too large"), 413, "TOO_LARGE", {}),
        (TooManyAttempts(0.2), 429, "TOO_MANY_REQUESTS", {"retry-after": "1"}),
        (TooManyAttempts(41.0005), 429, "TOO_MANY_REQUESTS", {"retry-after": "41"}),
        (TooManyAttempts(41.2), 429, "TOO_MANY_REQUESTS", {"retry-after": "42"}),
        (refusal("clock", 2.5), 429, "RATE_LIMITED", {"retry-after": "3"}),
        (RateLimited("too many", 7), 429, "RATE_LIMITED", {"retry-after": "7"}),
        (Unavailable("device-sync is unavailable"), 503, "UNAVAILABLE", {"retry-after": "2"}),
        (Busy(), 503, "BUSY", {"retry-after": "2"}),
    ],
)
def test_each_error_keeps_its_status_code_and_headers(error, status, code, headers):
    response = domain_error_response(error)
    assert response.status_code == status
    assert json.loads(response.body) == {
        "code": code,
        "message": error.message,
        "field": error.field,
    }
    own = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
    assert own == headers
