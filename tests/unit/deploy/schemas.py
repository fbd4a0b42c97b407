"""Schema validation of Kubernetes objects, offline, as the API server would check them on
`kubectl apply` (strict field validation, the default since Kubernetes 1.27: an unknown field
is an error, not silently dropped):

- core kinds (Deployment, Service, NetworkPolicy, ...) against the OpenAPI schemas the PyPI
  package kubernetes-validate bundles per Kubernetes version, in their strict form;
- custom resources (Strimzi, KEDA, Prometheus Operator) against the openAPIV3Schema of the
  version of their CRD that the object names, as those projects publish them (fetched by
  scripts/k8s-schemas into .local/k8s-schemas/crds), turned into JSON Schema: `nullable`,
  `x-kubernetes-int-or-string`, and objects closed to unknown fields unless the CRD says
  `x-kubernetes-preserve-unknown-fields`. Their metadata is checked as the core ObjectMeta.

Not checked: CEL rules (`x-kubernetes-validations`) and admission webhooks."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[3]
SCHEMAS_SCRIPT = REPO / "scripts" / "k8s-schemas"
# The Kubernetes versions the manifests must be valid for: the oldest we claim to support and
# the newest kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.30", "latest")
DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
OBJECT_META = {"$ref": f"{DEFINITIONS_ID}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}


def crd_folder() -> Path:
    folder = Path(
        subprocess.run(
            [str(SCHEMAS_SCRIPT), "--dir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    assert (folder / ".versions").is_file(), (
        f"no CRD schemas in {folder}: run `make k8s-schemas` (scripts/k8s-schemas --install)"
    )
    return folder


def _schema_root():
    return resources.files("kubernetes_validate") / "kubernetes-json-schema"


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"v([\d.]+)-", name).group(1).split("."))


@cache
def bundled_version(wanted: str) -> str:
    """The bundled schema folder for Kubernetes ``wanted`` ("1.30", or "latest"): the newest
    one not newer than it."""
    names = sorted(
        (p.name for p in _schema_root().iterdir() if p.name.endswith("-local-strict")),
        key=_version_key,
    )
    if wanted == "latest":
        return names[-1]
    want = tuple(int(p) for p in wanted.split("."))
    fitting = [n for n in names if _version_key(n)[:2] <= want]
    assert fitting, f"kubernetes-validate bundles no schemas for Kubernetes {wanted}"
    assert _version_key(fitting[-1])[:2] == want, f"no schemas for Kubernetes {wanted}"
    return fitting[-1]


@cache
def _registry(folder: str) -> Registry:
    definitions = json.loads((_schema_root() / folder / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


def _core_file(api_version: str, kind: str) -> str:
    # kubernetes-validate's names: <kind>-<group's first label>-<version>.json, e.g.
    # networking.k8s.io/v1 NetworkPolicy -> networkpolicy-networking-v1.json.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{group_version}.json"


@cache
def _core_validator(folder: str, api_version: str, kind: str) -> jsonschema.Validator | None:
    path = _schema_root() / folder / _core_file(api_version, kind)
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    # Only Kubernetes' own groups: a file must name this very apiVersion.
    allowed = schema.get("properties", {}).get("apiVersion", {}).get("enum")
    if allowed is not None and api_version not in allowed:
        return None
    return jsonschema.Draft202012Validator(schema, registry=_registry(folder))


# --- CRDs -----------------------------------------------------------------------------------


def to_json_schema(node, *, root: bool = False):
    """A CRD's structural OpenAPI v3 schema as JSON Schema, closed to unknown fields."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(v) for v in value]
        else:
            out[key] = value
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    if root:
        out.setdefault("properties", {})["metadata"] = OBJECT_META
        out["required"] = sorted({*out.get("required", []), "apiVersion", "kind", "metadata"})
    return out


@dataclass(frozen=True)
class CrdVersion:
    group: str
    kind: str
    version: str
    schema: dict


@cache
def crd_versions() -> dict[tuple[str, str, str], CrdVersion]:
    """(group, version, kind) -> the served version's schema, from every CRD fetched."""
    found: dict[tuple[str, str, str], CrdVersion] = {}
    for path in sorted(crd_folder().glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served", False):
                    continue
                schema = version["schema"]["openAPIV3Schema"]
                key = (group, version["name"], kind)
                found[key] = CrdVersion(group, kind, version["name"], schema)
    assert found, f"no CustomResourceDefinitions in {crd_folder()}"
    return found


@cache
def _crd_validator(folder: str, api_version: str, kind: str) -> jsonschema.Validator | None:
    if "/" not in api_version:
        return None
    group, version = api_version.split("/", 1)
    crd = crd_versions().get((group, version, kind))
    if crd is None:
        return None
    schema = to_json_schema(copy.deepcopy(crd.schema), root=True)
    return jsonschema.Draft202012Validator(schema, registry=_registry(folder))


def crd_kinds() -> set[tuple[str, str]]:
    return {(f"{c.group}/{c.version}", c.kind) for c in crd_versions().values()}


# --- one object -----------------------------------------------------------------------------


def problems(doc: dict, kubernetes: str = "latest") -> list[str]:
    """What the API server of Kubernetes ``kubernetes`` would refuse in ``doc`` (empty: valid)."""
    if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
        return ["not a Kubernetes object (apiVersion and kind)"]
    api_version, kind = str(doc["apiVersion"]), str(doc["kind"])
    name = (doc.get("metadata") or {}).get("name", "?")
    folder = bundled_version(kubernetes)
    validator = _crd_validator(folder, api_version, kind) or _core_validator(
        folder, api_version, kind
    )
    if validator is None:
        return [f"{kind} {name}: no schema for {api_version} {kind} (Kubernetes {kubernetes})"]
    return [
        f"{kind} {name}: {'.'.join(str(p) for p in error.absolute_path) or '<root>'}: "
        f"{error.message[:300]}"
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path)))
    ]
