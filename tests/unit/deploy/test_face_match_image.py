"""face-match's image and its GPU: TensorFlow and DeepFace only where the configured model needs
them, and a GPU reserved only for a model that runs on one.

- The default install of punchcard-face-match (uv.lock's closure without extras: what the
  default image gets) holds no TensorFlow, Keras or DeepFace; the `tensorflow` extra brings them,
  and the Dockerfile installs it only when FACE_EXTRAS asks.
- Every rendering of deploy/k8s: a Deployment that reserves an nvidia.com/gpu runs a FACE_MODEL
  that `uses_gpu` (adapters/models.py); the gpu overlay names its model, and a GPU model there
  gets its GPU. The GPU patch kept in overlays/gpu is proven to pass with a GPU model and to be
  refused with Dlib (dlib runs on the CPU)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from punchcard_face_match.adapters.models import MODELS, uses_gpu
from punchcard_face_match.settings import FaceMatchSettings

from tests.unit.deploy.schemas import problems

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
GPU = K8S / "overlays" / "gpu"
KUSTOMIZE = REPO / "scripts" / "kustomize"
KUSTOMIZATIONS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
IDS = [p.relative_to(K8S).as_posix() for p in KUSTOMIZATIONS]
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
HEAVY = {"tensorflow", "tf-keras", "keras", "deepface"}
GPU_RESOURCE = "nvidia.com/gpu"


def build(directory: Path) -> list[dict]:
    result = subprocess.run(
        [str(KUSTOMIZE), "build", str(directory)], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"kustomize build {directory}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


# --- the image's Python dependencies --------------------------------------------------------


def closure(package: str, extras: tuple[str, ...] = ()) -> set[str]:
    """Every package uv.lock installs for ``package`` with ``extras`` (no dev groups)."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    by_name = {p["name"]: p for p in lock["package"]}
    seen: set[str] = set()
    todo = [(package, extras)]
    while todo:
        name, wanted = todo.pop()
        entry = by_name[name]
        deps = list(entry.get("dependencies", []))
        for extra in wanted:
            deps += entry.get("optional-dependencies", {})[extra]
        for dep in deps:
            key = (dep["name"], tuple(dep.get("extra", ())))
            if key[0] not in seen or key[1]:
                seen.add(key[0])
                todo.append(key)
    return seen


def test_the_default_face_match_install_has_no_tensorflow_or_deepface():
    lean = closure("punchcard-face-match")
    assert {"dlib-bin", "opencv-contrib-python-headless", "numpy"} <= lean
    assert not lean & HEAVY, lean & HEAVY


def test_the_tensorflow_extra_brings_tensorflow_and_deepface():
    assert {"tensorflow", "tf-keras", "deepface"} <= closure(
        "punchcard-face-match", ("tensorflow",)
    )


def test_the_image_installs_extras_only_when_asked():
    text = DOCKERFILE.read_text()
    assert re.search(r'^ARG FACE_EXTRAS=""$', text, re.M)
    syncs = re.findall(r"uv sync --frozen --no-dev --package(?:[^\n\\]|\\\n)*", text)
    assert len(syncs) == 2
    for command in syncs:
        assert "${FACE_EXTRAS}" in command and "--extra" in command
        assert "--all-extras" not in command


# --- the GPU ---------------------------------------------------------------------------------


