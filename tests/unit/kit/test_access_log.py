"""Access logs (punchcard_kit.access_log): one structured line per sampled answer, every 4xx
and 5xx, probes only when they fail; with tracing on, each line carries the trace and span id
of the request's server span, which is named after the route template."""

from __future__ import annotations

import json

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from opentelemetry.trace import SpanKind
from punchcard_kit.access_log import AccessLog
from punchcard_kit.logging import configure_logging
from punchcard_kit.service import create_service_app
from punchcard_kit.settings import ServiceSettings

from tests.support.tracing import recorded_spans

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def app_with(sample_every: int):
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict:
        return {"id": thing_id}

    @router.get("/broken")
    async def broken() -> dict:
        raise RuntimeError("a bug")

    settings = ServiceSettings(
        environment="test", service_name="logged", access_log_sample_every=sample_every
    )
    return create_service_app(settings, package="punchcard_kit", title="t", routers=[router])


def access_lines(captured: str) -> list[dict]:
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


@pytest.fixture
def spans():
    with recorded_spans() as exporter:
        yield exporter


def test_sampling_keeps_every_failure_and_one_in_n_successes():
    log = AccessLog(None, sample_every=3)
    assert [log.should_log("/x", 200) for _ in range(6)] == [True, False, False] * 2
    assert all(log.should_log("/x", status) for status in (400, 404, 429, 500, 503))
    assert not log.should_log("/healthz", 200) and log.should_log("/readyz", 503)
    never = AccessLog(None, sample_every=0)
    assert not never.should_log("/x", 200) and never.should_log("/x", 422)


def test_access_lines_carry_route_status_and_the_trace(spans, capsys):
    configure_logging("logged")
    client = TestClient(app_with(sample_every=1), raise_server_exceptions=False)
    assert client.get("/things/a1?secret=1", headers={"traceparent": PARENT}).status_code == 200
    assert client.get("/broken").status_code == 500
    assert client.get("/healthz").status_code == 200
    lines = access_lines(capsys.readouterr().err)
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/things/{thing_id}", 200),
        ("GET", "/broken", 500),
    ]
    assert "secret" not in json.dumps(lines)
    assert all(line["duration_ms"] >= 0 and line["service"] == "logged" for line in lines)
    servers = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /things/{thing_id}", "GET /broken"]
    assert {s.attributes["http.route"] for s in servers} == {"/things/{thing_id}", "/broken"}
    # The first request continued the kiosk's trace; each line names its request's span.
    assert format(servers[0].context.trace_id, "032x") == PARENT.split("-")[1]
    for line, server in zip(lines, servers, strict=True):
        assert line["trace_id"] == format(server.context.trace_id, "032x")
        assert line["span_id"] == format(server.context.span_id, "016x")


def test_without_tracing_lines_have_no_trace_ids(capsys):
    configure_logging("logged")
    client = TestClient(app_with(sample_every=2), raise_server_exceptions=False)
    for _ in range(4):
        assert client.get("/things/b2").status_code == 200
    assert client.get("/nowhere").status_code == 404
    lines = access_lines(capsys.readouterr().err)
    assert [line["status"] for line in lines] == [200, 200, 404]
    assert lines[-1]["route"] is None and lines[-1]["path"] == "/nowhere"
    assert not any("trace_id" in line for line in lines)
