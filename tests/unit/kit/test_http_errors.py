"""Every error a caller can meet has the one shape: a server that is down is a 503 the caller
may retry, anything unexpected a 500 that says nothing of the internals."""

import asyncpg
from fastapi import FastAPI
from fastapi.testclient import TestClient
from punchcard_kit.http_errors import ApiError, install_error_handlers


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
