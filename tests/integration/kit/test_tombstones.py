"""A tombstone (null value on a compacted topic) reaches the handler as such, once; it is not
mistaken for a malformed record."""

import uuid

import asyncpg
from punchcard_kit.messaging.consumer import dead_letter_topic
from punchcard_kit.messaging.outbox import add_records, tombstone_record

from tests.support.messaging import read_topic, wait_for
from tests.support.stack import KAFKA, unique


async def test_tombstone_is_delivered_to_the_handler_not_dead_lettered(kit_db, topic, loops):
    tenant = str(uuid.uuid4())
    event_id = str(uuid.uuid4())
    conn = await asyncpg.connect(kit_db)
    async with conn.transaction():
        await add_records(
            conn,
            [tombstone_record(topic, f"{tenant}/worker-1", tenant_id=tenant, event_id=event_id)],
        )
    await conn.close()
    seen = []

    async def handler(conn, messages):
        seen.extend(messages)

    group = unique("group")
    await loops.relay(kit_db)
    await loops.consumer(kit_db, topic, group, handler=handler)
    await wait_for(lambda: _true(seen), what="the tombstone")

    [message] = seen
    assert message.is_tombstone and message.type == "tombstone"
    assert message.key == f"{tenant}/worker-1".encode()
    assert message.event_id == event_id and message.tenant_id == tenant
    assert (await read_topic(KAFKA, topic))[0].value is None
    assert await read_topic(KAFKA, dead_letter_topic(group)) == []


async def _true(items):
    return bool(items)
