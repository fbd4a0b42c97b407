from google.protobuf import wrappers_pb2
from punchcard_kit.messaging import Message, new_envelope
from punchcard_kit.messaging.dispatch import dispatch


def _message(payload) -> Message:
    env = new_envelope(payload, tenant_id="6f1c1b9e-3c1e-4f57-9d0a-0a4f3e0c2b11", producer="unit")
    return Message("topic", 0, 1, b"k", env)


async def test_routes_by_type_in_order_and_skips_unknown_types():
    seen = []

    async def on_string(conn, message):
        seen.append(("string", message.payload.value))

    async def on_tombstone(conn, message):
        seen.append(("tombstone", message.key, message.tenant_id))

    handle = dispatch({"google.protobuf.StringValue": on_string, "tombstone": on_tombstone})
    tomb = Message.tombstone("topic", 0, 3, b"t/w", {"event-id": "e", "tenant-id": "t"})
    await handle(
        None,
        [
            _message(wrappers_pb2.StringValue(value="a")),
            _message(wrappers_pb2.Int32Value(value=7)),  # no handler: skipped
            tomb,
            _message(wrappers_pb2.StringValue(value="b")),
        ],
    )
    assert seen == [("string", "a"), ("tombstone", b"t/w", "t"), ("string", "b")]


def test_tombstone_without_headers_gets_a_stable_event_id():
    a = Message.tombstone("topic", 2, 9, b"k", {})
    b = Message.tombstone("topic", 2, 9, b"k", {})
    assert a.is_tombstone and a.type == "tombstone"
    assert a.event_id == b.event_id
