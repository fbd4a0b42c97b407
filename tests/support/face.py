"""Face tests: real photos, kiosk-sized frames, face attempts published as the kiosk edge does,
and the verdicts read back from Kafka.

Photos: scikit-image's astronaut portrait (anyone can run those tests) and the labelled photos
in ``../shared/faces`` (``PUNCHCARD_FACES_DIR``; tests that need them skip with the reason where
the folder is absent, e.g. in a user's clone). Tests take the photos by what the folder's
``identities.csv`` (file, person) and ``multi-face.csv`` (file, content) say, never by a file
name or a number of people: any folder in that format serves (``labelled_photo``,
``group_photos``)."""

from __future__ import annotations

import csv
import functools
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import pytest
from aiokafka import AIOKafkaProducer
from punchcard.v1 import kiosk_pb2
from punchcard_kit.messaging import catalogue, encode_envelope, new_envelope
from punchcard_kit.messaging.connection import kafka_options

from .messaging import VerdictFeed
from .stack import KAFKA, REPO

ATTEMPTS = catalogue.KIOSK_FACE_ATTEMPTS.name
FACES_DIR = Path(os.environ.get("PUNCHCARD_FACES_DIR", REPO.parent / "shared" / "faces"))


def faces_dir() -> Path:
    """The labelled photos, or skip the test saying where they were looked for."""
    if not (FACES_DIR / "identities.csv").is_file():
        pytest.skip(
            f"face photos not found in {FACES_DIR} (set PUNCHCARD_FACES_DIR to the folder "
            "holding identities.csv)"
        )
    return FACES_DIR


def identities() -> list[tuple[str, str]]:
    """(file, person) for every labelled single-face photo."""
    with (faces_dir() / "identities.csv").open() as handle:
        return [(row["file"], row["person"]) for row in csv.DictReader(handle)]


def labelled_photo() -> bytes:
    """A kiosk-sized photo of one of the labelled people (the first photo ``identities.csv``
    lists), for a face that is not the astronaut's: tests name no file, so any folder in the
    same format serves."""
    return photo(identities()[0][0])


def people_one_search_holds(people: Iterable[str]) -> list[str]:
    """The first of ``people`` by name, as many as one 1:N search at the default FPIR target
    holds with a template each (``domain.calibration.largest_gallery``; beyond, face-match asks
    for the Employee ID): a folder of many people still tests a 1:N search."""
    from punchcard_face_match.domain.calibration import DEFAULT_FPIR_TARGET, DLIB, largest_gallery

    return sorted(set(people))[: largest_gallery(DEFAULT_FPIR_TARGET, DLIB)]


_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def group_photos() -> list[tuple[str, int | None]]:
    """(file, the number of faces it shows where ``multi-face.csv`` says, else None) for each
    photo of several people that file lists ("two faces", "many faces"); its other rows (a
    mirrored copy of a labelled photo) show one face. Skips, with the reason, where the folder
    lists none."""
    listed = faces_dir() / "multi-face.csv"
    if not listed.is_file():
        pytest.skip(f"no multi-face.csv in {faces_dir()}: no photos of several people")
    found = []
    with listed.open() as handle:
        for file, content, *_ in (row for row in list(csv.reader(handle))[1:] if len(row) > 1):
            words = content.lower().replace(",", " ").split()
            if "faces" in words:
                count = words[words.index("faces") - 1] if words.index("faces") else ""
                found.append((file, int(count) if count.isdigit() else _COUNTS.get(count)))
    if not found:
        pytest.skip(f"{listed} lists no photo of several people")
    return found


def kiosk_jpeg(image_bgr: np.ndarray, side: int = 640, quality: int = 90) -> bytes:
    """The image as a kiosk would send it: long side ``side`` px, JPEG."""
    h, w = image_bgr.shape[:2]
    scale = side / max(h, w)
    if scale != 1:
        image_bgr = cv2.resize(
            image_bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
        )
    ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return encoded.tobytes()


def photo(name: str, side: int = 640) -> bytes:
    image = cv2.imread(str(faces_dir() / name))
    assert image is not None, name
    return kiosk_jpeg(image, side)


def astronaut_bgr() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def astronaut(side: int = 512) -> bytes:
    return kiosk_jpeg(astronaut_bgr(), side)


def mirrored(jpeg: bytes) -> bytes:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return kiosk_jpeg(cv2.flip(image, 1), max(image.shape[:2]))


