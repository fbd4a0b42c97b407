"""Every service's app counts the responses it sends by status class
(``punchcard_http_responses_total{service, code}``), the 5xx share the alerts watch
(deploy/k8s/base/alerts.yaml, PunchcardHighErrorRate)."""

import uuid

from fastapi import APIRouter
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from punchcard_kit.service import create_service_app
from punchcard_kit.settings import ServiceSettings


def client(service: str) -> TestClient:
    router = APIRouter()

    @router.get("/fine")
    async def fine() -> dict:
        return {"ok": True}

    @router.post("/fine")
    async def post_fine(body: dict) -> dict:
        return body

    @router.get("/broken")
    async def broken() -> dict:
        raise RuntimeError("a bug")

    settings = ServiceSettings(environment="test", service_name=service)
    app = create_service_app(settings, package="punchcard_kit", title="t", routers=[router])
    return TestClient(app, raise_server_exceptions=False)


def count(service: str, code: str) -> float:
    value = REGISTRY.get_sample_value(
        "punchcard_http_responses_total", {"service": service, "code": code}
    )
    return value or 0.0


def test_responses_are_counted_by_service_and_status_class():
    service = f"svc-{uuid.uuid4().hex[:8]}"
    http = client(service)
    assert http.get("/fine").status_code == 200
    assert http.get("/fine").status_code == 200
    assert http.get("/missing").status_code == 404
    assert http.get("/broken").status_code == 500
    assert count(service, "2xx") == 2
    assert count(service, "4xx") == 1
    assert count(service, "5xx") == 1
    assert count(service, "3xx") == 0
    # Another service's app counts under its own name only.
    other = f"svc-{uuid.uuid4().hex[:8]}"
    client(other).get("/fine")
    assert count(other, "2xx") == 1
    assert count(service, "2xx") == 2


def test_a_body_refused_as_too_large_is_counted_as_4xx():
    service = f"svc-{uuid.uuid4().hex[:8]}"
    http = client(service)
    response = http.post(
        "/fine", content=b"x" * 70_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert count(service, "4xx") == 1
