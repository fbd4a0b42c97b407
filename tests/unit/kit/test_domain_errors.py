"""Domain errors (``punchcard_kit.errors``) become the one error shape with the right status,
in one place (``punchcard_kit.http_errors``); a service declares its own transient errors."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Header
from fastapi.testclient import TestClient
from punchcard_kit import errors
from punchcard_kit.http_errors import install_error_handlers, status_of
from punchcard_kit.retry import is_transient
from pydantic import BaseModel


class RedisDown(Exception):
    pass


class Locked(errors.Conflict):
    code = "PIN_LOCKED"


def _client(error: Exception) -> TestClient:
    app = FastAPI()
    install_error_handlers(app, (RedisDown,))

    @app.get("/boom")
    async def boom() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.Invalid("bad", "name"), 422, "INVALID"),
        (errors.NotFound.of("worker"), 404, "NOT_FOUND"),
        (
            errors.Conflict("taken", "employee_id", code="DUPLICATE_EMPLOYEE_ID"),
            409,
            "DUPLICATE_EMPLOYEE_ID",
        ),
        (errors.Forbidden("no"), 403, "FORBIDDEN"),
        (errors.Unauthenticated("who"), 401, "UNAUTHENTICATED"),
        (errors.TooLarge("big"), 413, "TOO_LARGE"),
        (errors.TooManyRequests("slow down", retry_after_s=7.2), 429, "TOO_MANY_REQUESTS"),
        (errors.Unavailable("down"), 503, "UNAVAILABLE"),
        (Locked("locked"), 409, "PIN_LOCKED"),
        (errors.DomainError("odd"), 400, "BAD_REQUEST"),
    ],
)
def test_each_domain_error_has_its_status_and_the_one_shape(error, status, code) -> None:
    response = _client(error).get("/boom")
    assert response.status_code == status == status_of(error)
    body = response.json()
    assert body == {"code": code, "message": error.message, "field": error.field}


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    response = _client(errors.TooManyRequests("slow", retry_after_s=7.2)).get("/boom")
    assert response.headers["Retry-After"] == "8"
    assert _client(errors.Unavailable("down")).get("/boom").headers["Retry-After"] == "2"


def test_not_found_names_what() -> None:
    assert errors.NotFound.of("clock").message == "clock not found"


def test_a_service_declared_transient_error_is_a_503_not_a_500() -> None:
    response = _client(RedisDown()).get("/boom")
    assert response.status_code == 503
    assert response.json()["code"] == "UNAVAILABLE"
    assert _client(ValueError()).get("/boom").status_code == 500


def test_declared_transients_only_count_where_declared() -> None:
    assert is_transient(RedisDown(), (RedisDown,))
    assert not is_transient(RedisDown())


def test_every_route_declares_422_and_503_in_the_one_shape_unless_it_says_otherwise() -> None:
    from fastapi import APIRouter
    from punchcard_kit.http_errors import error_responses
    from punchcard_kit.service import create_service_app
    from punchcard_kit.settings import ServiceSettings

    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict:
        return {}

    @router.get("/own", responses={503: {"description": "mine"}, **error_responses(404)})
    async def own() -> dict:
        return {}

    settings = ServiceSettings(
        service_name="kit-test", environment="test", verifies_internal_tokens=False
    )
    app = create_service_app(settings, package="punchcard_kit", title="t", routers=[router])
    paths = app.openapi()["paths"]
    responses = paths["/things/{thing_id}"]["get"]["responses"]
    for status in ("422", "503"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorPublic"}
    assert paths["/own"]["get"]["responses"]["503"]["description"] == "mine"
    assert "404" in paths["/own"]["get"]["responses"]


def test_a_rule_that_says_more_adds_keys_to_the_one_shape() -> None:
    class PhotosRefused(errors.Invalid):
        def body(self) -> dict[str, object]:
            return {**super().body(), "photos": [{"ok": False}]}

    response = _client(PhotosRefused("no face", "photos", code="PHOTO_REFUSED")).get("/boom")
    assert response.status_code == 422
    assert response.json() == {
        "code": "PHOTO_REFUSED",
        "message": "no face",
        "field": "photos",
        "photos": [{"ok": False}],
    }


class _Reason(BaseModel):
    reason: str


def test_a_missing_body_or_a_bad_header_is_named() -> None:
    """Without a body, "Field required" named nothing; a header's error names the header."""
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/void")
    async def void(
        body: _Reason, key: Annotated[str | None, Header(alias="X-Key", max_length=3)] = None
    ) -> dict:
        return {}

    client = TestClient(app)
    missing = client.post("/void")
    assert missing.status_code == 422
    assert missing.json() == {
        "code": "INVALID",
        "message": "the request needs a JSON body",
        "field": None,
    }
    header = client.post("/void", json={"reason": "x"}, headers={"X-Key": "long"})
    assert header.status_code == 422 and header.json()["field"] == "X-Key"
    field = client.post("/void", json={})
    assert field.json()["field"] == "reason"
