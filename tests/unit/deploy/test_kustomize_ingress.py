"""The Kubernetes manifests as they would be applied: base and every overlay rendered with
kustomize (scripts/kustomize), and the Ingress of each asked where public paths go.

An overlay that patches the Ingress with a `rules` list replaces the base's whole list (Ingress
rules have no merge key): the production overlay once dropped /clock/v1 that way, and every
hardware clock got 404. Each rendering must route the public prefixes to the right Service and
leave everything else (health, readiness, metrics, API docs, internal APIs) unrouted."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
KUSTOMIZE = REPO / "scripts" / "kustomize"

# Every kustomization (base and each overlay); infra/ holds examples, not a kustomization.
KUSTOMIZATIONS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))

# Public requests, and the Service that must answer each (the gateway's public prefixes:
# services/gateway entrypoints auth/users/audit/proxy under /api/v1, kiosk under /kiosk/v1, the
# web apps' pages and assets; device-sync's clock API).
PUBLIC = {
    "/clock/v1/sync": "device-sync",
    "/clock/v1/acks": "device-sync",
    "/iclock/cdata": "device-sync",
    "/iclock/getrequest": "device-sync",
    "/iclock/devicecmd": "device-sync",
    "/api/v1/auth/token": "gateway",
    "/api/v1/workers/0b7c/face": "gateway",
    "/kiosk/v1/punches": "gateway",
    "/kiosk/v1/sync": "gateway",
    "/kiosk": "gateway",
    "/kiosk/": "gateway",
    "/manage/": "gateway",
    "/manage/workers": "gateway",
    "/assets/manage-abc.js": "gateway",
    "/": "gateway",
}
# Never routed from outside: every service's probes, metrics, API docs and internal APIs.
PRIVATE = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/internal/v1/workers",
    "/internal",
    "/clock/v1x",
    "/iclockx",
    "/api/v10/users",
    "/managex",
]


@cache
def render(directory: Path) -> list[dict]:
    result = subprocess.run(
        [str(KUSTOMIZE), "build", str(directory)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"kustomize build {directory}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _matches(rule_path: str, path_type: str, path: str) -> bool:
    """Kubernetes Ingress path matching (networking.k8s.io/v1): Exact, or Prefix by whole
    path elements."""
    if path_type == "Exact":
        return path == rule_path
    assert path_type == "Prefix", f"pathType {path_type} is implementation-specific"
    prefix = rule_path.rstrip("/")
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


def route(ingress: dict, path: str) -> str | None:
    """The Service the Ingress sends ``path`` to (the longest matching rule, Exact first), or
    None (the ingress controller's 404)."""
    candidates = []
    for rule in ingress["spec"].get("rules", []):
        for entry in rule.get("http", {}).get("paths", []):
            if _matches(entry["path"], entry["pathType"], path):
                exact = entry["pathType"] == "Exact"
                candidates.append((exact, len(entry["path"]), entry["backend"]["service"]["name"]))
    if ingress["spec"].get("defaultBackend"):
        candidates.append((False, -1, ingress["spec"]["defaultBackend"]["service"]["name"]))
    return max(candidates)[2] if candidates else None


def ingresses(directory: Path) -> list[dict]:
    found = [doc for doc in render(directory) if doc["kind"] == "Ingress"]
    assert found, f"{directory} renders no Ingress"
    return found


def test_every_kustomization_is_found():
    names = {p.relative_to(K8S).as_posix() for p in KUSTOMIZATIONS}
    assert {"base", "overlays/production", "overlays/gpu"} <= names


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.relative_to(K8S).as_posix())
def test_public_paths_reach_their_service(directory):
    for ingress in ingresses(directory):
        routed = {path: route(ingress, path) for path in PUBLIC}
        assert routed == PUBLIC, f"{directory.name}: public paths routed wrongly"


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.relative_to(K8S).as_posix())
def test_probes_metrics_docs_and_internal_apis_are_not_routed(directory):
    for ingress in ingresses(directory):
        assert not ingress["spec"].get("defaultBackend"), "a default backend routes everything"
        routed = {path: route(ingress, path) for path in PRIVATE}
        assert routed == dict.fromkeys(PRIVATE), f"{directory.name}: private paths are public"


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.relative_to(K8S).as_posix())
def test_every_backend_is_a_rendered_service_port(directory):
    services = {
        doc["metadata"]["name"]: {port.get("name") for port in doc["spec"]["ports"]}
        for doc in render(directory)
        if doc["kind"] == "Service"
    }
    for ingress in ingresses(directory):
        for rule in ingress["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                backend = entry["backend"]["service"]
                assert backend["port"]["name"] in services.get(backend["name"], set()), backend
                # The ops port (/metrics, /healthz, /readyz) is never a backend.
                assert backend["port"]["name"] != "ops", backend


def test_production_sets_host_class_and_tls_on_every_rule():
    for overlay in ("production", "gpu"):
        for ingress in ingresses(K8S / "overlays" / overlay):
            spec = ingress["spec"]
            assert spec["ingressClassName"] == "nginx"
            tls_hosts = {host for entry in spec["tls"] for host in entry["hosts"]}
            assert {rule["host"] for rule in spec["rules"]} <= tls_hosts


def test_kafka_topics_are_rendered_from_the_catalogue():
    result = subprocess.run(
        [sys.executable, str(K8S / "render-topics.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
