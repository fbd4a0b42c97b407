"""Traces: one trace per punch, across every process it passes through (OpenTelemetry).

A kiosk's request carries a W3C ``traceparent`` (or starts a trace at the gateway's HTTP span);
every event written while handling it gets that context in its outbox row's headers
(``outbox_record`` → ``outbox_trace_headers``); the relay sends the row with a producer span
of its own and puts *that* span's ``traceparent`` on the Kafka record; a consumer (the
``ConsumerLoop`` of a group, or a ``TopicFollower``) continues the trace from the record's
headers, and the events its handler writes carry the consumer span's context on. So a PIN
punch is one trace: gateway → relay → identity → relay → punch → relay → gateway's answer.

Which span an event written by a batch handler belongs to: a consumer handles a whole poll
in one transaction, so the current span cannot say which message an event comes from. The
loop opens one span per message and keeps them by event id and by correlation id for the
batch (``batch_spans``); an event is given the span of the message that caused it (its
envelope's ``causation_id``), else of a message with the same ``correlation_id``, else the
current span (an HTTP request's).

Off unless an OTLP endpoint is configured (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; the SDK reads the other ``OTEL_*`` variables itself:
headers, timeout, sampler, resource attributes). Off, nothing here builds a span, adds a
header or starts a thread: each hook is one test of a module-level flag.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from .messaging.envelope import Envelope, Message
    from .settings import ServiceSettings

__all__ = [
    "SpanKind",
    "TRACE_HEADERS",
    "batch_spans",
    "configure_tracing",
    "context_from_headers",
    "continuing",
    "current_ids",
    "current_span_context",
    "inject",
    "outbox_trace_headers",
    "span",
    "trace_outgoing",
    "tracing_enabled",
    "use_tracer_provider",
]

# The W3C trace-context headers, the only ones this module reads or writes.
TRACE_HEADERS = ("traceparent", "tracestate")
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER_NAME = "punchcard_kit"


class _State:
    enabled = False
    provider: TracerProvider | None = None
    tracer: trace.Tracer = trace.NoOpTracer()


_state = _State()

# The spans of the messages a consumer is handling in this batch: event id or correlation id
# → the span context the events they cause continue.
_BATCH: contextvars.ContextVar[Mapping[str, SpanContext] | None] = contextvars.ContextVar(
    "punchcard_trace_batch", default=None
)


def tracing_enabled() -> bool:
    return _state.enabled


def tracer_provider() -> TracerProvider | None:
    return _state.provider


def tracer() -> trace.Tracer:
    return _state.tracer


# -- set-up ---------------------------------------------------------------------------------
def otlp_traces_endpoint(settings: ServiceSettings) -> str | None:
    """Where spans go: the traces endpoint as given, or ``<endpoint>/v1/traces`` (OTLP/HTTP's
    path, as the specification derives it); None: tracing is off."""
    if settings.otel_sdk_disabled:
        return None
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    if settings.otel_exporter_otlp_endpoint:
        return settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    return None


def configure_tracing(settings: ServiceSettings) -> bool:
    """Turn tracing on for this process if an OTLP endpoint is configured (once; later calls
    keep the first provider). Returns whether tracing is on."""
    if _state.enabled:
        return True
    endpoint = otlp_traces_endpoint(settings)
    if endpoint is None:
        return False
    # Imported here: a process that traces nothing never loads the SDK or the exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    use_tracer_provider(provider)
    return True


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Trace into ``provider`` (None: off). ``configure_tracing`` calls it; tests call it with
    a provider whose exporter is the SDK's in-memory one."""
    _state.provider = provider
    _state.enabled = provider is not None
    _state.tracer = (
        provider.get_tracer(_TRACER_NAME) if provider is not None else trace.NoOpTracer()
    )


def shutdown_tracing() -> None:
    """Flush the spans still buffered and stop the exporter (when the service stops); tracing
    is off afterwards until ``configure_tracing`` is called again."""
    provider = _state.provider
    if provider is not None:
        use_tracer_provider(None)
        provider.shutdown()


def traced_http(app):
    """``app`` (ASGI) inside an HTTP server span per request (OpenTelemetry's ASGI
    middleware: continues the caller's ``traceparent``), except the probes and /metrics;
    ``app`` itself when tracing is off. The span is named by the method until the access log
    (inside it) renames it after the route template."""
    if not _state.enabled:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(
        app,
        excluded_urls="/healthz,/readyz,/metrics",
        default_span_details=_http_span_details,
        tracer_provider=_state.provider,
        exclude_spans=["receive", "send"],
    )


def _http_span_details(scope: dict) -> tuple[str, dict]:
    return scope.get("method") or "HTTP", {}


# -- propagation ----------------------------------------------------------------------------
def inject(carrier: list[tuple[str, str]], span_context: SpanContext | None = None) -> None:
    """Append ``traceparent`` (and ``tracestate`` if any) for ``span_context`` (default: the
    current span) to ``carrier`` — a list of (name, value) headers; nothing for no valid
    span."""
    if span_context is None:
        span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return
    values: dict[str, str] = {}
    parent = trace.set_span_in_context(trace.NonRecordingSpan(span_context))
    _PROPAGATOR.inject(values, context=parent)
    carrier.extend((name, values[name]) for name in TRACE_HEADERS if name in values)


