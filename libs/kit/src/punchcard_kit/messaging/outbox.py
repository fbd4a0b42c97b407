"""The transactional outbox: an event is a row inserted in the same transaction as the state
change it reports. The relay (relay.py) publishes it; nothing here talks to Kafka."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from ..tracing import outbox_trace_headers
from .envelope import Envelope, encode_envelope
from .schema import OUTBOX_SHARDS


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, str]]
    event_id: str

    @property
    def shard(self) -> int:
        # Same key → same shard → published in insertion order (see relay.py).
        return zlib.crc32(self.key or b"") % OUTBOX_SHARDS


def outbox_record(topic: str, key: str | bytes | None, envelope: Envelope) -> OutboxRecord:
    """The record for ``envelope``; Kafka headers repeat the routing fields so tools and
    consumers can route without decoding, and carry the trace the event continues (W3C
    ``traceparent``, when tracing is on: punchcard_kit.tracing)."""
    if isinstance(key, str):
        key = key.encode()
    headers = [
        ("event-type", envelope.type),
        ("event-id", envelope.event_id),
        ("tenant-id", envelope.tenant_id),
        ("correlation-id", envelope.correlation_id),
    ]
    outbox_trace_headers(envelope, headers)
    return OutboxRecord(topic, key, encode_envelope(envelope), headers, envelope.event_id)


_quote = json.encoder.encode_basestring_ascii  # json.dumps's own quoting of a string (C)


def headers_json(headers: Sequence[tuple[str, str]]) -> str:
    """``json.dumps(headers)`` for (name, value) string pairs, the same text (ASCII, its
    separators), at about half its cost: one is built per event written
    (tests/unit/kit/test_outbox_headers.py)."""
    return "[" + ", ".join(["[" + _quote(k) + ", " + _quote(v) + "]" for k, v in headers]) + "]"


_INSERT = """
INSERT INTO outbox (shard, topic, key, value, headers, event_id)
SELECT * FROM unnest(${0}::smallint[], ${1}::text[], ${2}::bytea[], ${3}::bytea[], ${4}::jsonb[],
    ${5}::uuid[])"""


def insert_records(records: Sequence[OutboxRecord], first: int = 1) -> tuple[str, list]:
    """The one statement inserting ``records`` (in order), its parameters numbered from
    ``$first``: (SQL, arguments). For a caller that writes its state change and its events in
    one statement (a CTE; the SQL ends in a SELECT, so a ``WHERE`` may follow); it must still
    run inside the state change's transaction."""
    sql = _INSERT.format(*range(first, first + 6))
    args = [
        [r.shard for r in records],
        [r.topic for r in records],
        [r.key for r in records],
        [r.value for r in records],
        [headers_json(r.headers) for r in records],
        [r.event_id for r in records],
    ]
    return sql, args


async def add_records(conn: asyncpg.Connection, records: Sequence[OutboxRecord]) -> None:
    """Insert records in the caller's transaction, in order, with one statement."""
    if not records:
        return
    if not conn.is_in_transaction():
        raise RuntimeError("outbox rows must be written inside the state change's transaction")
    sql, args = insert_records(records)
    await conn.execute(sql, *args)


async def add_to_outbox(
    conn: asyncpg.Connection, items: Iterable[tuple[str, str | bytes | None, Envelope]]
) -> None:
    """``items``: (topic, key, envelope) triples, written in the caller's transaction."""
    await add_records(conn, [outbox_record(topic, key, env) for topic, key, env in items])


def tombstone_record(
    topic: str, key: str | bytes, *, tenant_id: str, event_id: str
) -> OutboxRecord:
    """A null value for a compacted topic: 'this key no longer exists' (e.g. deleted biometrics)."""
    if isinstance(key, str):
        key = key.encode()
    headers = [("event-type", "tombstone"), ("event-id", event_id), ("tenant-id", tenant_id)]
    outbox_trace_headers(None, headers)
    return OutboxRecord(topic, key, None, headers, event_id)
