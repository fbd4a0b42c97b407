"""Scaling, network isolation and monitoring of the Kubernetes manifests, as rendered by
kustomize (scripts/kustomize) for base and every overlay:

- face-match, identity and punch scale with KEDA on the consumer lag of the groups their code
  subscribes (and CPU as a floor), never beyond the partitions of the topic (deploy/topics.yaml),
  and no second HorizontalPodAutoscaler targets the same Deployment;
- a default-deny NetworkPolicy, and per service only the traffic it needs: from outside the
  namespace only the ingress controller (to the Ingress' backends) and Prometheus; out only to
  DNS, Kafka, PostgreSQL, Redis where the service's code uses it, and the APIs it calls (its
  *_URL settings);
- a ServiceMonitor per service on its Service's `ops` port, the container port the service
  serves /metrics on (OPS_PORT), apart from its API port, and on each native sidecar's
  `<sidecar>-ops` port (punch's outbox relay); Prometheus may reach those ports only; and no
  prometheus.io annotations;
- every outbox has exactly one relay in its pod: in the service's process, or (RELAY_ENABLED
  false) in a sidecar running ``punchcard-<service> relay``.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support.services import PUNCH_AS_DEPLOYED

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
KUSTOMIZE = REPO / "scripts" / "kustomize"
KUSTOMIZATIONS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
IDS = [p.relative_to(K8S).as_posix() for p in KUSTOMIZATIONS]

SERVICES = ["gateway", "identity", "face-match", "punch", "device-sync"]
# The consumer groups on the kiosk's hot path, per service: what KEDA must watch. Each group
# and topic is checked against the service's source and deploy/topics.yaml below.
HOT_GROUPS = {
    "face-match": {
        "face-match": "punchcard.kiosk.face-attempts.v1",
        "face-match.evidence": "punchcard.kiosk.evidence-photos.v1",
    },
    "identity": {
        "identity.pin-attempts": "punchcard.kiosk.pin-attempts.v1",
        "identity.card-attempts": "punchcard.kiosk.card-attempts.v1",
    },
    "punch": {"punch": "punchcard.identification.verdicts.v1"},
}
INGRESS_NAMESPACE = "ingress-nginx"
MONITORING_NAMESPACE = "monitoring"
POSTGRES_PORT = 5432
REDIS_PORT = 6379


@cache
def render(directory: Path) -> list[dict]:
    result = subprocess.run(
        [str(KUSTOMIZE), "build", str(directory)], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"kustomize build {directory}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(directory: Path, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in render(directory) if d["kind"] == kind}


@cache
def partitions() -> dict[str, int]:
    catalogue = yaml.safe_load((REPO / "deploy" / "topics.yaml").read_text())
    return {t["name"]: t["partitions"] for t in catalogue["topics"]}


@cache
def topic_consumers() -> dict[str, set[str]]:
    catalogue = yaml.safe_load((REPO / "deploy" / "topics.yaml").read_text())
    return {t["name"]: set(t.get("consumers", [])) for t in catalogue["topics"]}


def source(service: str) -> str:
    root = REPO / "services" / service / "src"
    return "\n".join(p.read_text() for p in root.rglob("*.py"))


def uses_redis(service: str) -> bool:
    return "redis_url" in source(service)


def config(directory: Path) -> dict[str, str]:
    (cm,) = [d for d in render(directory) if d["kind"] == "ConfigMap"]
    return cm["data"]


def container(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def container_port(directory: Path, service: str) -> int:
    return container(of_kind(directory, "Deployment")[service])["ports"][0]["containerPort"]


def ops_port(directory: Path, service: str) -> int:
    """The container port named ``ops``, which must be the OPS_PORT the service is given."""
    spec = container(of_kind(directory, "Deployment")[service])
    (port,) = [p["containerPort"] for p in spec["ports"] if p["name"] == "ops"]
    env = {e["name"]: e.get("value") for e in spec.get("env", [])}
    given = env.get("OPS_PORT") or config(directory).get("OPS_PORT")
    assert given is not None and int(given) == port, service
    assert port != container_port(directory, service), service
    return port


def sidecars(deployment: dict) -> list[dict]:
    """Its native sidecars: init containers that restart Always (punch's outbox relay)."""
    init = deployment["spec"]["template"]["spec"].get("initContainers", [])
    return [c for c in init if c.get("restartPolicy") == "Always"]


def ops_ports(directory: Path, service: str) -> dict[str, int]:
    """Every port of the pod Prometheus scrapes, by name: the service's ``ops`` and each
    sidecar's ``<sidecar>-ops``, each the OPS_PORT that container is given."""
    found = {"ops": ops_port(directory, service)}
    for sidecar in sidecars(of_kind(directory, "Deployment")[service]):
        name = f"{sidecar['name']}-ops"
        (port,) = [p["containerPort"] for p in sidecar["ports"] if p["name"] == name]
        env = {e["name"]: e.get("value") for e in sidecar.get("env", [])}
        assert env.get("OPS_PORT") == str(port), (service, name)
        found[name] = port
    assert len(set(found.values())) == len(found), service
    return found


def calls(directory: Path) -> dict[str, set[str]]:
    """Which service calls which, from the *_URL settings each Deployment gets (its env and the
    shared ConfigMap) and its code reads: http://<service>:<port> names a Service of the
    namespace. (Every service gets the shared ConfigMap's IDENTITY_URL, only the gateway
    reads it.)"""
    services = of_kind(directory, "Service")
    found: dict[str, set[str]] = {}
    shared = config(directory)
    for name, deployment in of_kind(directory, "Deployment").items():
        env = {e["name"]: e.get("value", "") for e in container(deployment).get("env", [])}
        refs = container(deployment).get("envFrom", [])
        if any(
            r.get("configMapRef", {}).get("name", "").startswith("punchcard-config") for r in refs
        ):
            env = {**shared, **env}
        for key, value in env.items():
            if key.endswith("_URL") and value.startswith("http") and key.lower() in source(name):
                host = urlsplit(value).hostname
                if host in services and host != name:
                    found.setdefault(name, set()).add(host)
    return found


def test_every_kustomization_is_found():
    assert {"base", "overlays/production", "overlays/gpu"} <= set(IDS)


def test_hot_groups_are_the_ones_the_code_subscribes():
    for service, groups in HOT_GROUPS.items():
        code = source(service)
        for group, topic in groups.items():
            assert re.search(rf"[\"']{re.escape(group)}[\"']", code), (service, group)
            assert service in topic_consumers()[topic], (service, topic)


# --- KEDA ---------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_consumers_scale_on_lag_within_partitions(directory):
    scaled = of_kind(directory, "ScaledObject")
    deployments = of_kind(directory, "Deployment")
    bootstrap = config(directory)["KAFKA_BOOTSTRAP_SERVERS"]
    by_target = {s["spec"]["scaleTargetRef"]["name"]: s for s in scaled.values()}
    assert set(by_target) == set(HOT_GROUPS)
    for service, groups in HOT_GROUPS.items():
        spec = by_target[service]["spec"]
        assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        assert service in deployments
        kafka = [t for t in spec["triggers"] if t["type"] == "kafka"]
        watched = {t["metadata"]["consumerGroup"]: t["metadata"]["topic"] for t in kafka}
        assert watched == groups, service
        for trigger in kafka:
            assert trigger["metadata"]["bootstrapServers"] == bootstrap, service
            assert int(trigger["metadata"]["lagThreshold"]) > 0
            # An idle consumer beyond the partitions would be scaled for nothing.
            assert trigger["metadata"].get("allowIdleConsumers", "false") == "false"
        assert spec["minReplicaCount"] >= 1
        assert spec["maxReplicaCount"] >= spec["minReplicaCount"]
        assert spec["maxReplicaCount"] <= min(partitions()[t] for t in groups.values()), service
        cpu = [t for t in spec["triggers"] if t["type"] == "cpu"]
        assert len(cpu) == 1 and cpu[0]["metricType"] == "Utilization", service
        # The CPU trigger measures against requests: the container must have one.
        assert container(deployments[service])["resources"]["requests"]["cpu"]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_no_second_autoscaler_on_a_scaled_deployment(directory):
    scaled = {
        s["spec"]["scaleTargetRef"]["name"] for s in of_kind(directory, "ScaledObject").values()
    }
    hpas = [
        h["spec"]["scaleTargetRef"]["name"]
        for h in of_kind(directory, "HorizontalPodAutoscaler").values()
    ]
    assert not scaled & set(hpas)
    assert len(hpas) == len(set(hpas))
    # Every Deployment is scaled by exactly one of them, none has a fixed count.
    assert scaled | set(hpas) == set(of_kind(directory, "Deployment"))
    for deployment in of_kind(directory, "Deployment").values():
        assert "replicas" not in deployment["spec"]


# --- NetworkPolicies ----------------------------------------------------------------------


def policies_for(directory: Path, service: str) -> list[dict]:
    labels = of_kind(directory, "Deployment")[service]["spec"]["template"]["metadata"]["labels"]
    return [
        p
        for p in of_kind(directory, "NetworkPolicy").values()
        if p["spec"]["podSelector"]
        and p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
    ]


def namespace_of(peer: dict) -> str | None:
    """The namespace a peer names (None: this namespace); ipBlocks are "outside"."""
    if "ipBlock" in peer:
        return "<ipBlock>"
    selector = peer.get("namespaceSelector")
    if selector is None:
        return None
    assert "matchExpressions" not in selector
    return selector.get("matchLabels", {}).get("kubernetes.io/metadata.name", "<any>")


def ports(rule: dict) -> set[tuple[str, int]]:
    return {(p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])}


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_default_deny(directory):
    deny = [
        p
        for p in of_kind(directory, "NetworkPolicy").values()
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no default-deny NetworkPolicy"
    # No other policy opens the whole namespace.
    for policy in of_kind(directory, "NetworkPolicy").values():
        if policy not in deny:
            assert policy["spec"]["podSelector"].get("matchLabels"), policy["metadata"]["name"]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_ingress_only_from_the_ingress_controller_callers_and_prometheus(directory):
    backends = {
        entry["backend"]["service"]["name"]
        for ingress in of_kind(directory, "Ingress").values()
        for rule in ingress["spec"]["rules"]
        for entry in rule["http"]["paths"]
    }
    assert backends == {"gateway", "device-sync"}
    callers = calls(directory)
    for service in SERVICES:
        port = container_port(directory, service)
        found = policies_for(directory, service)
        assert found, f"{service}: no NetworkPolicy (default-deny cuts it off)"
        from_outside: set[str] = set()
        from_inside: set[str] = set()
        for policy in found:
            for rule in policy["spec"].get("ingress", []):
                assert rule.get("from"), f"{service}: an ingress rule open to everyone"
                for peer in rule["from"]:
                    namespace = namespace_of(peer)
                    if namespace is None:
                        name = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                        from_inside.add(name)
                        assert ports(rule) == {("TCP", port)}, service
                    else:
                        from_outside.add(namespace)
                        if namespace == MONITORING_NAMESPACE:
                            labels = peer["podSelector"]["matchLabels"]
                            assert labels == {"app.kubernetes.io/name": "prometheus"}
                            # Prometheus: the ops ports only, never the API.
                            scraped = ops_ports(directory, service).values()
                            assert ports(rule) == {("TCP", port) for port in scraped}
                        else:
                            assert "podSelector" not in peer or peer["podSelector"] == {}
                            assert ports(rule) == {("TCP", port)}, service
        expected_outside = {MONITORING_NAMESPACE}
        if service in backends:
            expected_outside.add(INGRESS_NAMESPACE)
        assert from_outside == expected_outside, service
        assert from_inside == {c for c, callees in callers.items() if service in callees}, service


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_egress_only_dns_kafka_traces_database_redis_and_called_apis(directory):
    bootstrap = config(directory)["KAFKA_BOOTSTRAP_SERVERS"]
    kafka_port = int(bootstrap.rsplit(":", 1)[1])
    kafka_namespace = bootstrap.split(":")[0].split(".")[1]
    # The OpenTelemetry Collector the traces go to (OTEL_EXPORTER_OTLP_ENDPOINT).
    collector = urlsplit(config(directory)["OTEL_EXPORTER_OTLP_ENDPOINT"])
    collector_namespace = collector.hostname.split(".")[1]
    callers = calls(directory)
    assert callers == {"gateway": {"identity", "device-sync", "punch", "face-match"}}
    for service in SERVICES:
        allowed: set[str] = set()
        for policy in policies_for(directory, service):
            for rule in policy["spec"].get("egress", []):
                peers = rule.get("to", [])
                what = ports(rule)
                if what == {("UDP", 53), ("TCP", 53)}:
                    assert [namespace_of(p) for p in peers] == ["kube-system"]
                    assert peers[0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
                    allowed.add("dns")
                elif what == {("TCP", kafka_port)} and peers and namespace_of(peers[0]):
                    assert [namespace_of(p) for p in peers] == [kafka_namespace]
                    assert peers[0]["podSelector"]["matchLabels"] == {
                        "strimzi.io/cluster": "punchcard"
                    }
                    allowed.add("kafka")
                elif what == {("TCP", collector.port)} and peers and namespace_of(peers[0]):
                    assert [namespace_of(p) for p in peers] == [collector_namespace]
                    assert peers[0]["podSelector"]["matchLabels"] == {
                        "app.kubernetes.io/name": "opentelemetry-collector"
                    }
                    allowed.add("traces")
                elif what == {("TCP", POSTGRES_PORT)}:
                    assert all(namespace_of(p) == "<ipBlock>" for p in peers), service
                    allowed.add("postgres")
                elif what == {("TCP", REDIS_PORT)}:
                    assert all(namespace_of(p) == "<ipBlock>" for p in peers), service
                    allowed.add("redis")
                else:
                    assert len(peers) == 1 and namespace_of(peers[0]) is None, (service, rule)
                    callee = peers[0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                    assert what == {("TCP", container_port(directory, callee))}, (service, rule)
                    allowed.add(f"api:{callee}")
        expected = {"dns", "kafka", "traces", "postgres"}
        if uses_redis(service):
            expected.add("redis")
        expected |= {f"api:{c}" for c in callers.get(service, set())}
        assert allowed == expected, service


# --- Monitoring ---------------------------------------------------------------------------


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_a_service_monitor_per_service_on_an_exposed_port(directory):
    services = of_kind(directory, "Service")
    deployments = of_kind(directory, "Deployment")
    monitored: set[str] = set()
    for monitor in of_kind(directory, "ServiceMonitor").values():
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        selector = monitor["spec"]["selector"]["matchLabels"]
        selected = [
            s for s in services.values() if selector.items() <= s["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, monitor["metadata"]["name"]
        (service,) = selected
        named = {p["name"]: p for p in service["spec"]["ports"]}
        pods = service["spec"]["selector"]
        (deployment,) = [
            d
            for d in deployments.values()
            if pods.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        name = deployment["metadata"]["name"]
        scraped = ops_ports(directory, name)
        for endpoint in monitor["spec"]["endpoints"]:
            # A Service's ops port, which leads to a container's (its OPS_PORT).
            port = endpoint["port"]
            assert port in scraped, name
            assert named[port]["targetPort"] in (port, scraped[port]), name
            assert endpoint["path"] == "/metrics"
        # Every process of the pod is scraped: the service's and each sidecar's.
        assert {e["port"] for e in monitor["spec"]["endpoints"]} == set(scraped), name
        monitored.add(name)
    assert monitored == set(SERVICES) == set(deployments)


def annotations(node) -> list[dict]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("annotations"), dict):
            found.append(node["annotations"])
        for value in node.values():
            found += annotations(value)
    elif isinstance(node, list):
        for value in node:
            found += annotations(value)
    return found


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_no_scrape_annotations_left(directory):
    for doc in render(directory):
        for found in annotations(doc):
            assert not [k for k in found if k.startswith("prometheus.io/")], doc["metadata"]["name"]


# --- Outbox relays ------------------------------------------------------------------------


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_every_outbox_has_one_relay_in_its_pod(directory):
    """A service's relay runs in its process unless RELAY_ENABLED=false, and then a sidecar of
    the pod runs ``punchcard-<service> relay`` with the same configuration and Secret: never
    both (two relays per pod are harmless but waste a connection), never neither (the outbox
    would grow until the disk is full). Punch's runs apart, so its verdict lanes do not
    starve it."""
    shared = config(directory)
    apart = set()
    for name, deployment in of_kind(directory, "Deployment").items():
        main = container(deployment)
        env = {**shared, **{e["name"]: e.get("value", "") for e in main.get("env", [])}}
        relays = [c for c in sidecars(deployment) if c["command"][-1] == "relay"]
        if env.get("RELAY_ENABLED", "true").lower() == "false":
            (relay,) = relays
            assert relay["command"] == [*main["command"], "relay"], name
            assert relay["image"] == main["image"], name
            assert relay["envFrom"] == main["envFrom"], name
            assert relay["readinessProbe"]["httpGet"]["path"] == "/readyz", name
            assert relay["resources"]["limits"], name
            apart.add(name)
        else:
            assert relays == [], name
    assert apart == {"punch"}
    punch = {
        e["name"]: e.get("value")
        for e in container(of_kind(directory, "Deployment")["punch"])["env"]
    }
    assert int(punch["VERDICT_LANES"]) >= 2
    # The tests and benchmarks run punch with these very settings (tests.support.services).
    assert {name: punch.get(name) for name in PUNCH_AS_DEPLOYED} == PUNCH_AS_DEPLOYED