def context_from_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str | bytes]] | None,
) -> otel_context.Context | None:
    """The remote parent a message's headers name (Kafka's list of (name, bytes), a dict of
    strings, or an outbox row's pairs), or None when they carry no valid ``traceparent``."""
    if not headers:
        return None
    found: dict[str, str] = {}
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name in TRACE_HEADERS:
            found[name] = value.decode(errors="replace") if isinstance(value, bytes) else value
    if "traceparent" not in found:
        return None
    ctx = _PROPAGATOR.extract(found)
    if not trace.get_current_span(ctx).get_span_context().is_valid:
        return None
    return ctx


async def trace_outgoing(request) -> None:
    """An httpx ``request`` event hook (``event_hooks={"request": [trace_outgoing]}``): a
    call into another service carries the current span's ``traceparent``, so its server span
    joins the caller's trace. Nothing when tracing is off."""
    if not _state.enabled:
        return
    headers: list[tuple[str, str]] = []
    inject(headers)
    for name, value in headers:
        request.headers[name] = value


def without_trace_headers(headers: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(name, value) for name, value in headers if name not in TRACE_HEADERS]


def outbox_trace_headers(envelope: Envelope | None, headers: list[tuple[str, str]]) -> None:
    """Add the trace context an outbox row continues to its ``headers`` (see the module's
    docstring: the span of the message that caused the event, else the current span)."""
    if not _state.enabled:
        return
    span_context = None
    batch = _BATCH.get()
    if batch and envelope is not None:
        span_context = batch.get(envelope.causation_id) or batch.get(envelope.correlation_id)
    inject(headers, span_context)


def current_span_context() -> SpanContext | None:
    """The current span's context, to hand work over to another task (a group commit) that
    writes events for it (``continuing``); None when tracing is off or no span is current."""
    if not _state.enabled:
        return None
    span_context = trace.get_current_span().get_span_context()
    return span_context if span_context.is_valid else None


@contextmanager
def continuing(by_id: Mapping[str, SpanContext | None]) -> Iterator[None]:
    """Events written inside whose correlation or causation id is a key of ``by_id`` continue
    that span (as a consumer's batch does): for a task that writes the events of several
    requests at once (a group commit), each request's span captured with
    ``current_span_context``."""
    if not _state.enabled:
        yield
        return
    known = {key: value for key, value in by_id.items() if value is not None}
    token = _BATCH.set({**(_BATCH.get() or {}), **known})
    try:
        yield
    finally:
        _BATCH.reset(token)


# -- spans ----------------------------------------------------------------------------------
@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A current span (None and nothing else when tracing is off); an exception ends it with
    an error status."""
    if not _state.enabled:
        yield None
        return
    with _state.tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=attributes
    ) as current:
        yield current


@contextmanager
def follow(message: Message, name: str | None = None) -> Iterator[None]:
    """A follower's handling of ``message`` runs in the context its record carried, without a
    span of its own (every replica sees every record; a handler that acts on it opens one
    with ``span``)."""
    if not _state.enabled:
        yield
        return
    parent = context_from_headers(message.headers)
    if parent is None:
        yield
        return
    token = otel_context.attach(parent)
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def batch_spans(group: str, messages: Sequence[Message]) -> Iterator[None]:
    """One consumer span per message of a batch, each the child of the context its record
    carried (a new trace for a record without one), kept for ``outbox_trace_headers`` while
    the batch's handler runs; ended (with an error status if the handler raised) after it."""
    if not _state.enabled or not messages:
        yield
        return
    spans: list[Span] = []
    by_id: dict[str, SpanContext] = {}
    for message in messages:
        started = _state.tracer.start_span(
            f"process {message.topic}",
            context=context_from_headers(message.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": message.topic,
                "messaging.consumer.group.name": group,
                "messaging.message.id": message.event_id,
                "messaging.kafka.offset": message.offset,
                "messaging.destination.partition.id": str(message.partition),
                "punchcard.event_type": message.type,
            },
        )
        spans.append(started)
        context = started.get_span_context()
        by_id[message.event_id] = context
        if message.envelope is not None and message.envelope.correlation_id:
            by_id.setdefault(message.envelope.correlation_id, context)
    token = _BATCH.set(by_id)
    try:
        yield
    except BaseException as error:
        for started in spans:
            started.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        raise
    finally:
        _BATCH.reset(token)
        for started in spans:
            started.end()


def start_send_span(topic: str, headers: list[tuple[str, str]]) -> tuple[list, Span | None]:
    """The relay's producer span for one outbox row whose headers carry a trace: the row's
    headers with that span's ``traceparent`` instead (what the record is sent with), and the
    span, to end once Kafka acknowledged the record. Off, or an untraced row: as they were."""
    if not _state.enabled:
        return headers, None
    parent = context_from_headers(headers)
    if parent is None:
        return headers, None
    started = _state.tracer.start_span(
        f"send {topic}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
        },
    )
    sent = without_trace_headers(headers)
    inject(sent, started.get_span_context())
    return sent, started


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span, in hex, or None (no span, or tracing off)."""
    if not _state.enabled:
        return None
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def add_trace_ids(_logger: object, _method: str, event: dict) -> dict:
    """structlog processor: a log line written inside a span carries its trace and span ids."""
    if _state.enabled and "trace_id" not in event:
        ids = current_ids()
        if ids is not None:
            event["trace_id"], event["span_id"] = ids
    return event
