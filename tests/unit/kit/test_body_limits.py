"""Every service's app refuses a body over its limit with 413 in the one error shape (64 KiB
unless the route declares its own need), whether the length is declared or the body chunked."""

from fastapi import APIRouter
from fastapi.testclient import TestClient
from punchcard_kit.bounds import MAX_JSON_BODY_BYTES
from punchcard_kit.service import create_service_app
from punchcard_kit.settings import ServiceSettings
from pydantic import BaseModel

TOO_LARGE = {"code": "TOO_LARGE", "message": "the request body is too large", "field": None}


class Body(BaseModel):
    text: str


def client() -> TestClient:
    router = APIRouter()

    @router.post("/small")
    async def small(body: Body) -> dict:
        return {"length": len(body.text)}

    @router.post("/upload", max_body_size=1024 * 1024)
    async def upload(body: Body) -> dict:
        return {"length": len(body.text)}

    app = create_service_app(
        ServiceSettings(environment="test"), package="punchcard_kit", title="t", routers=[router]
    )
    return TestClient(app)  # no lifespan: no database is needed for these routes


def test_a_declared_length_over_the_limit_is_refused_in_the_error_shape():
    http = client()
    response = http.post("/small", json={"text": "x" * MAX_JSON_BODY_BYTES})
    assert response.status_code == 413
    assert response.json()["code"] == "TOO_LARGE"
    # Even where the app answers without reading the body (404 here), the declared length
    # is refused, in the same shape.
    unknown = http.post("/nowhere", content=b"x" * (MAX_JSON_BODY_BYTES + 1))
    assert unknown.status_code == 413 and unknown.json() == TOO_LARGE


def test_a_chunked_body_is_cut_at_the_limit():
    def chunks():
        yield b'{"text": "'
        for _ in range(100):
            yield b"x" * 4096
        yield b'"}'

    response = client().post(
        "/small", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "TOO_LARGE"


def test_under_the_limit_and_a_routes_own_limit_pass():
    http = client()
    assert http.post("/small", json={"text": "x" * 1000}).json() == {"length": 1000}
    big = http.post("/upload", json={"text": "x" * (512 * 1024)})
    assert big.status_code == 200 and big.json() == {"length": 512 * 1024}


def test_a_services_front_is_served_before_the_app_and_its_middleware():
    from punchcard_kit.service import uvicorn_config

    settings = ServiceSettings(environment="test")
    app = create_service_app(settings, package="punchcard_kit", title="t", routers=[])
    assert uvicorn_config(settings, app).app is app  # no front: the app itself

    class Front:
        def __init__(self, inner) -> None:
            self.inner = inner

    app.state.front = Front
    served = uvicorn_config(settings, app).app
    assert isinstance(served, Front) and served.inner is app


def test_clients_forget_idle_connections_before_the_services_close_them():
    """A reused connection the server is closing fails a request that cannot be resent."""
    from punchcard_kit.service import CLIENT_KEEPALIVE_EXPIRY_S, uvicorn_config

    settings = ServiceSettings(environment="test")
    app = create_service_app(settings, package="punchcard_kit", title="t", routers=[])
    served = uvicorn_config(settings, app)
    assert CLIENT_KEEPALIVE_EXPIRY_S <= served.timeout_keep_alive / 2
