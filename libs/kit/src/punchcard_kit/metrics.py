"""Prometheus metrics shared by the kit's loops (exposed at /metrics by every service)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from .periodic import Interval

OUTBOX_PUBLISHED = Counter(
    "punchcard_outbox_published_total", "Outbox rows published to Kafka", ["service"]
)
RELAY_ERRORS = Counter("punchcard_relay_errors_total", "Relay iterations that failed", ["service"])
CONSUMED = Counter(
    "punchcard_consumed_total",
    "Records handled by a consumer group, by outcome (processed, duplicate, dead_lettered)",
    ["group", "outcome"],
)
CONSUMER_ERRORS = Counter(
    "punchcard_consumer_errors_total", "Batches that failed and were retried", ["group"]
)
BATCH_SECONDS = Histogram(
    "punchcard_consumer_batch_seconds", "Time to handle and commit one batch", ["group"]
)
HTTP_RESPONSES = Counter(
    "punchcard_http_responses_total",
    "HTTP responses a service's app sent, by status class (2xx, 4xx, 5xx...)",
    ["service", "code"],
)

# --- Per route, per consumer partition, per outbox (docs/observability.md, "Metrics") -------
# Every label is bounded: a route is the app's route *template* (``/workers/{worker_id}``),
# never the raw path, and UNMATCHED for any path no route matched; a method outside
# HTTP_METHODS is "other"; a code is its status class.
UNMATCHED_ROUTE = "UNMATCHED"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_REQUESTS = Counter(
    "punchcard_http_requests_total",
    "HTTP requests a service's app answered, by route template, method and status class",
    ["service", "route", "method", "code"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "punchcard_http_request_seconds",
    "Time from a request's arrival to its response's start, by route template and method",
    ["service", "route", "method"],
    # Long-polls (a kiosk's answer, a clock's commands) are held up to ~30 s.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
CONSUMER_LAG = Gauge(
    "punchcard_consumer_lag",
    "Records of a partition not yet consumed by this group (highwater - position), per "
    "partition this process owns",
    ["group", "topic", "partition"],
)
OUTBOX_BACKLOG = Gauge(
    "punchcard_outbox_backlog",
    "Rows waiting in the service's outbox (counted up to OUTBOX_COUNT_CAP)",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "punchcard_outbox_oldest_age_seconds",
    "Age of the oldest row in the service's outbox (0 when empty)",
    ["service"],
)


def route_label(scope: Mapping[str, Any]) -> str:
    """The route template a request matched (FastAPI/Starlette put the route in the scope),
    or UNMATCHED: never the raw path, so a label's values are bounded by the app's routes."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return UNMATCHED_ROUTE
    return path


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else "other"


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def partition_lag(highwater: int | None, position: int | None) -> int | None:
    """Records left to read in a partition: its highwater (the offset the next produced record
    gets) minus the group's position (the next offset it reads); None while either is unknown
    (before the first fetch). Never negative (a position can briefly pass a stale highwater)."""
    if highwater is None or position is None:
        return None
    return max(0, highwater - position)


def outbox_age_s(oldest: datetime | None, now: datetime) -> float:
    """Seconds the oldest outbox row has waited (0 for an empty outbox)."""
    if oldest is None:
        return 0.0
    return max(0.0, (now - oldest).total_seconds())


def observe_request(service: str, scope: Mapping[str, Any], status: int, seconds: float) -> None:
    """One answered request, under its route template (read once routing is done)."""
    route = route_label(scope)
    method = method_label(scope.get("method", ""))
    HTTP_REQUESTS.labels(service, route, method, status_class(status)).inc()
    HTTP_REQUEST_SECONDS.labels(service, route, method).observe(seconds)


class LagReport:
    """One consumer's ``punchcard_consumer_lag`` series: set for the partitions it owns now,
    removed for those it gave up (a rebalance moved them to another consumer, whose process
    reports them), so a partition's lag is exported by one process only.

    Refreshed at most every ``every_s`` (``due``; a scrape every 15-30 s sees it fresh), not
    after every poll: a poll of one event would otherwise pay a position lookup and a gauge
    write for every partition the consumer owns."""

    def __init__(self, group: str, every_s: float = 1.0) -> None:
        self.group = group
        self.owned: set[tuple[str, int]] = set()
        self._every = Interval(every_s)

    def due(self) -> bool:
        return self._every.due()

    def soon(self) -> None:
        """Due at the next poll: after a rebalance, so a partition moved away is not reported
        by two processes, and a new one is reported."""
        self._every.soon()

    def update(self, offsets: Mapping[tuple[str, int], tuple[int | None, int | None]]) -> None:
        """``offsets``: (topic, partition) -> (highwater, position) of every partition owned."""
        self._every.done()
        for topic, partition in self.owned - offsets.keys():
            _remove_lag(self.group, topic, partition)
        self.owned = set(offsets)
        for (topic, partition), (highwater, position) in offsets.items():
            lag = partition_lag(highwater, position)
            if lag is not None:
                CONSUMER_LAG.labels(self.group, topic, str(partition)).set(lag)

    def clear(self) -> None:
        self.update({})


def _remove_lag(group: str, topic: str, partition: int) -> None:
    try:
        CONSUMER_LAG.remove(group, topic, str(partition))
    except KeyError:
        pass  # never reported (no fetch yet)
