"""One PIN punch is ONE connected trace across the real processes (issue 18, "See it").

The kiosk's request carries a W3C ``traceparent``; gateway, identity, device-sync and punch run
as processes of their own with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at a receiver in this
test (tests/support/otlp.py), as they would at an operator's collector. The trace must hold,
each the child of the one before: the gateway's server span of ``POST /kiosk/v1/punches`` →
the gateway relay's send of the attempt → identity's processing of it → identity's send of the
verdict → punch's processing of the verdict → punch's send of the punch → the gateway's
"kiosk answer"; every span's parent in the trace (one tree, rooted at the kiosk's span), and
the gateway's access log line for the request carries the trace id. An admin's call the
gateway forwards to identity is one trace as well (the gateway's HTTP client passes it on)."""

from __future__ import annotations

import json
import secrets

import pytest
from punchcard_kit.messaging import catalogue

from tests.e2e.test_pin_punch_through_kiosk import PASSWORD, PIN, at_front_door
from tests.support.gateway import create_tenant, kiosk, login, pin_attempt, punch_decided
from tests.support.messaging import wait_for
from tests.support.otlp import OtlpReceiver, ReceivedSpan
from tests.support.services import kiosk_system
from tests.support.stack import unique

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # opentelemetry.proto.trace.v1.Span.SpanKind
ATTEMPTS = catalogue.KIOSK_PIN_ATTEMPTS.name
VERDICTS = catalogue.IDENTIFICATION_VERDICTS.name
PUNCHES = catalogue.PUNCH_PUNCHES.name


@pytest.fixture(scope="module")
async def traced(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pin_trace")
    with OtlpReceiver() as receiver:
        otel = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            # Export soon after a span ends (the default waits 5 s).
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "ACCESS_LOG_SAMPLE_EVERY": "1",
        }
        async with kiosk_system(tmp, env=otel) as system:
            yield {**system, "receiver": receiver}


def chain(spans: list[ReceivedSpan], last: ReceivedSpan) -> list[ReceivedSpan]:
    """``last`` and its ancestors within ``spans``, root first."""
    by_id = {span.span_id: span for span in spans}
    path = [last]
    while path[-1].parent_span_id in by_id:
        path.append(by_id[path[-1].parent_span_id])
    return path[::-1]


async def test_a_pin_punch_is_one_connected_trace(traced):
    gateway, receiver = traced["gateway"], traced["receiver"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    async with admin:
        employee_id = unique("E")[:20]
        worker_id, (_front, credential), _back = await at_front_door(
            traced, admin, tenant_id, employee_id
        )
        # The admin's call, forwarded by the gateway to identity, is one trace too.
        admin_trace = secrets.token_hex(16)
        set_pin = await admin.put(
            f"/workers/{worker_id}/pin",
            json={"pin": PIN},
            headers={"traceparent": f"00-{admin_trace}-{secrets.token_hex(8)}-01"},
        )
        assert set_pin.status_code == 200, set_pin.text

    trace_id, kiosk_span = secrets.token_hex(16), secrets.token_hex(8)
    attempt = pin_attempt(employee_id, PIN)
    async with kiosk(gateway, credential) as http:
        http.headers["traceparent"] = f"00-{trace_id}-{kiosk_span}-01"
        answer = await http.post("/punches", json=attempt)
        del http.headers["traceparent"]
        if answer.status_code == 202:  # a busy machine: the kiosk asks again, as the app does
            answer = await punch_decided(http, attempt)
    assert answer.status_code == 200 and answer.json()["status"] == "recorded", answer.text

    async def answered() -> list[ReceivedSpan]:
        """The trace once the kiosk answer's span and every span's parent are in. Each process
        exports on its own: a parent (the relay's send span, which ends after Kafka's ack; a
        gateway client span) may arrive after a child in another process."""
        spans = receiver.trace(trace_id)
        ids = {s.span_id for s in spans} | {kiosk_span}
        whole = all(s.parent_span_id in ids for s in spans)
        return spans if whole and any(s.name == "kiosk answer" for s in spans) else []

    spans = await wait_for(answered, what="the kiosk answer's span")

    # One tree: every span's parent is in the trace, and only the gateway's request span
    # hangs from the kiosk's own span.
    ids = {span.span_id for span in spans}
    assert all(span.parent_span_id in ids | {kiosk_span} for span in spans), spans
    (root,) = [span for span in spans if span.parent_span_id == kiosk_span]
    assert (root.service, root.name, root.kind) == ("gateway", "POST /kiosk/v1/punches", SERVER)

    (last,) = [span for span in spans if span.name == "kiosk answer"]
    hops = [(span.service, span.name, span.kind) for span in chain(spans, last)]
    assert hops == [
        ("gateway", "POST /kiosk/v1/punches", SERVER),
        ("gateway", f"send {ATTEMPTS}", PRODUCER),
        ("identity", f"process {ATTEMPTS}", CONSUMER),
        ("identity", f"send {VERDICTS}", PRODUCER),
        ("punch", f"process {VERDICTS}", CONSUMER),
        ("punch", f"send {PUNCHES}", PRODUCER),
        ("gateway", "kiosk answer", 1),  # INTERNAL
    ], hops
    assert last.attributes["punchcard.attempt_id"] == attempt["attempt_id"]

    async def forwarded() -> list[ReceivedSpan]:
        spans = receiver.trace(admin_trace)
        return spans if any(s.service == "identity" and s.kind == SERVER for s in spans) else []

    admin_spans = await wait_for(forwarded, what="identity's span of the forwarded call")
    (upstream,) = [s for s in admin_spans if s.service == "identity" and s.kind == SERVER]
    (caller,) = [s for s in admin_spans if s.span_id == upstream.parent_span_id]
    assert caller.service == "gateway", caller

    # The gateway's access log line for that request carries the trace (and no PIN).
    lines = [
        json.loads(line)
        for line in traced["gateway"].log_file.read_text().splitlines()
        if line.startswith("{")
    ]
    (logged,) = [
        line
        for line in lines
        if line.get("event") == "request" and line.get("trace_id") == trace_id
    ]
    assert (logged["method"], logged["route"]) == ("POST", "/kiosk/v1/punches")
    assert logged["status"] in (200, 202)
    assert logged["span_id"] == root.span_id