def face_model(docs: list[dict], deployment: dict) -> str:
    """FACE_MODEL as the container sees it: its env, else its ConfigMaps, else the default."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for entry in container.get("env", []):
        if entry["name"] == "FACE_MODEL":
            return entry["value"]
    maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    for ref in container.get("envFrom", []):
        data = maps.get(ref.get("configMapRef", {}).get("name"), {})
        if "FACE_MODEL" in data:
            return data["FACE_MODEL"]
    return FaceMatchSettings.model_fields["face_model"].default


def reserves_gpu(deployment: dict) -> bool:
    spec = deployment["spec"]["template"]["spec"]
    return any(
        GPU_RESOURCE in (c.get("resources", {}).get(kind) or {})
        for c in spec.get("containers", []) + spec.get("initContainers", [])
        for kind in ("limits", "requests")
    )


def gpu_problems(docs: list[dict], *, gpu_overlay: bool) -> list[str]:
    found = []
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        name = deployment["metadata"]["name"]
        if name != "face-match":
            if reserves_gpu(deployment):
                found.append(f"{name} reserves a GPU it has no model for")
            continue
        model = face_model(docs, deployment)
        if model not in MODELS:
            found.append(f"face-match: FACE_MODEL={model!r} is no model face-match runs")
        elif reserves_gpu(deployment) and not uses_gpu(model):
            found.append(f"face-match reserves a GPU, but FACE_MODEL={model} runs on the CPU")
        elif gpu_overlay and uses_gpu(model) and not reserves_gpu(deployment):
            found.append(f"face-match: FACE_MODEL={model} runs on a GPU, but none is reserved")
    return found


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_a_gpu_is_reserved_only_for_a_model_that_uses_it(directory):
    docs = build(directory)
    assert not gpu_problems(docs, gpu_overlay=directory == GPU)


def test_the_gpu_overlay_names_its_model():
    (deployment,) = [
        d for d in build(GPU) if d["kind"] == "Deployment" and d["metadata"]["name"] == "face-match"
    ]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert [e["value"] for e in container["env"] if e["name"] == "FACE_MODEL"] == ["DlibKeras"]
    # dlib's ResNet as a Keras model runs on the GPU: the overlay reserves one, and runs the
    # image with TensorFlow (the lean default image has none).
    assert uses_gpu("DlibKeras") and reserves_gpu(deployment)
    assert container["image"].split(":")[0].endswith("/face-match-gpu")


def overlay_with_gpu(tmp_path: Path, model: str) -> list[dict]:
    """The gpu overlay with its GPU patch applied and FACE_MODEL=``model``."""
    overlay = tmp_path / model
    overlay.mkdir()
    shutil.copy(GPU / "face-match-gpu.yaml", overlay)
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(GPU, overlay)],
                "patches": [
                    {"path": "face-match-gpu.yaml"},
                    {
                        "target": {"kind": "Deployment", "name": "face-match"},
                        "patch": "- op: replace\n"
                        "  path: /spec/template/spec/containers/0/env/"
                        f"{_model_index()}/value\n  value: {model}\n",
                    },
                ],
            }
        )
    )
    return build(overlay)


def _model_index() -> int:
    (deployment,) = [
        d for d in build(GPU) if d["kind"] == "Deployment" and d["metadata"]["name"] == "face-match"
    ]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return [e["name"] for e in env].index("FACE_MODEL")


def test_the_gpu_patch_passes_with_a_gpu_model(tmp_path):
    docs = overlay_with_gpu(tmp_path, "Facenet512")
    assert uses_gpu("Facenet512")
    (deployment,) = [
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "face-match"
    ]
    assert reserves_gpu(deployment)
    assert face_model(docs, deployment) == "Facenet512"
    assert not gpu_problems(docs, gpu_overlay=True)
    assert not [p for d in docs for p in problems(d)]


def test_the_gpu_patch_is_refused_with_a_cpu_model(tmp_path):
    docs = overlay_with_gpu(tmp_path, "Dlib")
    assert gpu_problems(docs, gpu_overlay=True) == [
        "face-match reserves a GPU, but FACE_MODEL=Dlib runs on the CPU"
    ]


def test_a_gpu_model_without_its_gpu_is_refused_in_the_gpu_overlay():
    docs = build(GPU)
    (deployment,) = [
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "face-match"
    ]
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        container["resources"]["limits"].pop(GPU_RESOURCE)
        container["resources"].get("requests", {}).pop(GPU_RESOURCE, None)
    assert gpu_problems(docs, gpu_overlay=True) == [
        "face-match: FACE_MODEL=DlibKeras runs on a GPU, but none is reserved"
    ]
