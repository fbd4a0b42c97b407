"""Every error a caller can meet has the one shape: a server that is down is a 503 the caller
may retry, anything unexpected a 500 that says nothing of the internals."""

from typing import Annotated

import asyncpg
import pytest
from fastapi import FastAPI, File, UploadFile
from fastapi.testclient import TestClient
from punchcard_kit.bounds import DAY_PATTERN, TEXT_PATTERN, UUID_PATTERN
from punchcard_kit.credentials import EMPLOYEE_ID_PATTERN, PIN_PATTERN
from punchcard_kit.http_errors import ApiError, first_problem, install_error_handlers
from punchcard_kit.patterns import described, meaning_of
from pydantic import BaseModel, StringConstraints, ValidationError


def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/down")
    async def down():
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    @app.get("/refused")
    async def refused():
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    @app.get("/bug")
    async def bug():
        raise ValueError("secret internals")

    @app.get("/conflict")
    async def conflict():
        raise ApiError(409, "DUPLICATE", "already there", "serial_number")

    return TestClient(app, raise_server_exceptions=False)


def test_a_server_down_is_a_503_to_retry():
    http = client()
    for path in ("/down", "/refused"):
        response = http.get(path)
        assert response.status_code == 503
        assert response.json()["code"] == "UNAVAILABLE"
        assert response.headers["retry-after"] == "2"


def test_a_503_is_answered_inside_the_app_not_raised_to_the_server():
    # Raised to the server (as a handler of Exception alone does after answering), uvicorn
    # logs a traceback per request of an outage and closes the keep-alive connection.
    http = client()
    strict = TestClient(http.app, raise_server_exceptions=True)
    for path in ("/down", "/refused"):
        assert strict.get(path).status_code == 503


def test_an_unexpected_error_is_a_500_without_internals():
    response = client().get("/bug")
    assert response.status_code == 500
    assert response.json() == {"code": "INTERNAL", "message": "internal error", "field": None}


def test_api_errors_keep_their_code_and_field():
    response = client().get("/conflict")
    assert response.status_code == 409
    assert response.json() == {
        "code": "DUPLICATE",
        "message": "already there",
        "field": "serial_number",
    }


def test_a_body_that_is_not_json_names_no_field():
    """pydantic puts the character where decoding stopped in ``loc``: not a field."""
    problem = [
        {
            "type": "json_invalid",
            "loc": ("body", 9),
            "msg": "JSON decode error",
            "ctx": {"error": "Expecting value"},
        }
    ]
    assert first_problem(problem) == (
        "the request body is not valid JSON (Expecting value at character 9)",
        None,
    )


def test_a_body_that_is_no_json_object_says_what_it_must_be():
    for kind in ("model_attributes_type", "dict_type"):
        message, field = first_problem([{"type": kind, "loc": ("body",), "msg": "Input should…"}])
        assert message.startswith("the request body must be a JSON object") and field is None


def test_a_bad_field_is_named_by_its_path_without_its_value():
    problem = [
        {"type": "string_too_long", "loc": ("body", "pins", 0), "msg": "too long", "input": "1234"}
    ]
    assert first_problem(problem) == ("too long", "pins.0")
    assert first_problem([]) == ("invalid request", None)


def test_a_pattern_with_a_meaning_is_answered_in_words_not_as_a_regular_expression():
    class Body(BaseModel):
        said: Annotated[str, StringConstraints(pattern=described(r"^a+b$", "a's, then one b"))]
        unsaid: Annotated[str, StringConstraints(pattern=r"^c+d$")] = "cd"

    def problem(**body) -> tuple[str, str | None]:
        with pytest.raises(ValidationError) as error:
            Body(**body)
        return first_problem(error.value.errors())

    assert problem(said="ab!") == ("Input should be a's, then one b", "said")
    # A pattern nobody described keeps pydantic's words, which quote it.
    assert problem(said="ab", unsaid="x") == ("String should match pattern '^c+d$'", "unsaid")
    # Every kit pattern a person may meet reads as words.
    for pattern in (UUID_PATTERN, TEXT_PATTERN, DAY_PATTERN, PIN_PATTERN, EMPLOYEE_ID_PATTERN):
        assert meaning_of(pattern), pattern


def test_bodies_a_route_cannot_read_are_422s_of_the_error_shape():
    app = FastAPI()
    install_error_handlers(app)

    class Body(BaseModel):
        a: int

    @app.post("/m")
    async def m(body: Body):
        return {}

    http = TestClient(app)
    for content, content_type, message in (
        (b'{"oops": ', "application/json", "the request body is not valid JSON"),
        (b'"\xff\xfe"', "application/json", "the request body is not valid JSON"),
        (b'["a", 1]', "application/json", "the request body must be a JSON object"),
        (b'{"a": 1}', "text/plain", "the request body must be a JSON object"),
        (b"", "application/json", "the request needs a JSON body"),
        (b'{"a": "x"}', "application/json", "Input should be a valid integer"),
    ):
        response = http.post("/m", content=content, headers={"content-type": content_type})
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "INVALID" and body["message"].startswith(message), body
        assert body["field"] == ("a" if content == b'{"a": "x"}' else None)


def test_a_form_body_that_does_not_parse_is_a_422_not_starlettes_400():
    """A multipart body whose parts do not parse was Starlette's 400 "Invalid multipart data.",
    which no route documents (the OpenAPI fuzz met it at face-match's photo upload)."""
    app = FastAPI()
    install_error_handlers(app)

    @app.put("/photos")
    async def photos(photos: Annotated[list[UploadFile], File()]):
        return {}

    boundary = "cd1285ed99c561d6a8aed5f67d3f00d4"
    response = TestClient(app).put(
        "/photos",
        content=f"--{boundary}\r\n60529--{boundary}--\r\n".encode(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 422
    assert response.json() == {
        "code": "INVALID",
        "message": "Invalid multipart data.",
        "field": None,
    }


def test_a_405_allows_every_method_the_path_has_on_any_route():
    """Two routes on one path (GET and POST), one in an included router: Starlette's own 405
    named only the first ("Allow: GET")."""
    from fastapi import APIRouter

    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter()

    @app.get("/things/{thing_id}")
    async def read(thing_id: str):
        return {}

    @router.delete("/things/{thing_id}")
    async def remove(thing_id: str):
        return {}

    @app.post("/things")
    async def add():
        return {}

    app.include_router(router)
    response = TestClient(app).put("/things/abc")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "GET, DELETE"
