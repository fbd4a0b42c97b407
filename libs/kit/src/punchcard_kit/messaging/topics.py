"""Topics as designed in ``deploy/topics.yaml``, created idempotently (``punchcard-topics``):
the topics it lists and every consumer group's dead-letter topic. It returns once the broker
also coordinates consumer groups (``group_coordinator``), so what starts after it (the
services of ``make run``, the tests, the benchmarks) joins its groups at once.

In production the same file feeds Strimzi KafkaTopic resources; locally the replication factor
is 1 and settings that need more replicas (min.insync.replicas) are dropped."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from pathlib import Path

import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAlreadyExistsError,
    for_code,
)

from ..logging import configure_logging, get_logger
from ..retry import KAFKA_REFUSALS, retry_transient
from .connection import kafka_options
from .dead_letters import dead_letter_topics

log = get_logger(__name__)

TopicSpec = tuple[str, int, int, dict[str, str]]


def specs_from_catalogue(
    path: str | Path, replication_factor: int | None, group_suffix: str = ""
) -> list[TopicSpec]:
    """The catalogue's topics, then its consumer groups' dead-letter topics."""
    document = yaml.safe_load(Path(path).read_text())
    default_rf = int(document.get("defaults", {}).get("replication_factor", 1))
    rf = replication_factor or default_rf
    listed = [
        (topic["name"], int(topic["partitions"]), topic.get("config") or {})
        for topic in document.get("topics", [])
    ]
    return [
        (name, partitions, rf, config_for(given, rf))
        for name, partitions, given in [*listed, *dead_letter_topics(document, group_suffix)]
    ]


def config_for(config: Mapping[str, object], replication_factor: int) -> dict[str, str]:
    """A topic's config as created with ``replication_factor``: min.insync.replicas, which
    cannot exceed it, is dropped on a one-broker stack."""
    found = {str(k): str(v) for k, v in config.items()}
    if replication_factor < 2:
        found.pop("min.insync.replicas", None)
    return found


async def ensure_topics_exist(bootstrap_servers: str, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that are missing; returns the names created. Existing topics are left
    as they are (partitions are never shrunk; changes to them are an operator's decision).
    A topic the cluster refuses raises its error (``refusal``): CreateTopics answers each
    topic with an error code instead of raising, so without it a topic that was never made
    (a replication factor above the brokers, a config the broker rejects, a user without
    CREATE) would be reported as created."""
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
            error = refusal(await admin.create_topics([topic]), topic.name)
            if error is None:
                created.append(topic.name)
            elif not isinstance(error, TopicAlreadyExistsError):  # made meanwhile: fine
                raise error
        return created
    finally:
        await admin.close()


def refusal(response: object, topic: str) -> KafkaError | None:
    """The error a CreateTopics response gives ``topic`` (aiokafka's class for its code, with
    the broker's message), or None when it was created."""
    for name, code, *message in getattr(response, "topic_errors", []):
        if name == topic and code:
            said = message[0] if message and message[0] else for_code(code).description
            return for_code(code)(f"topic {topic}: {said}")
    return None


async def group_coordinator(bootstrap_servers: str) -> int | None:
    """The id of the broker that coordinates consumer groups. On a new cluster the first such
    question creates ``__consumer_offsets`` (50 partitions by default) and is answered
    GROUP_COORDINATOR_NOT_AVAILABLE, a retriable error, until they are loaded: asked here,
    before anything joins a group, instead of by every consumer of the first services, tests
    or benchmarks (each logging aiokafka's "Group Coordinator Request failed" meanwhile).
    None: this user may not describe a group (a managed cluster's operator may create topics
    without any group's ACLs), so nothing is known."""
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap_servers, client_id="punchcard-topics"))
    await admin.start()
    try:
        return await admin.find_coordinator("punchcard-topics")
    except GroupAuthorizationFailedError:
        return None
    finally:
        await admin.close()


async def _main(args: argparse.Namespace) -> None:
    configure_logging("topics", "INFO", json=False)
    specs = specs_from_catalogue(args.catalogue, args.replication_factor, args.group_suffix)
    created = await retry_transient(
        "kafka admin",
        lambda: ensure_topics_exist(args.bootstrap_servers, specs),
        give_up_after_s=120,
    )
    for name, partitions, rf, _ in specs:
        state = "created" if name in created else "exists"
        print(f"{state:8} {name} partitions={partitions} replication={rf}")
    coordinator = await retry_transient(
        "kafka group coordinator",
        lambda: group_coordinator(args.bootstrap_servers),
        give_up_after_s=120,
    )
    if coordinator is None:
        print("consumer groups: not checked (this user may not describe a group)")
    else:
        print(f"consumer groups coordinated by broker {coordinator}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Create the topics of deploy/topics.yaml")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:19092")
    parser.add_argument("--catalogue", default="deploy/topics.yaml")
    parser.add_argument("--replication-factor", type=int, default=None)
    parser.add_argument(
        "--group-suffix", default="", help="the deployment's CONSUMER_GROUP_SUFFIX, if any"
    )
    try:
        asyncio.run(_main(parser.parse_args(argv)))
    except KAFKA_REFUSALS as error:  # the cluster answered "no": asking again changes nothing
        said = f"punchcard-topics: the cluster refused: {type(error).__name__}: {error}"
        raise SystemExit(said) from None


if __name__ == "__main__":
    main()
