"""Topics as designed in ``deploy/topics.yaml``, created idempotently (``punchcard-topics``).

In production the same file feeds Strimzi KafkaTopic resources; locally the replication factor
is 1 and settings that need more replicas (min.insync.replicas) are dropped."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ..logging import configure_logging, get_logger
from ..retry import retry_transient
from .connection import kafka_options

log = get_logger(__name__)

TopicSpec = tuple[str, int, int, dict[str, str]]


def specs_from_catalogue(path: str | Path, replication_factor: int | None) -> list[TopicSpec]:
    document = yaml.safe_load(Path(path).read_text())
    default_rf = int(document.get("defaults", {}).get("replication_factor", 1))
    rf = replication_factor or default_rf
    specs = []
    for topic in document.get("topics", []):
        config = {str(k): str(v) for k, v in (topic.get("config") or {}).items()}
        if rf < 2:
            config.pop("min.insync.replicas", None)
        specs.append((topic["name"], int(topic["partitions"]), rf, config))
    return specs


async def ensure_topics_exist(bootstrap_servers: str, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that are missing; returns the names created. Existing topics are left
    as they are (partitions are never shrunk; changes to them are an operator's decision)."""
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap_servers, client_id="punchcard-topics"))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=rf, topic_configs=config)
            for name, partitions, rf, config in specs
            if name not in existing
        ]
        created = []
        for topic in wanted:
            try:
                await admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        await admin.close()


async def _main(args: argparse.Namespace) -> None:
    configure_logging("topics", "INFO", json=False)
    specs = specs_from_catalogue(args.catalogue, args.replication_factor)
    created = await retry_transient(
        "kafka admin",
        lambda: ensure_topics_exist(args.bootstrap_servers, specs),
        give_up_after_s=120,
    )
    for name, partitions, rf, _ in specs:
        state = "created" if name in created else "exists"
        print(f"{state:8} {name} partitions={partitions} replication={rf}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Create the topics of deploy/topics.yaml")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:59092")
    parser.add_argument("--catalogue", default="deploy/topics.yaml")
    parser.add_argument("--replication-factor", type=int, default=None)
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
