"""Every object of deploy/k8s, as it would be applied, is valid against its published schema.

Base and every overlay are rendered with kustomize (scripts/kustomize), and the examples in
deploy/k8s/infra/ are read as they are; each object is checked (tests/unit/deploy/schemas.py)
for the oldest Kubernetes we support and the newest kubernetes-validate knows: core kinds against
Kubernetes' OpenAPI schemas, Strimzi, KEDA and Prometheus Operator kinds against their CRDs'
openAPIV3Schema (scripts/k8s-schemas, `make k8s-schemas`). An object of a kind without a schema
fails. So does a manifest with a misspelt field, a wrong type or a value outside an enum: the
tests at the bottom prove the checks catch each of those, through kustomize as well.

deploy/k8s/base/kafka-topics.yaml is generated from deploy/topics.yaml; the suite runs
`render-topics.py --check` so a catalogue change without the regenerated file fails here."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy.schemas import KUBERNETES_VERSIONS, crd_kinds, problems

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
KUSTOMIZE = REPO / "scripts" / "kustomize"
RENDER_TOPICS = K8S / "render-topics.py"
KUSTOMIZATIONS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
IDS = [p.relative_to(K8S).as_posix() for p in KUSTOMIZATIONS]
# Plain manifests outside any kustomization (examples applied by hand).
LOOSE = sorted(p for p in (K8S / "infra").glob("*.yaml"))


def build(directory: Path) -> list[dict]:
    result = subprocess.run(
        [str(KUSTOMIZE), "build", str(directory)], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"kustomize build {directory}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@cache
def render(directory: Path) -> list[dict]:
    return build(directory)


def objects(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def all_problems(docs: list[dict]) -> list[str]:
    return [
        f"[{k8s}] {p}" for k8s in KUBERNETES_VERSIONS for doc in docs for p in problems(doc, k8s)
    ]


def test_every_kustomization_and_example_is_found():
    assert {"base", "overlays/production", "overlays/gpu"} <= set(IDS)
    assert {p.name for p in LOOSE} >= {"strimzi-kafka.yaml", "secrets.example.yaml"}


def test_the_crd_schemas_cover_the_kinds_we_ship():
    assert {
        ("kafka.strimzi.io/v1beta2", "Kafka"),
        ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
        ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
        ("kafka.strimzi.io/v1beta2", "KafkaUser"),
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("keda.sh/v1alpha1", "TriggerAuthentication"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
    } <= crd_kinds()


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_every_rendered_object_is_valid(directory):
    docs = render(directory)
    assert len(docs) > 10
    found = all_problems(docs)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", LOOSE, ids=[p.name for p in LOOSE])
def test_every_example_object_is_valid(path):
    docs = objects(path)
    assert docs
    found = all_problems(docs)
    assert not found, "\n".join(found)


# Each generated file, its renderer, and an edit that makes it stale.
RENDERED = [
    (RENDER_TOPICS, "kafka-topics.yaml", ("partitions: 12", "partitions: 11")),
    (K8S / "render-kafka-users.py", "kafka-users.yaml", ("- Write\n", "- Read\n")),
]


@pytest.mark.parametrize(("renderer", "output", "edit"), RENDERED)
def test_the_generated_files_are_rendered_from_the_catalogue(tmp_path, renderer, output, edit):
    """deploy/k8s/base/kafka-topics.yaml and kafka-users.yaml are what their renderers write
    from deploy/topics.yaml, and a stale copy fails the check."""
    result = subprocess.run(
        [sys.executable, str(renderer), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr + result.stdout

    stale = tmp_path / output
    current = (K8S / "base" / output).read_text()
    stale.write_text(current.replace(*edit, 1))
    assert stale.read_text() != current
    result = subprocess.run(
        [sys.executable, str(renderer), "--check", "--output", str(stale)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "out of date" in result.stderr


# --- the checks catch broken manifests ------------------------------------------------------


def first(docs: list[dict], kind: str) -> dict:
    return copy.deepcopy(next(d for d in docs if d["kind"] == kind))


def container(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]["containers"][0]


def _misspelt_container_field(docs):
    doc = first(docs, "Deployment")
    container(doc)["imagePullPolicyy"] = "Always"
    return doc, "imagePullPolicyy"


def _replicas_as_words(docs):
    doc = first(docs, "Deployment")
    doc["spec"]["replicas"] = "two"
    return doc, "replicas"


def _service_port_as_name(docs):
    doc = first(docs, "Service")
    doc["spec"]["ports"][0]["port"] = "http"
    return doc, "port"


def _unknown_metadata_field(docs):
    doc = first(docs, "ScaledObject")
    doc["metadata"]["label"] = {"a": "b"}
    return doc, "label"


def _scaled_object_bad_max(docs):
    doc = first(docs, "ScaledObject")
    doc["spec"]["maxReplicaCount"] = "twelve"
    return doc, "maxReplicaCount"


def _scaled_object_misspelt_trigger(docs):
    doc = first(docs, "ScaledObject")
    doc["spec"]["triggers"][0]["metadatas"] = doc["spec"]["triggers"][0].pop("metadata")
    return doc, "metadatas"


def _topic_partitions_as_words(docs):
    doc = first(docs, "KafkaTopic")
    doc["spec"]["partitions"] = "twelve"
    return doc, "partitions"


def _service_monitor_misspelt(docs):
    doc = first(docs, "ServiceMonitor")
    doc["spec"]["endpoint"] = doc["spec"].pop("endpoints")
    return doc, "endpoint"


def _rule_without_expr(docs):
    doc = first(docs, "PrometheusRule")
    del doc["spec"]["groups"][0]["rules"][0]["expr"]
    return doc, "expr"


def _kafka_listener_type(docs):
    doc = first(objects(K8S / "infra" / "strimzi-kafka.yaml"), "Kafka")
    doc["spec"]["kafka"]["listeners"][0]["type"] = "public"
    return doc, "type"


def _node_pool_role(docs):
    doc = first(objects(K8S / "infra" / "strimzi-kafka.yaml"), "KafkaNodePool")
    doc["spec"]["roles"] = ["gateway"]
    return doc, "roles"


def _unknown_kind(docs):
    doc = first(docs, "ScaledObject")
    doc["kind"] = "ScaledObjekt"
    return doc, "no schema"


BREAKAGES = [
    _misspelt_container_field,
    _replicas_as_words,
    _service_port_as_name,
    _unknown_metadata_field,
    _scaled_object_bad_max,
    _scaled_object_misspelt_trigger,
    _topic_partitions_as_words,
    _service_monitor_misspelt,
    _rule_without_expr,
    _kafka_listener_type,
    _node_pool_role,
    _unknown_kind,
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.__name__.strip("_") for b in BREAKAGES])
def test_a_broken_object_is_refused(breakage):
    docs = render(K8S / "base")
    doc, what = breakage(docs)
    found = all_problems([doc])
    assert found, f"{breakage.__name__}: no problem found"
    assert any(what in p for p in found), found


def test_a_broken_overlay_fails_through_kustomize(tmp_path):
    """An overlay whose patch misspells a field renders fine but fails validation."""
    overlay = tmp_path / "broken"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S / "overlays" / "production", overlay)],
                "patches": [
                    {
                        "target": {"kind": "Deployment", "name": "face-match"},
                        "patch": "- op: add\n"
                        "  path: /spec/template/spec/containers/0/resources/limitz\n"
                        "  value: {cpu: '2'}\n",
                    },
                    {
                        "target": {"kind": "ScaledObject", "name": "face-match"},
                        "patch": "- op: replace\n  path: /spec/minReplicaCount\n  value: one\n",
                    },
                ],
            }
        )
    )
    found = all_problems(build(overlay))
    assert any("Deployment face-match" in p and "limitz" in p for p in found), found
    assert any("ScaledObject face-match" in p and "minReplicaCount" in p for p in found), found
