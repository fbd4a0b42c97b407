"""Each service's KafkaUser allows exactly what the topic catalogue says it does
(deploy/k8s/base/kafka-users.yaml, rendered by deploy/k8s/render-kafka-users.py from
deploy/topics.yaml): the committed file is what the renderer writes, the catalogue's consumer
groups are the ones the services' code subscribes with, and the ACLs grant each topic's
producers Write, its consumers Read, and nobody anything else: no service may create a topic,
its dead-letter topics included, which are rendered KafkaTopics like the others.
(Schema: test_manifest_schemas.)"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
RENDER_USERS = K8S / "render-kafka-users.py"
USERS = K8S / "base" / "kafka-users.yaml"
CATALOGUE = yaml.safe_load((REPO / "deploy" / "topics.yaml").read_text())


def _users() -> dict[str, dict]:
    docs = [d for d in yaml.safe_load_all(USERS.read_text()) if d]
    return {d["metadata"]["name"]: d for d in docs}


def _grants(user: dict) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        assert resource["patternType"] == "literal", resource  # no prefix reaches further
        found.setdefault((resource["type"], resource["name"]), set()).update(acl["operations"])
    return found


def _module_strings(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }


def _code_groups(service: str) -> set[str]:
    """The group ids of the Subscription(...) calls in a service's entrypoints/consumers.py."""
    (path,) = (REPO / "services" / service / "src").glob("*/entrypoints/consumers.py")
    tree = ast.parse(path.read_text())
    constants = _module_strings(tree)
    groups = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Subscription":
            first = (
                node.args[0]
                if node.args
                else next(k.value for k in node.keywords if k.arg == "group_id")
            )
            if isinstance(first, ast.Constant):
                groups.add(first.value)
            else:
                assert isinstance(first, ast.Name), ast.dump(first)
                groups.add(constants[first.id])
    return groups


def test_the_catalogue_names_every_consumer_group_the_services_use():
    groups = CATALOGUE["consumer_groups"]
    for service, ids in groups.items():
        if (REPO / "services" / service / "src").exists() and ids:
            assert _code_groups(service) == set(ids), service
    assert groups["gateway"] == []  # it follows the kiosk answers without a group


def test_every_user_may_do_exactly_what_the_catalogue_says():
    users = _users()
    services = set(CATALOGUE["consumer_groups"])
    assert set(users) == {f"punchcard-{s}" for s in services} | {"punchcard-keda", "punchcard-dlq"}
    for service in services:
        user = users[f"punchcard-{service}"]
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        secret = user["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": f"{service}-secrets", "key": "KAFKA_SASL_PASSWORD"}
        expected: dict[tuple[str, str], set[str]] = {}
        for topic in CATALOGUE["topics"]:
            operations = set()
            if service in topic.get("producers", []):
                operations |= {"Write", "Describe"}
            if service in topic.get("consumers", []):
                operations |= {"Read", "Describe"}
            if operations:
                expected[("topic", topic["name"])] = operations
        for group in CATALOGUE["consumer_groups"][service]:
            expected[("group", group)] = {"Read"}
            expected[("topic", f"{group}.dlq")] = {"Write", "Describe"}
        assert _grants(user) == expected, service
    # The catalogue's own facts, as the services need them.
    identity = _grants(users["punchcard-identity"])
    assert identity[("topic", "punchcard.kiosk.pin-attempts.v1")] == {"Read", "Describe"}
    assert ("topic", "punchcard.kiosk.face-attempts.v1") not in identity
    gateway = _grants(users["punchcard-gateway"])
    assert gateway[("topic", "punchcard.kiosk.face-attempts.v1")] == {"Write", "Describe"}
    assert not any(kind == "group" for kind, _ in gateway)


def test_keda_only_describes_the_groups_and_their_topics():
    keda = _grants(_users()["punchcard-keda"])
    assert set().union(*keda.values()) == {"Describe"}
    groups = {g for ids in CATALOGUE["consumer_groups"].values() for g in ids}
    assert {name for kind, name in keda if kind == "group"} == groups
    assert ("topic", "punchcard.kiosk.face-attempts.v1") in keda


def test_the_dlq_tool_reads_the_letters_and_writes_only_where_they_came_from():
    tool = _grants(_users()["punchcard-dlq"])
    groups = [g for ids in CATALOGUE["consumer_groups"].values() for g in ids]
    letters = {("topic", f"{g}.dlq") for g in groups}
    assert {k for k, ops in tool.items() if ops == {"Read", "Describe"}} == letters
    written = {name for (kind, name), ops in tool.items() if ops == {"Write", "Describe"}}
    assert "punchcard.kiosk.pin-attempts.v1" in written
    assert "punchcard.identity.workers.v1" in written  # punch.projections reads it
    assert not any(kind == "group" for kind, _ in tool)  # it reads without a group
    assert set(tool) == letters | {("topic", name) for name in written}


def test_no_service_may_create_or_alter_topics():
    for name, user in _users().items():
        operations = set().union(*_grants(user).values())
        assert not operations & {"Create", "Alter", "AlterConfigs", "Delete", "All"}, name


def test_every_groups_dead_letter_topic_is_a_rendered_topic_as_the_kit_would_create_it():
    """deploy/k8s/base/kafka-topics.yaml has each consumer group's <group>.dlq with the
    catalogue's dead_letters config (the kit's rule, which punchcard-topics and the consumers'
    fallback use too)."""
    from punchcard_kit.messaging.catalogue import DEAD_LETTER_CONFIG, DEAD_LETTER_PARTITIONS
    from punchcard_kit.messaging.dead_letters import dead_letter_topics

    kit = dead_letter_topics(CATALOGUE, "-x")
    groups = [g for ids in CATALOGUE["consumer_groups"].values() for g in ids]
    assert [name for name, _, _ in kit] == [f"{g}-x.dlq" for g in groups]
    assert {f"{g}.dlq": c for g, c in DEAD_LETTER_CONFIG.items()} == {
        name: config for name, _, config in dead_letter_topics(CATALOGUE)
    }
    rendered = {
        d["spec"]["topicName"]: d["spec"]
        for d in yaml.safe_load_all((K8S / "base" / "kafka-topics.yaml").read_text())
        if d
    }
    for group in groups:
        topic = rendered[f"{group}.dlq"]
        assert topic["partitions"] == DEAD_LETTER_PARTITIONS
        assert topic["config"] == DEAD_LETTER_CONFIG[group]
    # Letters copy frames and evidence photos: never kept longer than a week, the evidence
    # group's no longer than a frame.
    assert all(int(c["retention.ms"]) <= 7 * 86_400_000 for c in DEAD_LETTER_CONFIG.values())
    assert DEAD_LETTER_CONFIG["face-match.evidence"]["retention.ms"] == "86400000"
