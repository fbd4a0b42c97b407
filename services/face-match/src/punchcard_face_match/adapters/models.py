"""The recognition models and face detectors face-match can run: what each runs on, what it
needs installed, its weight file, and whether it uses a GPU.

The default, ``Dlib`` with the ``dlib`` detector, runs in dlib alone (dlib's ResNet and HOG
detector, on the CPU: the PyPI wheels of dlib have no CUDA). It needs neither TensorFlow nor
DeepFace, so the default image installs neither. DeepFace's TensorFlow models (Facenet512,
ArcFace, ...) and its other detectors need the extra ``punchcard-face-match[tensorflow]``
(the image: ``--build-arg FACE_EXTRAS=tensorflow``); they use the node's GPU where TensorFlow
finds one. A model whose runtime is not installed is refused at start, naming the extra.

This table is also what the deployment is checked against (tests/unit/deploy/
test_face_match_image.py): an overlay reserves a GPU for face-match only when its FACE_MODEL
``uses_gpu``. A new model (e.g. a GPU build of dlib's ResNet) is one row here, with its
runtime. Nothing here imports a framework: the check uses ``importlib.util.find_spec``."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import MutableMapping
from dataclasses import dataclass

__all__ = [
    "DETECTORS",
    "DLIB",
    "KERAS",
    "MODELS",
    "MissingRuntime",
    "ModelSpec",
    "TENSORFLOW_DEFAULTS",
    "Runtime",
    "TENSORFLOW",
    "UnknownModel",
    "prepare_tensorflow",
    "require_runtime",
    "runtimes",
    "uses_gpu",
]


class MissingRuntime(RuntimeError):
    """The configured model or detector needs packages this installation does not have."""


class UnknownModel(ValueError):
    """FACE_MODEL names no model face-match knows."""


@dataclass(frozen=True)
class Runtime:
    name: str
    # Top-level modules it needs (checked without importing them).
    modules: tuple[str, ...]
    # The extra of punchcard-face-match that installs them (None: always installed).
    extra: str | None
    # Runs on an NVIDIA GPU when the image and the node have one.
    gpu: bool


DLIB = Runtime("dlib", ("dlib",), None, gpu=False)
# DeepFace's models run on TensorFlow (Keras through tf-keras), on the GPU where it finds one.
TENSORFLOW = Runtime(
    "TensorFlow (DeepFace)", ("deepface", "tensorflow", "tf_keras"), "tensorflow", gpu=True
)
# dlib's ResNet rebuilt as a Keras 3 model (adapters/dlib_keras.py, issue 19): TensorFlow's
# backend, batched, on the GPU where TensorFlow finds one; no DeepFace.
KERAS = Runtime("Keras 3 (TensorFlow)", ("keras", "tensorflow"), "tensorflow", gpu=True)
# DeepFace's detectors other than dlib (retinaface, yunet, opencv, ...): DeepFace's own
# dependencies (onnxruntime, OpenCV); face-match runs them on the CPU.
DEEPFACE = Runtime("DeepFace", ("deepface",), "tensorflow", gpu=False)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    runtime: Runtime
    # Embedding size (a template records it; a gallery never mixes models).
    dims: int
    # The weight file in $DEEPFACE_HOME/.deepface/weights/.
    weights: str


MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        ModelSpec("Dlib", DLIB, 128, "dlib_face_recognition_resnet_model_v1.dat"),
        # Converted from the file above by ``punchcard-face-weights convert``.
        ModelSpec("DlibKeras", KERAS, 128, "dlib_face_recognition_resnet_model_v1.weights.h5"),
        ModelSpec("Facenet", TENSORFLOW, 128, "facenet_weights.h5"),
        ModelSpec("Facenet512", TENSORFLOW, 512, "facenet512_weights.h5"),
        ModelSpec("ArcFace", TENSORFLOW, 512, "arcface_weights.h5"),
        ModelSpec("VGG-Face", TENSORFLOW, 4096, "vgg_face_weights.h5"),
        ModelSpec("GhostFaceNet", TENSORFLOW, 512, "ghostfacenet_v1.h5"),
        ModelSpec("OpenFace", TENSORFLOW, 128, "openface_weights.h5"),
    )
}
# Detectors with a known weight file; any other name is one of DeepFace's detectors.
DETECTORS: dict[str, tuple[Runtime, str | None]] = {
    "dlib": (DLIB, "shape_predictor_5_face_landmarks.dat"),
    "retinaface": (DEEPFACE, "retinaface.h5"),
    "yunet": (DEEPFACE, "face_detection_yunet_2023mar.onnx"),
}


def model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModel(
            f"FACE_MODEL={name!r} is not a model face-match runs; one of: {', '.join(MODELS)}"
        ) from None


def detector_runtime(name: str) -> Runtime:
    return DETECTORS.get(name, (DEEPFACE, None))[0]


def uses_gpu(model_name: str) -> bool:
    """Whether FACE_MODEL ``model_name`` runs on a GPU (where the image and node have one)."""
    return model(model_name).runtime.gpu


def runtimes(model_name: str, detector: str) -> list[Runtime]:
    found = [model(model_name).runtime, detector_runtime(detector)]
    return [r for i, r in enumerate(found) if r not in found[:i]]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_runtime(model_name: str, detector: str) -> None:
    """Raise at start, with what to install, if the model or the detector cannot run here."""
    for runtime in runtimes(model_name, detector):
        missing = [m for m in runtime.modules if not _installed(m)]
        if not missing:
            continue
        what = (
            f"FACE_MODEL={model_name!r}"
            if runtime is model(model_name).runtime
            else f"FACE_DETECTOR={detector!r}"
        )
        how = (
            f"install punchcard-face-match[{runtime.extra}] (the image: docker build "
            f"--build-arg SERVICE=face-match --build-arg FACE_EXTRAS={runtime.extra})"
            if runtime.extra
            else "reinstall punchcard-face-match"
        )
        raise MissingRuntime(
            f"{what} runs on {runtime.name}, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed here: {how}, or use "
            f"FACE_MODEL=Dlib with FACE_DETECTOR=dlib, which need neither TensorFlow nor DeepFace."
        )


# Settings TensorFlow reads once, when it is imported, so they are set before anything imports
# it (prepare_tensorflow). An operator's own value wins.
TENSORFLOW_DEFAULTS = {
    # oneDNN's graph rewrite (MklLayoutRewritePass, on by default on x86 CPUs) segfaults now
    # and then while it instantiates a function: a SIGSEGV in std::sort under FillInputs <-
    # RewriteNodeForJustOpNameChange, at the first call of DlibKeras' traced model, in 5 of 20
    # fresh processes on this project's 2-core Xeon (TensorFlow 2.21), and in 0 of 25 with it
    # off. Off, a single chip costs the same (9.4 ms) and a batch of 8 ~18 % more (35 vs 30 ms).
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


def prepare_tensorflow(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set TENSORFLOW_DEFAULTS that the environment does not set; call before TensorFlow is
    imported (after, it has no effect)."""
    for name, value in TENSORFLOW_DEFAULTS.items():
        environ.setdefault(name, value)
