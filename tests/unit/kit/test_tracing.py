"""The kit's trace plumbing (punchcard_kit.tracing): W3C trace context into outbox rows' headers,
through the relay's producer span onto Kafka, into a consumer's span, and the events a batch
handler writes continuing the span of the message that caused them. Spans go to the SDK's
in-memory exporter."""

from __future__ import annotations

import json
import threading

import pytest
from google.protobuf import wrappers_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from punchcard_kit import tracing
from punchcard_kit.messaging import new_envelope
from punchcard_kit.messaging.envelope import Message
from punchcard_kit.messaging.outbox import outbox_record, tombstone_record
from punchcard_kit.settings import ServiceSettings

from tests.support.tracing import recorded_spans

TENANT = "6f1c1b9e-3c1e-4f57-9d0a-0a4f3e0c2b11"
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def spans():
    with recorded_spans() as exporter:
        yield exporter


def envelope(**kw):
    return new_envelope(wrappers_pb2.StringValue(value="x"), tenant_id=TENANT, producer="t", **kw)


def message(env, headers=None, topic="kiosk.pin-attempts", offset=7) -> Message:
    return Message(topic, 0, offset, b"k", env, dict(headers or {}))


def traceparent(headers) -> str | None:
    return dict(headers).get("traceparent")


def ids(span_context) -> tuple[str, str]:
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def header_of(span_context) -> str:
    """The ``traceparent`` naming ``span_context``."""
    trace_id, span_id = ids(span_context)
    return f"00-{trace_id}-{span_id}-{int(span_context.trace_flags):02x}"


# -- propagation helpers ----------------------------------------------------------------------
def test_inject_then_extract_is_the_same_span(spans):
    with tracing.span("request") as current:
        headers: list[tuple[str, str]] = []
        tracing.inject(headers)
    assert [name for name, _ in headers] == ["traceparent"]
    trace_id, span_id = ids(current.get_span_context())
    assert traceparent(headers) == header_of(current.get_span_context())
    for carrier in (headers, dict(headers), [(k, v.encode()) for k, v in headers]):
        extracted = trace.get_current_span(tracing.context_from_headers(carrier))
        assert ids(extracted.get_span_context()) == (trace_id, span_id)


def test_tracestate_travels_with_traceparent(spans):
    parent = tracing.context_from_headers({"traceparent": PARENT, "tracestate": "vendor=1"})
    with tracing.span("child", parent=parent):
        headers: list[tuple[str, str]] = []
        tracing.inject(headers)
    assert dict(headers)["tracestate"] == "vendor=1"
    assert traceparent(headers).split("-")[1] == PARENT.split("-")[1]


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {"event-id": "x"},
        {"traceparent": "garbage"},
        {"traceparent": "00-" + "0" * 32 + "-" + "0" * 16 + "-01"},
    ],
)
def test_no_valid_traceparent_is_no_parent(headers):
    assert tracing.context_from_headers(headers) is None


def test_inject_without_a_span_adds_nothing(spans):
    headers: list[tuple[str, str]] = []
    tracing.inject(headers)
    assert headers == []


# -- outbox rows --------------------------------------------------------------------------------
def test_outbox_row_carries_the_current_span_and_round_trips_through_its_json(spans):
    with tracing.span("POST /kiosk/v1/punches") as request:
        record = outbox_record("kiosk.pin-attempts", "k", envelope())
        tomb = tombstone_record("face.templates", "k", tenant_id=TENANT, event_id="e")
    expected = header_of(request.get_span_context())
    assert traceparent(record.headers) == expected
    assert traceparent(tomb.headers) == expected
    # As the outbox stores it (jsonb of pairs) and the relay reads it back.
    stored = json.loads(json.dumps(record.headers))
    parent = trace.get_current_span(tracing.context_from_headers(stored))
    assert ids(parent.get_span_context()) == ids(request.get_span_context())
    # The routing headers are still there, first.
    assert [k for k, _ in record.headers][:4] == [
        "event-type",
        "event-id",
        "tenant-id",
        "correlation-id",
    ]


def test_tracing_off_adds_no_header_and_starts_no_thread():
    threads = threading.active_count()
    settings = ServiceSettings(environment="test", service_name="off")
    assert tracing.configure_tracing(settings) is False
    assert not tracing.tracing_enabled() and tracing.tracer_provider() is None
    assert threading.active_count() == threads
    with tracing.span("nothing") as nothing:
        record = outbox_record("kiosk.pin-attempts", "k", envelope())
    assert nothing is None
    assert traceparent(record.headers) is None
    app = object()
    assert tracing.traced_http(app) is app
    sent, send_span = tracing.start_send_span("t", [("traceparent", PARENT)])
    assert send_span is None and sent == [("traceparent", PARENT)]


def test_an_endpoint_turns_tracing_on():
    settings = ServiceSettings(
        environment="test", service_name="on", otel_exporter_otlp_endpoint="http://127.0.0.1:1/"
    )
    assert tracing.otlp_traces_endpoint(settings) == "http://127.0.0.1:1/v1/traces"
    full = ServiceSettings(
        environment="test", otel_exporter_otlp_traces_endpoint="http://collector:4318/x"
    )
    assert tracing.otlp_traces_endpoint(full) == "http://collector:4318/x"
    disabled = ServiceSettings(
        environment="test", otel_exporter_otlp_endpoint="http://c:4318", otel_sdk_disabled=True
    )
    assert tracing.otlp_traces_endpoint(disabled) is None


