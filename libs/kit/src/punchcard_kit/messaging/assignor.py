"""A group's partitions dealt to processes first, then to each process's lanes.

A service may run several consumers of one group in one process (``Subscription.lanes``:
identity's PIN lanes, punch's verdict lanes), each a member of the group. Kafka's stock
assignors see only members. With 12 replicas of four lanes, 48 members share 12 partitions.
The round robin over member ids (``<client id>-<random uuid>``) then gives partitions to 12
members picked by chance: one pod may get four and another none. Scaling out on lag (KEDA)
would then add idle pods while the loaded ones stay loaded.

This assignor reads which process each member runs in (its ``user_data``: a random token per
process, :data:`PROCESS_TOKEN`). It deals each topic's partitions to the least-loaded process
(ties: the token's order), and a process's share to its least-loaded lane. So two processes'
partition counts differ by at most one, and so do two lanes' of one process. With one member
a process, each member gets as many partitions as round robin would give it.

It speaks under Kafka's protocol name ``roundrobin``, as the only protocol the kit's consumers
offer. Offering it beside ``roundrobin`` under a name of its own would be the textbook way to
let a group switch during a rolling upgrade, but aiokafka (0.14) sends one JoinGroup per
offered assignor, each with one more protocol than the last (aio-libs/aiokafka#1168). The
broker takes every JoinGroup after the first for changed metadata and starts another rebalance.
Two lanes of one process doing that in turn kept a group rebalancing for minutes. Under the
one name, members of an image from before this one (the stock round robin, empty
``user_data``) join the same group. Whichever member leads assigns: an old leader by member id,
a new one by process, where a member without a token counts as a process of its own. Any member
takes either assignment, since an assignment is only partitions.

Eager protocol, as ``roundrobin``: a rebalance revokes every partition first, and the kit's
consumer finishes its batch in hand and commits on revoke.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)

from ..logging import get_logger

log = get_logger(__name__)

# This process's token: every consumer it runs carries it, and only its consumers do.
PROCESS_TOKEN = uuid.uuid4().bytes


def spread(
    partitions: Mapping[str, Iterable[int]],
    members: Mapping[str, tuple[bytes, Collection[str]]],
) -> dict[str, dict[str, list[int]]]:
    """The one rule: ``{member: {topic: [partition, …]}}`` for ``members`` (member id →
    (process token, subscribed topics)). Each partition goes to the process with the fewest
    partitions so far, among those whose members subscribe to its topic (ties: the lowest
    token). Within that process it goes to the subscribed member with the fewest (ties: the
    lowest member id). Topics and partitions are taken in order, so every leader computes the
    same plan."""
    plan: dict[str, dict[str, list[int]]] = {member: {} for member in members}
    per_process: Counter[bytes] = Counter()
    per_member: Counter[str] = Counter()
    for topic in sorted(partitions):
        lanes: dict[bytes, list[str]] = defaultdict(list)
        for member in sorted(members):
            token, topics = members[member]
            if topic in topics:
                lanes[token].append(member)
        if not lanes:
            continue
        for partition in sorted(partitions[topic]):
            process = min(lanes, key=lambda t: (per_process[t], t))
            member = min(lanes[process], key=lambda m: (per_member[m], m))
            plan[member].setdefault(topic, []).append(partition)
            per_process[process] += 1
            per_member[member] += 1
    return plan


class LaneSpreadAssignor(AbstractPartitionAssignor):
    """Kafka's assignor plug-in point for :func:`spread` (aiokafka calls its class methods).
    ``token``: the process it speaks for (:meth:`for_process` makes one for another token, as
    tests need for "two processes" in one)."""

    name = "roundrobin"  # see the module's docstring
    version = 0
    token: bytes = PROCESS_TOKEN

    @classmethod
    def for_process(cls, token: bytes) -> type[LaneSpreadAssignor]:
        return type(cls.__name__, (cls,), {"token": token})

    @classmethod
    def metadata(cls, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        return ConsumerProtocolMemberMetadata(cls.version, sorted(topics), cls.token)

    @classmethod
    def assign(
        cls, cluster: ClusterMetadata, members: Mapping[str, ConsumerProtocolMemberMetadata]
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        partitions: dict[str, set[int]] = {}
        for topic in {t for metadata in members.values() for t in metadata.subscription}:
            found = cluster.partitions_for_topic(topic)
            if found is None:
                log.warning("no partition metadata for a subscribed topic", topic=topic)
                continue
            partitions[topic] = found
        # A member without a token (none should be) counts as a process of its own.
        plan = spread(
            partitions,
            {
                member: (metadata.user_data or member.encode(), metadata.subscription)
                for member, metadata in members.items()
            },
        )
        return {
            member: ConsumerProtocolMemberAssignment(cls.version, sorted(plan[member].items()), b"")
            for member in members
        }

    @classmethod
    def on_assignment(cls, assignment: ConsumerProtocolMemberAssignment) -> None:
        return None
