"""Hardware clocks' punches and traces: ATTLOG uploads of two devices that arrive together are
written by one group commit (one task), yet each verdict continues the trace of its own
device's request, not of whichever request started the batch."""

import asyncio
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from punchcard_kit import tracing
from punchcard_kit.messaging import unpack_payload
from punchcard_kit.messaging.outbox import outbox_record

from . import fakes
from .test_zk_edge import edge, zk_clock


@pytest.fixture
def traced(monkeypatch):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    tracing.use_tracer_provider(provider)
    headers = []

    async def publish(self, *items) -> None:  # as the real unit of work: outbox records
        for topic, key, envelope in items:
            self.store.published.append((topic, key, envelope))
            headers.append((envelope, dict(outbox_record(topic, key, envelope).headers)))

    monkeypatch.setattr(fakes.FakeUnitOfWork, "publish", publish)
    try:
        yield headers
    finally:
        tracing.use_tracer_provider(None)


async def test_each_devices_verdict_continues_its_own_request(traced):
    store = fakes.Store()
    clocks = [zk_clock(store), zk_clock(store)]
    store.add_worker(employee_id="E1")
    store.add_worker(employee_id="E2")
    e, _ = edge(store)
    received = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)

    async def upload(clock_id: str, badge: str):
        device = await e.device(f"SN{clock_id[:6]}")
        with tracing.span("POST /iclock/cdata") as request:
            line = f"{badge}\t2026-03-02 08:00:00\t0\t1\t0\t0\t0\n"
            assert await e.attlog(device, line, "1", received) == 1
        return format(request.get_span_context().trace_id, "032x")

    first, second = await asyncio.gather(upload(clocks[0], "E1"), upload(clocks[1], "E2"))
    assert e._group.batches == 1  # both uploads in one transaction: the case in question
    by_clock = {
        unpack_payload(envelope).context.clock_id: headers["traceparent"].split("-")[1]
        for envelope, headers in traced
        if "Identif" in envelope.type  # WorkerIdentified / IdentificationRejected
    }
    assert by_clock == {clocks[0]: first, clocks[1]: second}
