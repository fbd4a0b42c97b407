"""What each model runs on: the default (Dlib + the dlib detector) needs neither TensorFlow nor
DeepFace, a model whose runtime is not installed is refused at start naming the extra, and
dlib's ResNet run by dlib gives exactly DeepFace's Dlib embeddings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from punchcard_face_match.adapters import models
from punchcard_face_match.adapters.models import (
    MissingRuntime,
    UnknownModel,
    require_runtime,
    uses_gpu,
)

REPO = Path(__file__).resolve().parents[3]
DEEPFACE_HOME = os.environ.get("DEEPFACE_HOME", str(REPO / ".local" / "deepface"))
HEAVY = ("deepface", "tensorflow", "tf_keras", "keras")


def hide(monkeypatch, *modules: str) -> None:
    installed = models._installed
    monkeypatch.setattr(models, "_installed", lambda m: m not in modules and installed(m))


def test_the_default_model_needs_neither_tensorflow_nor_deepface(monkeypatch):
    hide(monkeypatch, *HEAVY)
    require_runtime("Dlib", "dlib")
    assert not uses_gpu("Dlib")


def test_a_tensorflow_model_without_tensorflow_is_refused_naming_the_extra(monkeypatch):
    hide(monkeypatch, "tensorflow", "deepface")
    with pytest.raises(MissingRuntime) as error:
        require_runtime("Facenet512", "dlib")
    message = str(error.value)
    assert "FACE_MODEL='Facenet512'" in message
    assert "deepface, tensorflow are not installed" in message
    assert "punchcard-face-match[tensorflow]" in message
    assert "FACE_EXTRAS=tensorflow" in message


def test_a_deepface_detector_without_deepface_is_refused(monkeypatch):
    hide(monkeypatch, "deepface")
    with pytest.raises(MissingRuntime, match="FACE_DETECTOR='retinaface'.*deepface is not"):
        require_runtime("Dlib", "retinaface")


def test_an_unknown_model_is_refused_with_the_choices():
    with pytest.raises(UnknownModel, match="FACE_MODEL='Facenet1024'.*Dlib, DlibKeras, Facenet"):
        require_runtime("Facenet1024", "dlib")


def test_only_models_that_run_on_a_gpu_say_so():
    assert {name for name in models.MODELS if uses_gpu(name)} == {
        name
        for name, spec in models.MODELS.items()
        if spec.runtime in (models.TENSORFLOW, models.KERAS)
    }
    assert "Dlib" not in {name for name in models.MODELS if uses_gpu(name)}
    assert uses_gpu("DlibKeras")  # the same network, on TensorFlow (issue 19)


def test_tensorflow_settings_are_defaults_an_operator_can_override():
    environ: dict[str, str] = {}
    models.prepare_tensorflow(environ)
    assert environ == {"TF_ENABLE_ONEDNN_OPTS": "0"} == models.TENSORFLOW_DEFAULTS
    environ = {"TF_ENABLE_ONEDNN_OPTS": "1"}
    models.prepare_tensorflow(environ)
    assert environ == {"TF_ENABLE_ONEDNN_OPTS": "1"}


def test_keras_brings_tensorflow_in_with_onednns_graph_rewrite_off():
    """The rewrite that crashed one fresh process in four (models.TENSORFLOW_DEFAULTS) is off
    wherever face-match imports Keras, and on again where the operator asks for it."""
    if not models._installed("tensorflow"):  # found, not imported: this process stays clean
        pytest.skip("TensorFlow is not installed (the default image)")
    code = textwrap.dedent(
        """
        from punchcard_face_match.adapters import dlib_keras
        dlib_keras.build_model()  # Keras, and TensorFlow under it, imported here
        from tensorflow.python.util import _pywrap_util_port  # what TensorFlow decided
        print("oneDNN", _pywrap_util_port.IsMklEnabled())
        """
    )
    environ = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    for override, expected in ((None, "oneDNN False"), ("1", "oneDNN True")):
        extra = {"TF_ENABLE_ONEDNN_OPTS": override} if override else {}
        result = _run_python(code, {**environ, **extra})
        assert result.returncode == 0, result.stderr[-2000:]
        assert expected in result.stdout.splitlines(), result.stdout


def _run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter, from the repository, with ``env``."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO
    )


def _run_without_tensorflow(code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter where DeepFace, TensorFlow and Keras cannot be imported
    (as in the default image)."""
    prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in HEAVY)
    return _run_python(
        prelude + textwrap.dedent(code), {**os.environ, "DEEPFACE_HOME": DEEPFACE_HOME}
    )


def test_the_default_pipeline_runs_without_tensorflow_or_deepface():
    result = _run_without_tensorflow(
        """
        from punchcard_face_match.adapters.pipeline import OK, FacePipeline, MissingRuntime
        from tests.support.face import astronaut

        pipeline = FacePipeline()
        (face,) = pipeline.analyse([astronaut()])
        assert face.outcome is OK, face.outcome
        assert face.embedding.shape == (128,), face.embedding.shape
        loaded = [m for m, module in sys.modules.items() if module is not None]
        assert not [m for m in loaded if m.split(".")[0] in ("tensorflow", "deepface")]
        try:
            FacePipeline(model_name="Facenet512")
        except MissingRuntime as error:
            print("REFUSED", error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "REFUSED FACE_MODEL='Facenet512' runs on TensorFlow" in result.stdout


def test_dlib_run_by_dlib_embeds_exactly_as_deepfaces_dlib_client():
    models.prepare_tensorflow()  # DeepFace imports TensorFlow: the service's settings first
    pytest.importorskip("deepface")
    from deepface.modules import modeling
    from punchcard_face_match.adapters.pipeline import FacePipeline

    from tests.support.face import astronaut

    pipeline = FacePipeline()
    (face,) = pipeline.analyse([astronaut()])
    assert face.embedding is not None
    _, chip = pipeline._locate(astronaut())
    batch = np.ascontiguousarray(np.stack([chip, chip[:, ::-1]])[:, :, :, ::-1])
    theirs = np.asarray(
        modeling.build_model(task="facial_recognition", model_name="Dlib").forward(batch),
        dtype=np.float32,
    )
    ours = pipeline.embed([chip, chip[:, ::-1]])
    assert ours.shape == theirs.shape == (2, 128)
    assert np.array_equal(ours, theirs)
    assert np.array_equal(ours[0], face.embedding)


def test_the_service_refuses_to_start_before_connecting_anywhere(monkeypatch):
    from punchcard_face_match.main import build_app
    from punchcard_face_match.settings import FaceMatchSettings

    hide(monkeypatch, "tensorflow", "deepface", "tf_keras")
    settings = FaceMatchSettings(environment="test", face_model="ArcFace")
    with pytest.raises(MissingRuntime, match="FACE_MODEL='ArcFace'"):
        build_app(settings)