# -- the relay and the consumer -------------------------------------------------------------
def test_relay_sends_under_a_producer_span_child_of_the_row(spans):
    row = [("event-id", "e"), ("traceparent", PARENT)]
    sent, send_span = tracing.start_send_span("kiosk.pin-attempts", row)
    send_span.end()
    (exported,) = spans.get_finished_spans()
    assert exported.kind is SpanKind.PRODUCER and exported.name == "send kiosk.pin-attempts"
    assert format(exported.parent.span_id, "016x") == PARENT.split("-")[2]
    assert ("event-id", "e") in sent
    assert traceparent(sent) == header_of(exported.context)
    # An untraced row goes as it was, with no span.
    assert tracing.start_send_span("t", [("event-id", "e")]) == ([("event-id", "e")], None)


def test_a_batch_handlers_events_continue_the_span_of_the_message_that_caused_them(spans):
    """Two messages of two traces in one batch: each event the handler writes belongs to the
    trace of its cause (causation id), or of a message with its correlation id."""
    other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    first, second = envelope(correlation_id="attempt-1"), envelope(correlation_id="attempt-2")
    batch = [message(first, {"traceparent": PARENT}), message(second, {"traceparent": other})]
    with tracing.span("unrelated current span"):
        with tracing.batch_spans("identity", batch):
            by_cause = outbox_record("v", "k", envelope(causation_id=second.event_id))
            by_correlation = outbox_record("v", "k", envelope(correlation_id="attempt-1"))
            unrelated = outbox_record("v", "k", envelope())
    finished = {
        s.attributes["messaging.message.id"]: s
        for s in spans.get_finished_spans()
        if s.kind is SpanKind.CONSUMER
    }
    one, two = finished[first.event_id], finished[second.event_id]
    assert one.name == "process kiosk.pin-attempts"
    assert one.attributes["messaging.consumer.group.name"] == "identity"
    assert format(one.context.trace_id, "032x") == PARENT.split("-")[1]
    assert format(one.parent.span_id, "016x") == PARENT.split("-")[2]
    assert format(two.context.trace_id, "032x") == other.split("-")[1]
    assert traceparent(by_cause.headers) == header_of(two.context)
    assert traceparent(by_correlation.headers) == header_of(one.context)
    # An event caused by nothing in the batch continues the current span.
    assert traceparent(unrelated.headers).split("-")[1] not in (
        PARENT.split("-")[1],
        other.split("-")[1],
    )


def test_a_failing_batch_ends_its_spans_with_an_error(spans):
    with pytest.raises(RuntimeError), tracing.batch_spans("g", [message(envelope())]):
        raise RuntimeError("handler bug")
    (failed,) = spans.get_finished_spans()
    assert failed.status.status_code is trace.StatusCode.ERROR
    assert "handler bug" in failed.status.description


def test_a_record_without_trace_starts_a_new_trace(spans):
    with tracing.batch_spans("g", [message(envelope())]):
        pass
    (root,) = spans.get_finished_spans()
    assert root.parent is None and root.kind is SpanKind.CONSUMER


def test_a_follower_handler_runs_in_its_records_context(spans):
    with tracing.follow(message(envelope(), {"traceparent": PARENT})):
        with tracing.span("kiosk answer"):
            pass
    (answer,) = spans.get_finished_spans()
    assert format(answer.context.trace_id, "032x") == PARENT.split("-")[1]
    assert format(answer.parent.span_id, "016x") == PARENT.split("-")[2]


def test_log_lines_inside_a_span_carry_its_ids(spans):
    assert tracing.add_trace_ids(None, "info", {"event": "x"}) == {"event": "x"}
    with tracing.span("s") as current:
        event = tracing.add_trace_ids(None, "info", {"event": "x"})
    assert (event["trace_id"], event["span_id"]) == ids(current.get_span_context())


async def test_calls_into_other_services_carry_the_trace(spans):
    import httpx

    request = httpx.Request("GET", "http://identity/internal/v1/x")
    await tracing.trace_outgoing(request)
    assert "traceparent" not in request.headers  # no span, nothing
    with tracing.span("POST /api/v1/workers") as current:
        await tracing.trace_outgoing(request)
    assert request.headers["traceparent"] == header_of(current.get_span_context())


async def test_calls_carry_nothing_when_tracing_is_off():
    import httpx

    request = httpx.Request("GET", "http://identity/internal/v1/x")
    with tracing.span("off"):
        await tracing.trace_outgoing(request)
    assert "traceparent" not in request.headers


def test_shutdown_flushes_and_turns_tracing_off():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    with tracing.span("last request"):
        pass
    tracing.shutdown_tracing()
    assert [s.name for s in exporter.get_finished_spans()] == ["last request"]
    assert not tracing.tracing_enabled()
