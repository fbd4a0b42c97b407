"""``punchcard-dlq``: a dead-lettered event is never lost for good. It can be listed, shown
(never its payload) and redriven once its cause is fixed; the failing group then handles it,
once, however often it is redriven."""

import asyncio
import json
import subprocess

import asyncpg
from punchcard_kit.messaging.consumer import dead_letter_topic

from tests.support.messaging import read_topic, wait_for, write_events
from tests.support.stack import KAFKA, VENV_BIN, unique


def dlq(*args: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "punchcard-dlq"), "--bootstrap-servers", KAFKA, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _values(dsn):
    conn = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await conn.fetch("SELECT value FROM effects ORDER BY at")]
    finally:
        await conn.close()


async def test_list_show_and_redrive_a_dead_letter_once_its_cause_is_fixed(kit_db, topic, loops):
    conn = await asyncpg.connect(kit_db)
    await conn.execute("INSERT INTO fail_values VALUES ('poison')")
    ids = await write_events(kit_db, topic, ["before", "poison", "after"], keys=["k", "k", "k"])
    group = unique("group")
    await loops.relay(kit_db)
    await loops.consumer(kit_db, topic, group, max_attempts=2, retry_initial_s=0.01)
    letters_topic = dead_letter_topic(group)
    await wait_for(lambda: read_topic(KAFKA, letters_topic), what="a dead letter")
    await wait_for(lambda: _has(kit_db, "after"), what="the event after the poison one")

    topics = dict(line.split("\t") for line in (await asyncio.to_thread(dlq, "list")).splitlines())
    assert topics[letters_topic] == "1"
    [line] = (await asyncio.to_thread(dlq, "list", letters_topic)).splitlines()
    letter, _, source, event_type, error = line.split("\t")
    assert source.startswith(f"{topic}/") and event_type == "google.protobuf.StringValue"
    assert error.startswith("ValueError") and "poison" in error
    shown = json.loads(await asyncio.to_thread(dlq, "show", letters_topic, letter))
    assert shown["envelope"]["event_id"] == ids[1] and shown["attempts"] == 2
    assert "value" not in shown  # the payload is never printed

    await conn.execute("DELETE FROM fail_values")  # the cause is fixed
    await asyncio.to_thread(dlq, "redrive", letters_topic, "--letter", letter)
    await wait_for(lambda: _has(kit_db, "poison"), what="the redriven event handled")
    # Redriven again: a duplicate now, handled no second time.
    await asyncio.to_thread(dlq, "redrive", letters_topic, "--all")
    await write_events(kit_db, topic, ["last"], keys=["k"])
    await wait_for(lambda: _has(kit_db, "last"), what="an event after the second redrive")
    assert await _values(kit_db) == ["before", "after", "poison", "last"]
    await conn.close()


async def _has(dsn, value):
    return value in await _values(dsn)
