"""Prometheus metrics shared by the kit's loops (exposed at /metrics by every service)."""

from prometheus_client import Counter, Histogram

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
