"""A path with a control character is invalid input: every service's app answers 422 in the
error shape, whatever routes it has (before, such a path matched a route by path alone and a
method the resource has was answered 405)."""

from fastapi import APIRouter
from fastapi.testclient import TestClient
from punchcard_kit.service import create_service_app
from punchcard_kit.settings import ServiceSettings

INVALID = {"code": "INVALID", "message": "the path holds a control character", "field": None}


def client() -> TestClient:
    router = APIRouter()

    @router.put("/things/{thing_id}/face")
    async def put_face(thing_id: str) -> dict:
        return {}

    @router.api_route("/things/{rest:path}", methods=["GET", "DELETE"])
    async def anything(rest: str) -> dict:
        return {"rest": rest}

    app = create_service_app(
        ServiceSettings(environment="test"), package="punchcard_kit", title="t", routers=[router]
    )
    return TestClient(app)


def test_a_line_feed_or_other_control_in_the_path_is_a_422():
    http = client()
    assert http.delete("/things/abc/face").status_code == 200  # the catch-all serves it
    for path in ("/things/a%0Ab/face", "/things/%00/face", "/things/x%7F", "/things/%1B[2J"):
        response = http.delete(path)
        assert response.status_code == 422, path
        assert response.json() == INVALID
    # Other characters, encoded, still reach their route.
    assert http.get("/things/caf%C3%A9%20au%20lait").json() == {"rest": "café au lait"}
