"""Kafka is reached over TLS with SCRAM in every rendered overlay: the shared ConfigMap says
SASL_SSL with a CA file, every container that reads it (the migrations too: they check the
settings) mounts that CA, every pod's user and password come from its own Secret, KEDA's kafka
triggers log in the same way, and the example Strimzi cluster offers only that listener, on the
port the services are given. (The client side: tests/integration/kit/test_kafka_sasl_ssl.py.)"""

from __future__ import annotations

import posixpath
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml
from punchcard_kit.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
KUSTOMIZE = REPO / "scripts" / "kustomize"
KUSTOMIZATIONS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
IDS = [p.relative_to(K8S).as_posix() for p in KUSTOMIZATIONS]


@cache
def render(directory: Path) -> list[dict]:
    result = subprocess.run(
        [str(KUSTOMIZE), "build", str(directory)], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"kustomize build {directory}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _config(directory: Path) -> tuple[str, dict[str, str]]:
    (cm,) = [d for d in render(directory) if d["kind"] == "ConfigMap"]
    return cm["metadata"]["name"], cm["data"]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_services_reach_kafka_over_tls_with_scram(directory):
    config_name, config = _config(directory)
    assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["KAFKA_SASL_MECHANISM"].startswith("SCRAM-")
    # Values the kit accepts (the CA file aside: it exists only in the pod).
    KafkaSettings(
        environment="development",
        kafka_security_protocol=config["KAFKA_SECURITY_PROTOCOL"],
        kafka_sasl_mechanism=config["KAFKA_SASL_MECHANISM"],
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    )
    ca_dir, ca_name = posixpath.split(config["KAFKA_SSL_CAFILE"])
    deployments = [d for d in render(directory) if d["kind"] == "Deployment"]
    assert len(deployments) == 5
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod.get("initContainers", []) + pod["containers"]:
            sources = c.get("envFrom", [])
            if not any(s.get("configMapRef", {}).get("name") == config_name for s in sources):
                continue
            where = f"{deployment['metadata']['name']}/{c['name']}"
            # Its own Secret holds KAFKA_SASL_USERNAME/PASSWORD (infra/secrets.example.yaml).
            assert any("secretRef" in s for s in sources), where
            (mount,) = [m for m in c.get("volumeMounts", []) if m["mountPath"] == ca_dir]
            assert mount.get("readOnly"), where
            secret = volumes[mount["name"]]["secret"]
            assert secret["secretName"] == "punchcard-cluster-ca-cert", where
            assert [i["path"] for i in secret.get("items", [])] in ([], [ca_name]), where


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_keda_logs_in_to_kafka_like_the_services(directory):
    docs = render(directory)
    auths = {d["metadata"]["name"]: d for d in docs if d["kind"] == "TriggerAuthentication"}
    triggers = [
        t
        for d in docs
        if d["kind"] == "ScaledObject"
        for t in d["spec"]["triggers"]
        if t["type"] == "kafka"
    ]
    assert triggers
    for trigger in triggers:
        auth = auths[trigger["authenticationRef"]["name"]]
        parameters = {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]}
        assert {"sasl", "tls", "username", "password", "ca"} <= parameters


def test_the_example_strimzi_cluster_offers_only_tls_with_scram_on_the_configured_port():
    docs = [d for d in yaml.safe_load_all((K8S / "infra" / "strimzi-kafka.yaml").read_text()) if d]
    (kafka,) = [d for d in docs if d["kind"] == "Kafka"]
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert all(
        listener["tls"] and listener["authentication"]["type"] == "scram-sha-512"
        for listener in listeners
    )
    _, config = _config(K8S / "base")
    port = int(config["KAFKA_BOOTSTRAP_SERVERS"].rsplit(":", 1)[1])
    assert port in {listener["port"] for listener in listeners}
    # Only authorized users may do anything: the KafkaUsers' ACLs (base/kafka-users.yaml).
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    users = {
        d["metadata"]["name"]
        for d in render(K8S / "base")
        if d["kind"] == "KafkaUser" and d["spec"]["authorization"]["type"] == "simple"
    }
    secrets = {
        d["metadata"]["name"]: d["stringData"]
        for d in yaml.safe_load_all((K8S / "infra" / "secrets.example.yaml").read_text())
        if d
    }
    for name, values in secrets.items():
        if name.endswith("-secrets"):
            assert values["KAFKA_SASL_USERNAME"] in users, name
            assert "KAFKA_SASL_PASSWORD" in values, name
    assert secrets["keda-kafka"]["username"] in users
