"""The lane-spreading assignor: a group's partitions dealt to processes first, then to each
process's lanes (the one rule, ``spread``), and its Kafka plug-in (``LaneSpreadAssignor``)."""

from __future__ import annotations

from collections import Counter

from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocol, ConsumerProtocolMemberMetadata
from hypothesis import given
from hypothesis import strategies as st
from punchcard_kit.messaging.assignor import PROCESS_TOKEN, LaneSpreadAssignor, spread


def fleet(processes: int, lanes: int, topics=("t",)) -> dict[str, tuple[bytes, set[str]]]:
    """``processes`` × ``lanes`` members; member ids as Kafka makes them: client id + uuid-ish
    (here: the lane's process last, so that sorting member ids does not group a process)."""
    return {
        f"group-{lane:02d}{p:03d}": (f"proc-{p:03d}".encode(), set(topics))
        for p in range(processes)
        for lane in range(lanes)
    }


def counts(plan, members) -> tuple[Counter, Counter]:
    per_process: Counter = Counter()
    per_member: Counter = Counter()
    for member, topics in plan.items():
        n = sum(len(ps) for ps in topics.values())
        per_member[member] += n
        per_process[members[member][0]] += n
    return per_process, per_member


def test_twelve_partitions_over_twelve_processes_of_four_lanes_give_each_process_one():
    members = fleet(12, 4)
    per_process, _ = counts(spread({"t": range(12)}, members), members)
    assert sorted(per_process.values()) == [1] * 12


def test_a_process_share_goes_one_partition_a_lane():
    members = fleet(3, 4)
    plan = spread({"t": range(12)}, members)
    per_process, per_member = counts(plan, members)
    assert set(per_process.values()) == {4} and set(per_member.values()) == {1}
    assert sorted(p for topics in plan.values() for p in topics.get("t", [])) == list(range(12))


def test_uneven_shares_differ_by_one_at_most():
    members = fleet(5, 2)
    per_process, per_member = counts(spread({"t": range(12)}, members), members)
    assert sorted(per_process.values()) == [2, 2, 2, 3, 3]
    assert max(per_member.values()) - min(per_member.values()) <= 1


def test_round_robin_over_member_ids_can_leave_processes_idle():
    """What the stock assignor does with lanes: why this one exists."""

    class Cluster:
        def partitions_for_topic(self, topic):
            return set(range(12))

    members = {
        # members sorted by id happen to list one process's lanes together
        f"m-{p:03d}-{lane}": ConsumerProtocolMemberMetadata(0, ["t"], f"proc-{p}".encode())
        for p in range(12)
        for lane in range(4)
    }
    stock = RoundRobinPartitionAssignor.assign(Cluster(), members)
    busy = {m.split("-")[1] for m, a in stock.items() if a.assignment and a.assignment[0][1]}
    assert len(busy) == 3  # 12 partitions on 3 of 12 processes
    ours = LaneSpreadAssignor.assign(Cluster(), members)
    busy = {m.split("-")[1] for m, a in ours.items() if a.assignment and a.assignment[0][1]}
    assert len(busy) == 12


@given(
    st.lists(st.integers(1, 6), min_size=1, max_size=12),  # lanes of each process
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(1, 30), min_size=1),
)
def test_every_partition_once_processes_and_lanes_within_one(lanes_of, partitions_of):
    members = {
        f"m{p:02d}-{lane}": (bytes([p]), set(partitions_of))
        for p, lanes in enumerate(lanes_of)
        for lane in range(lanes)
    }
    plan = spread({t: range(n) for t, n in partitions_of.items()}, members)
    for topic, n in partitions_of.items():
        dealt = sorted(p for topics in plan.values() for p in topics.get(topic, []))
        assert dealt == list(range(n))
    per_process, per_member = counts(plan, members)
    totals = [per_process[bytes([p])] for p in range(len(lanes_of))]
    assert max(totals) - min(totals) <= 1
    for p, lanes in enumerate(lanes_of):
        mine = [per_member[f"m{p:02d}-{lane}"] for lane in range(lanes)]
        assert max(mine) - min(mine) <= 1


def test_only_subscribers_get_a_topics_partitions():
    members = {"x-1": (b"A", {"t"}), "y-1": (b"B", {"t", "u"}), "y-2": (b"B", {"u"})}
    plan = spread({"t": range(4), "u": range(2)}, members)
    assert "u" not in plan["x-1"] and "t" not in plan["y-2"]
    assert sorted(plan["x-1"]["t"] + plan["y-1"].get("t", [])) == [0, 1, 2, 3]


def test_the_metadata_carries_this_process_token_and_survives_the_wire():
    metadata = LaneSpreadAssignor.metadata({"b", "a"})
    decoded = ConsumerProtocol.METADATA.decode(metadata.encode())
    assert (decoded.subscription, decoded.user_data) == (["a", "b"], PROCESS_TOKEN)
    other = LaneSpreadAssignor.for_process(b"other")
    assert other.metadata(["a"]).user_data == b"other" and other.name == "roundrobin"
    assert LaneSpreadAssignor.metadata(["a"]).user_data == PROCESS_TOKEN  # unchanged


async def test_the_kits_consumers_offer_it_alone_under_round_robins_name(monkeypatch):
    """One assignor: aiokafka 0.14 sends a JoinGroup per offered assignor (aio-libs/aiokafka
    #1168), which kept two lanes of a process rebalancing. Under ``roundrobin``'s name members
    of an older image still share the group."""
    from punchcard_kit.messaging import consumer as consumer_module

    seen: dict = {}

    class Consumer:
        def __init__(self, **options):
            seen.update(options)

        def subscribe(self, topics, listener=None):
            seen["topics"] = topics

        async def start(self):
            return None

    monkeypatch.setattr(consumer_module, "AIOKafkaConsumer", Consumer)
    loop = consumer_module.ConsumerLoop(
        group_id="g", topics=["t"], handler=None, pool=None, bootstrap_servers="kafka:9092"
    )
    await loop._start()
    assert seen["partition_assignment_strategy"] == (LaneSpreadAssignor,)
    assert LaneSpreadAssignor.name == RoundRobinPartitionAssignor.name