@functools.cache
def _dlib_models():
    """dlib's face detector and 5-point landmark model, loaded once."""
    import dlib
    from punchcard_face_match.adapters.pipeline import DETECTOR_WEIGHTS, weights_folder

    landmarks = dlib.shape_predictor(str(weights_folder() / DETECTOR_WEIGHTS["dlib"]))
    return dlib.get_frontal_face_detector(), landmarks


def aligned_chip(jpeg: bytes, side: int = 150, quality: int = 92, turn_deg: float = 0.0) -> bytes:
    """What a kiosk that aligns the face itself sends (``aligned: true``): the frame's one face
    as a square JPEG chip in dlib's geometry (get_face_chip, padding 0.25), made here with
    dlib's own detector and landmarks; ``turn_deg`` turns the chip about its centre (a
    misaligned one)."""
    import dlib

    detector, landmarks = _dlib_models()
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    found, scores, _ = detector.run(rgb, 0, 0.0)
    assert found, "no face in the frame"
    best = found[int(np.argmax(scores))]  # the kiosk's detector keeps its best face
    chip = dlib.get_face_chip(rgb, landmarks(rgb, best), size=side, padding=0.25)
    chip = cv2.cvtColor(chip, cv2.COLOR_RGB2BGR)
    if turn_deg:
        matrix = cv2.getRotationMatrix2D((side / 2, side / 2), turn_deg, 1.0)
        chip = cv2.warpAffine(chip, matrix, (side, side), borderMode=cv2.BORDER_REPLICATE)
    ok, encoded = cv2.imencode(".jpg", chip, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return encoded.tobytes()


def blank(side: int = 480) -> bytes:
    """A plain grey frame: a valid JPEG with no face."""
    return kiosk_jpeg(np.full((side, side, 3), 128, np.uint8), side)


def two_faces() -> bytes:
    """Two people in one frame: the astronaut's head and shoulders beside their mirror image."""
    head = cv2.resize(astronaut_bgr(), (640, 640), interpolation=cv2.INTER_AREA)[0:380, 100:450]
    return kiosk_jpeg(np.hstack([head, cv2.flip(head, 1)]), 640)


class FaceKiosk:
    """Plays the kiosk edge for face attempts; counts every verdict per attempt id."""

    def __init__(self) -> None:
        self.producer = AIOKafkaProducer(**kafka_options(KAFKA, max_request_size=2 * 1024 * 1024))
        self.feed = VerdictFeed(KAFKA)
        # attempt id -> every verdict published for it
        self.verdicts = self.feed.by_attempt

    async def __aenter__(self) -> FaceKiosk:
        await self.producer.start()
        await self.feed.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.producer.stop()
        await self.feed.stop()

    async def send(
        self,
        tenant_id: str,
        frame: bytes,
        *,
        clock_id: str | None = None,
        employee_id: str = "",
        burst: list[bytes] | tuple[bytes, ...] = (),
        aligned: bool = False,
    ) -> str:
        attempt_id = str(uuid.uuid4())
        clock_id = clock_id or str(uuid.uuid4())
        context = kiosk_pb2.PunchAttemptContext(
            attempt_id=attempt_id, clock_id=clock_id, claimed_employee_id=employee_id
        )
        context.captured_at.GetCurrentTime()
        context.received_at.GetCurrentTime()
        attempt = kiosk_pb2.FacePunchAttempted(
            context=context, frame_jpeg=frame, burst_jpeg=list(burst), aligned=aligned
        )
        envelope = new_envelope(attempt, tenant_id=tenant_id, producer="gateway")
        await self.producer.send_and_wait(
            ATTEMPTS,
            encode_envelope(envelope),
            key=catalogue.KIOSK_FACE_ATTEMPTS.key(tenant_id=tenant_id, clock_id=clock_id).encode(),
        )
        return attempt_id

    async def verdict(self, attempt_id: str, timeout: float = 90):
        return await self.feed.first(attempt_id, timeout)

    async def punch(self, tenant_id: str, frame: bytes, **kw):
        return await self.verdict(await self.send(tenant_id, frame, **kw))


def reason(verdict) -> str:
    """'IDENTIFIED' or the rejection reason without its prefix."""
    from punchcard.v1 import common_pb2

    if type(verdict).__name__ == "WorkerIdentified":
        return "IDENTIFIED"
    return common_pb2.RejectReason.Name(verdict.reason).removeprefix("REJECT_REASON_")
