"""The outbox's headers column: ``headers_json`` writes exactly what ``json.dumps`` writes."""

from __future__ import annotations

import json

import pytest
from punchcard_kit.messaging.envelope import new_envelope
from punchcard_kit.messaging.outbox import headers_json, insert_records, outbox_record


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("event-type", "punchcard.v1.PunchRecorded"), ("event-id", "0190e4c8-0000-7000-8000-0a")],
        [("quote", 'a "b" \\ c'), ("control", "tab\there\nnew line\x00")],
        [("non-ascii", "Zoë Ångström 東京 😀"), ("", "")],
        [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
    ],
)
def test_the_text_is_json_dumps_text(headers):
    assert headers_json(headers) == json.dumps(headers)
    assert json.loads(headers_json(headers)) == [list(h) for h in headers]


def test_the_outbox_insert_passes_each_records_headers_as_that_text():
    envelope = new_envelope(
        _payload(),
        tenant_id="0190e4c8-0000-7000-8000-000000000001",
        producer="test",
    )
    record = outbox_record("topic", "key", envelope)
    _, args = insert_records([record])
    assert args[4] == [json.dumps(record.headers)]


def _payload():
    from punchcard.v1 import punch_pb2

    return punch_pb2.PunchVoided(voided_punch_id="p", worker_id="w", reason="r", admin_id="a")
