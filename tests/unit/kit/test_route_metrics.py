"""The kit's per-route, per-partition and outbox metrics (docs/observability.md, "Metrics"):
labels are bounded (a route template, never a raw path; an unmatched path under one label),
a consumer's lag is highwater - position per partition it owns, and the outbox's age is its
oldest row's."""

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from punchcard_kit.metrics import (
    UNMATCHED_ROUTE,
    LagReport,
    method_label,
    outbox_age_s,
    partition_lag,
    route_label,
    status_class,
)
from punchcard_kit.ops import outbox_sample
from punchcard_kit.service import create_service_app
from punchcard_kit.settings import ServiceSettings


def client(service: str) -> TestClient:
    router = APIRouter()

    @router.get("/workers/{worker_id}")
    async def worker(worker_id: str) -> dict:
        return {"id": worker_id}

    @router.get("/broken")
    async def broken() -> dict:
        raise RuntimeError("a bug")

    settings = ServiceSettings(environment="test", service_name=service)
    app = create_service_app(settings, package="punchcard_kit", title="t", routers=[router])
    return TestClient(app, raise_server_exceptions=False)


def requests(service: str, route: str, method: str, code: str) -> float:
    labels = {"service": service, "route": route, "method": method, "code": code}
    return REGISTRY.get_sample_value("punchcard_http_requests_total", labels) or 0.0


def latency_count(service: str, route: str, method: str) -> float:
    labels = {"service": service, "route": route, "method": method}
    return REGISTRY.get_sample_value("punchcard_http_request_seconds_count", labels) or 0.0


def test_requests_are_counted_under_their_route_template_never_the_raw_path():
    service = f"svc-{uuid.uuid4().hex[:8]}"
    http = client(service)
    for worker_id in ("a", "b", "c"):
        assert http.get(f"/workers/{worker_id}").status_code == 200
    assert http.get("/broken").status_code == 500
    assert http.get("/no/such/path/123").status_code == 404
    assert http.get("/another-unknown").status_code == 404
    assert http.delete("/workers/a").status_code == 405
    assert http.request("BREW", "/workers/a").status_code == 405

    assert requests(service, "/workers/{worker_id}", "GET", "2xx") == 3
    assert latency_count(service, "/workers/{worker_id}", "GET") == 3
    assert requests(service, "/broken", "GET", "5xx") == 1
    assert requests(service, UNMATCHED_ROUTE, "GET", "4xx") == 2
    assert requests(service, "/workers/{worker_id}", "DELETE", "4xx") == 1
    assert requests(service, "/workers/{worker_id}", "other", "4xx") == 1
    # No series names a raw path or a made-up method.
    routes = {
        sample.labels["route"]
        for metric in REGISTRY.collect()
        if metric.name == "punchcard_http_requests"
        for sample in metric.samples
        if sample.labels.get("service") == service
    }
    assert routes == {"/workers/{worker_id}", "/broken", UNMATCHED_ROUTE}


def test_route_method_and_status_labels_are_bounded():
    class Route:
        path = "/clocks/{clock_id}"

    assert route_label({"route": Route()}) == "/clocks/{clock_id}"
    assert route_label({"path": "/clocks/123"}) == UNMATCHED_ROUTE
    assert route_label({"route": object()}) == UNMATCHED_ROUTE
    assert method_label("POST") == "POST"
    assert method_label("PROPFIND") == "other"
    assert status_class(204) == "2xx"
    assert status_class(503) == "5xx"
    assert status_class(999) == "other"


def test_partition_lag_is_highwater_minus_position_and_never_negative():
    assert partition_lag(120, 100) == 20
    assert partition_lag(100, 100) == 0
    assert partition_lag(99, 100) == 0  # a position past a stale highwater
    assert partition_lag(None, 100) is None  # not fetched yet
    assert partition_lag(100, None) is None


def lag(group: str, topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "punchcard_consumer_lag", {"group": group, "topic": topic, "partition": str(partition)}
    )


def test_a_consumer_reports_the_lag_of_the_partitions_it_owns_and_drops_the_rest():
    group = f"g-{uuid.uuid4().hex[:8]}"
    report = LagReport(group)
    report.update({("t", 0): (50, 40), ("t", 1): (7, 7), ("t", 2): (None, None)})
    assert lag(group, "t", 0) == 10
    assert lag(group, "t", 1) == 0
    assert lag(group, "t", 2) is None  # no fetch yet: no guess
    # A rebalance took partition 0 away: its series goes (another process reports it).
    report.update({("t", 1): (9, 7)})
    assert lag(group, "t", 0) is None
    assert lag(group, "t", 1) == 2
    report.clear()
    assert lag(group, "t", 1) is None


def test_the_lag_is_refreshed_once_a_while_and_at_once_after_a_rebalance(monkeypatch):
    # The monotonic clock counts from the machine's boot: on one up for 20 minutes, a report
    # due every hour is still due at its first poll (it was not, when "never" was 0.0).
    monkeypatch.setattr("punchcard_kit.periodic.time.monotonic", lambda: 1_200.0)
    report = LagReport(f"g-{uuid.uuid4().hex[:8]}", every_s=3600)
    assert report.due()  # never reported: at the first poll
    report.update({("t", 0): (5, 5)})
    assert not report.due()  # not again at every poll
    report.soon()  # partitions revoked or assigned
    assert report.due()


def test_the_outbox_age_is_its_oldest_rows():
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert outbox_age_s(None, now) == 0.0
    assert outbox_age_s(now - timedelta(seconds=42), now) == 42.0
    assert outbox_age_s(now + timedelta(seconds=1), now) == 0.0  # never negative
    assert outbox_sample(3, now - timedelta(minutes=2), now) == (3, 120.0)
    assert outbox_sample(0, None, now) == (0, 0.0)
