"""``punchcard-dlq``: look into the dead-letter topics and send what failed back, so that a
dead-lettered event is never lost for good.

    punchcard-dlq list                       every <group>.dlq topic and how many letters it holds
    punchcard-dlq list punch.dlq             the letters of one topic, one line each
    punchcard-dlq show punch.dlq 0@3         one letter (partition@offset) in full, as JSON
    punchcard-dlq redrive punch.dlq --letter 0@3 [--letter 2@7 ...] | --all  [--dry-run]

A redrive publishes the letter's original record (key, value, the envelope's headers) to the
topic it came from. The failing consumer group takes it as new (the kit took its event id out
of ``processed_events`` when it dead-lettered it); every other group that read the original
already processed that event id and skips it. Redriving the same letter twice is harmless:
once processed, the event id is a duplicate. Run it after fixing whatever made the event fail
(a deploy, a projection that has caught up). The payload is never printed: it may be a face
frame or a sealed PIN."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from .connection import kafka_options
from .envelope import InvalidEnvelope, decode_envelope

DEFAULT_BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
# Reading a topic stops after this long without a record (the end offsets say when it's done).
_READ_IDLE_MS = 2000


async def _partitions(bootstrap: str, suffix: str = ".dlq", only: str | None = None):
    """{topic: [TopicPartition]} of the ``*.dlq`` topics (or of ``only``)."""
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap, client_id="punchcard-dlq"))
    await admin.start()
    try:
        names = sorted(
            t for t in await admin.list_topics() if (t == only if only else t.endswith(suffix))
        )
        described = await admin.describe_topics(names) if names else []
    finally:
        await admin.close()
    return {
        d["topic"]: [TopicPartition(d["topic"], p["partition"]) for p in d["partitions"]]
        for d in described
    }


async def dead_letter_topics(bootstrap: str) -> dict[str, int]:
    """Every ``*.dlq`` topic and the number of records it holds now."""
    topics = await _partitions(bootstrap)
    every = [tp for partitions in topics.values() for tp in partitions]
    if not every:
        return {}
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap, enable_auto_commit=False))
    await consumer.start()
    try:
        # Assigned (and paused: nothing is fetched), every topic is in the client's metadata,
        # so the offsets of all partitions are asked in one request per broker, not one
        # round of metadata and offsets per topic (a cluster with a thousand dead-letter
        # topics answered in minutes).
        consumer.assign(every)
        consumer.pause(*every)
        start = await consumer.beginning_offsets(every)
        end = await consumer.end_offsets(every)
    finally:
        await consumer.stop()
    return {
        name: sum(end[tp] - start[tp] for tp in partitions) for name, partitions in topics.items()
    }


async def read_letters(bootstrap: str, topic: str) -> list[dict]:
    """Every letter of ``topic`` (described, payload left out), in partition and offset order."""
    partitions = (await _partitions(bootstrap, only=topic)).get(topic)
    if not partitions:
        raise SystemExit(f"no topic {topic!r} (see `punchcard-dlq list`)")
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap, enable_auto_commit=False))
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records = []
        while any([await consumer.position(tp) < end[tp] for tp in partitions]):
            batch = await consumer.getmany(timeout_ms=_READ_IDLE_MS)
            if not batch:
                break
            for tp, items in batch.items():
                records.extend(r for r in items if r.offset < end[tp])
    finally:
        await consumer.stop()
    records.sort(key=lambda r: (r.partition, r.offset))
    return [describe(r) for r in records]


def describe(record) -> dict:
    from punchcard.v1 import envelope_pb2

    out: dict = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    try:
        letter = envelope_pb2.DeadLetter.FromString(record.value or b"")
    except Exception as error:  # noqa: BLE001 - a record that is not a DeadLetter is shown as such
        out["error"] = f"not a DeadLetter: {type(error).__name__}"
        return out
    out.update(
        {
            "failed_at": letter.failed_at.ToDatetime().isoformat() + "Z",
            "consumer_group": letter.consumer_group,
            "source": f"{letter.source_topic}/{letter.source_partition}@{letter.source_offset}",
            "error_type": letter.error_type,
            "error_message": letter.error_message,
            "attempts": letter.attempts,
            "key": letter.key.decode(errors="replace"),
            "value_bytes": len(letter.value),
        }
    )
    try:
        envelope = decode_envelope(letter.value)
    except InvalidEnvelope as error:
        out["envelope"] = f"not a valid envelope: {error}"
    else:
        out["envelope"] = {
            "event_id": envelope.event_id,
            "type": envelope.type,
            "tenant_id": envelope.tenant_id,
            "correlation_id": envelope.correlation_id,
            "producer": envelope.producer,
            "occurred_at": envelope.occurred_at.ToDatetime().isoformat() + "Z",
        }
    out["_letter"] = letter
    return out


def _public(letter: dict) -> dict:
    return {k: v for k, v in letter.items() if not k.startswith("_")}


def letter_id(item: dict) -> str:
    return f"{item['partition']}@{item['offset']}"


async def redrive(
    bootstrap: str, topic: str, chosen: Sequence[str] | None, dry_run: bool = False
) -> list[dict]:
    """Publish the chosen letters' (``partition@offset``; None: all) original records to
    their source topics. Returns what was (or, dry run, would be) sent."""
    letters = [
        item
        for item in await read_letters(bootstrap, topic)
        if "_letter" in item and (chosen is None or letter_id(item) in chosen)
    ]
    if chosen is not None:
        missing = set(chosen) - {letter_id(item) for item in letters}
        if missing:
            raise SystemExit(f"no letter {sorted(missing)} in {topic}")
    if dry_run or not letters:
        return [_public(item) for item in letters]
    producer = AIOKafkaProducer(
        **kafka_options(bootstrap, acks="all", enable_idempotence=True, client_id="punchcard-dlq")
    )
    await producer.start()
    try:
        for item in letters:
            letter = item["_letter"]
            headers = [("redriven-from", f"{topic}/{item['partition']}@{item['offset']}".encode())]
            envelope = item["envelope"]
            if isinstance(envelope, dict):
                headers += [
                    ("event-type", envelope["type"].encode()),
                    ("event-id", envelope["event_id"].encode()),
                    ("tenant-id", envelope["tenant_id"].encode()),
                ]
            await producer.send_and_wait(
                letter.source_topic, letter.value, key=letter.key or None, headers=headers
            )
    finally:
        await producer.stop()
    return [_public(item) for item in letters]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="punchcard-dlq", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap-servers", default=DEFAULT_BOOTSTRAP)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="dead-letter topics, or the letters of one")
    listing.add_argument("topic", nargs="?")
    show = commands.add_parser("show", help="one letter in full (JSON)")
    show.add_argument("topic")
    show.add_argument("letter", help="partition@offset, as `list` prints it")
    again = commands.add_parser("redrive", help="send letters back to their source topics")
    again.add_argument("topic")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--letter", action="append", dest="letters", help="partition@offset")
    which.add_argument("--all", action="store_true")
    again.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    bootstrap = args.bootstrap_servers

    if args.command == "list" and args.topic is None:
        for name, count in asyncio.run(dead_letter_topics(bootstrap)).items():
            print(f"{name}\t{count}")
    elif args.command == "list":
        for item in asyncio.run(read_letters(bootstrap, args.topic)):
            envelope = item.get("envelope")
            kind = envelope.get("type", "") if isinstance(envelope, dict) else "(invalid envelope)"
            print(
                f"{letter_id(item)}\t{item.get('failed_at', '')}\t"
                f"{item.get('source', '')}\t{kind}\t{item.get('error_type', item.get('error'))}:"
                f" {item.get('error_message', '')[:120]}"
            )
    elif args.command == "show":
        found = [
            item
            for item in asyncio.run(read_letters(bootstrap, args.topic))
            if letter_id(item) == args.letter
        ]
        if not found:
            sys.exit(f"no letter {args.letter} in {args.topic}")
        for item in found:
            print(json.dumps(_public(item), indent=2))
    else:
        sent = asyncio.run(
            redrive(bootstrap, args.topic, None if args.all else args.letters, args.dry_run)
        )
        verb = "would redrive" if args.dry_run else "redriven"
        for item in sent:
            print(f"{verb}\t{letter_id(item)}\t-> {item.get('source', '')}")
        print(f"{len(sent)} {verb}", file=sys.stderr)


if __name__ == "__main__":
    main()
