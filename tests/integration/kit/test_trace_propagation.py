"""One trace per punch through the kit's real hops (PostgreSQL outbox, relay, Kafka, consumer
loops, a follower), in this process, spans in the SDK's in-memory exporter.

The PIN punch's shape: a kiosk's request (a server span continuing the kiosk's traceparent)
writes an attempt to the outbox → the relay sends it → a consumer group handles attempts in
batches and writes a verdict for each (caused by it) → another group handles verdicts and
writes a punch → a follower (every replica) answers the kiosk. Three kiosks' attempts are
written in ONE transaction, so the consumers get them in shared batches: each verdict and
punch must still continue its own attempt's trace, never another's."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest
from google.protobuf import wrappers_pb2
from opentelemetry.trace import SpanKind
from punchcard_kit import tracing
from punchcard_kit.messaging import add_to_outbox, new_envelope
from punchcard_kit.messaging.follower import TopicFollower
from punchcard_kit.messaging.topics import ensure_topics_exist

from tests.support.messaging import outbox_rows, wait_for
from tests.support.stack import KAFKA, unique
from tests.support.tracing import recorded_spans

TENANT = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def spans():
    with recorded_spans() as exporter:
        yield exporter


async def new_topic(name: str) -> str:
    topic = unique(f"test.trace.{name}").replace("_", "-")
    await ensure_topics_exist(KAFKA, [(topic, 3, 1, {})])
    return topic


def forward(to_topic: str, batches: list[int]):
    """A batch handler writing, for each message, one event caused by it on ``to_topic``
    (and the size of each batch it got into ``batches``)."""

    async def handler(conn: asyncpg.Connection, messages) -> None:
        batches.append(len(messages))
        await add_to_outbox(
            conn,
            [
                (
                    to_topic,
                    m.key,
                    new_envelope(
                        wrappers_pb2.StringValue(value=m.payload.value),
                        tenant_id=m.tenant_id,
                        producer="test",
                        correlation_id=m.envelope.correlation_id,
                        causation_id=m.event_id,
                    ),
                )
                for m in messages
            ],
        )

    return handler


async def outbox_empty(dsn: str) -> bool:
    return await outbox_rows(dsn) == 0


async def processed(loop, n: int) -> bool:
    return loop.processed >= n


def parent_chain(finished, last):
    by_id = {s.context.span_id: s for s in finished}
    path = [last]
    while path[-1].parent is not None and path[-1].parent.span_id in by_id:
        path.append(by_id[path[-1].parent.span_id])
    return path[::-1]


async def test_each_punch_is_one_trace_through_outbox_kafka_and_consumers(spans, kit_db, loops):
    attempts, verdicts, punches = [await new_topic(n) for n in ("attempts", "verdicts", "punches")]
    answered: dict[str, str] = {}

    async def answer(message) -> None:  # the gateway's follower of punch outcomes
        with tracing.span("kiosk answer"):
            answered[message.payload.value] = message.event_id

    follower = TopicFollower(topics=[punches], handler=answer, bootstrap_servers=KAFKA)
    following = asyncio.create_task(follower.run())
    try:
        await wait_for(follower.positioned.wait, what="follower positioned")
        # Three kiosks, three traces, one transaction (one outbox batch, shared consumer batches).
        kiosks = {f"attempt-{i}": (secrets.token_hex(16), secrets.token_hex(8)) for i in range(3)}
        conn = await asyncpg.connect(kit_db)
        try:
            async with conn.transaction():
                for attempt, (trace_id, span_id) in kiosks.items():
                    parent = tracing.context_from_headers(
                        {"traceparent": f"00-{trace_id}-{span_id}-01"}
                    )
                    with tracing.span(
                        "POST /kiosk/v1/punches", kind=SpanKind.SERVER, parent=parent
                    ):
                        envelope = new_envelope(
                            wrappers_pb2.StringValue(value=attempt),
                            tenant_id=TENANT,
                            producer="test",
                            correlation_id=attempt,
                        )
                        await add_to_outbox(conn, [(attempts, "same-key", envelope)])
        finally:
            await conn.close()
        # Each group starts once everything it will handle is on Kafka, so it gets the three
        # events in one batch (asserted below: the test is about shared batches).
        await loops.relay(kit_db)
        first, second = [], []
        await wait_for(lambda: outbox_empty(kit_db), what="attempts published")
        verdicting = await loops.consumer(kit_db, attempts, handler=forward(verdicts, first))
        await wait_for(lambda: processed(verdicting, 3), what="verdicts written")
        await wait_for(lambda: outbox_empty(kit_db), what="verdicts published")
        await loops.consumer(kit_db, verdicts, handler=forward(punches, second))

        async def all_answered():
            return len(answered) == len(kiosks)

        await wait_for(all_answered, timeout=90, what="every attempt answered")
    finally:
        follower.stop()
        await following

    finished = spans.get_finished_spans()
    for attempt, (trace_id, kiosk_span) in kiosks.items():
        (last,) = [
            s
            for s in finished
            if s.name == "kiosk answer" and format(s.context.trace_id, "032x") == trace_id
        ]
        chain = parent_chain(finished, last)
        assert [(s.name, s.kind) for s in chain] == [
            ("POST /kiosk/v1/punches", SpanKind.SERVER),
            (f"send {attempts}", SpanKind.PRODUCER),
            (f"process {attempts}", SpanKind.CONSUMER),
            (f"send {verdicts}", SpanKind.PRODUCER),
            (f"process {verdicts}", SpanKind.CONSUMER),
            (f"send {punches}", SpanKind.PRODUCER),
            ("kiosk answer", SpanKind.INTERNAL),
        ], attempt
        # Rooted at the kiosk's span, all in its trace.
        assert format(chain[0].parent.span_id, "016x") == kiosk_span
        assert {format(s.context.trace_id, "032x") for s in chain} == {trace_id}
    assert first == [3] and second == [3]
    # Nothing leaked into another trace: each trace has exactly its own seven spans.
    for trace_id, _ in kiosks.values():
        assert len([s for s in finished if format(s.context.trace_id, "032x") == trace_id]) == 7
