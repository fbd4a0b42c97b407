"""The enrolment rules (domain.enrolment), one by one, with today's codes, messages and fields."""

import numpy as np
import pytest
from punchcard_face_match.domain import enrolment as rules
from punchcard_face_match.domain.model import Face, FaceOutcome, Worker, WorkerStatus
from punchcard_face_match.domain.quality import QualityPolicy
from punchcard_kit.errors import Conflict, Invalid, TooLarge

from .fakes import embedding, good_face

JPEG = b"\xff\xd8\xff\xe0rest"
PNG = b"\x89PNG\r\n\x1a\nrest"
POLICY = QualityPolicy()


def test_image_type_by_magic_bytes():
    assert rules.image_type(JPEG) == "image/jpeg"
    assert rules.image_type(PNG) == "image/png"
    assert rules.image_type(b"%PDF-1.4") is None


@pytest.mark.parametrize("count", [0, rules.MAX_PHOTOS + 1])
def test_one_to_five_photos(count):
    with pytest.raises(Invalid) as refused:
        rules.check_photo_count(count)
    error = refused.value
    assert (error.code, error.field) == ("INVALID", "photos")
    assert error.message == f"upload 1 to 5 photos (got {count})"
    for fine in range(1, rules.MAX_PHOTOS + 1):
        rules.check_photo_count(fine)


def test_a_photo_over_the_size_limit_is_too_large():
    rules.check_photo_bytes(0, "a.jpg", b"x" * 1024, 1024)
    with pytest.raises(TooLarge) as refused:
        rules.check_photo_bytes(1, "b.jpg", b"x" * (2 * 1024 * 1024 + 1), 2 * 1024 * 1024)
    error = refused.value
    assert (error.code, error.field) == ("PHOTO_TOO_LARGE", "photos[1]")
    assert error.message == "photo 2 (b.jpg) is over 2 MiB"


def test_a_photo_must_be_a_readable_jpeg_or_png_within_the_pixel_cap():
    rules.check_photo_header(0, "a.jpg", JPEG, (640, 480), POLICY)
    for content, size in ((b"%PDF", (640, 480)), (JPEG, None)):
        with pytest.raises(Invalid) as refused:
            rules.check_photo_header(2, "c.jpg", content, size, POLICY)
        assert (refused.value.code, refused.value.field) == ("INVALID_IMAGE", "photos[2]")
        assert refused.value.message.startswith("photo 3 (c.jpg): The file is not a JPEG")
    with pytest.raises(Invalid) as bomb:
        rules.check_photo_header(0, "big.png", PNG, (30_000, 30_000), POLICY)
    assert (bomb.value.code, bomb.value.field) == ("IMAGE_TOO_LARGE", "photos[0]")
    assert "40000000 pixels" in bomb.value.message


def test_an_inactive_worker_cannot_be_enrolled():
    rules.check_enrollable(Worker("w", "E1", WorkerStatus.ACTIVE))
    rules.check_enrollable(Worker("w", "E1", WorkerStatus.PENDING))
    with pytest.raises(Conflict) as refused:
        rules.check_enrollable(Worker("w", "E1", WorkerStatus.INACTIVE))
    assert (refused.value.code, refused.value.field) == ("WORKER_INACTIVE", "worker_id")


def test_each_photo_is_judged_with_the_reason_an_admin_can_act_on():
    ok = rules.judge_photo(0, "a.jpg", good_face(embedding(1)), POLICY)
    assert ok.accepted and 0 < ok.quality <= 1
    assert ok.as_dict() == {
        "index": 0,
        "filename": "a.jpg",
        "accepted": True,
        "quality": ok.quality,
    }
    cases = {
        FaceOutcome.INVALID_FRAME: "INVALID_IMAGE",
        FaceOutcome.NO_FACE: "NO_FACE",
        FaceOutcome.MULTIPLE_FACES: "MULTIPLE_FACES",
    }
    for outcome, reason in cases.items():
        verdict = rules.judge_photo(1, "b.jpg", Face(outcome), POLICY)
        assert (verdict.accepted, verdict.reason) == (False, reason)
    small = Face(FaceOutcome.OK, 1, embedding(1), face_px=40, sharpness=300, brightness=120)
    verdict = rules.judge_photo(1, "b.jpg", small, POLICY)
    assert verdict.as_dict() == {
        "index": 1,
        "filename": "b.jpg",
        "accepted": False,
        "reason": "FACE_TOO_SMALL",
        "message": "The face is too small; take the photo closer (40 px wide, at least 80 px "
        "needed).",
    }


def test_one_refused_photo_refuses_the_upload_naming_the_first_and_judging_each():
    faces = [good_face(embedding(1)), Face(FaceOutcome.NO_FACE), Face(FaceOutcome.MULTIPLE_FACES)]
    with pytest.raises(rules.PhotosRefused) as refused:
        rules.judge_photos(["a.jpg", "b.jpg", "c.jpg"], faces, POLICY)
    error = refused.value
    assert isinstance(error, Invalid)
    assert (error.code, error.field) == ("PHOTO_REFUSED", "photos")
    assert error.message == "photo 2 (b.jpg): No face was found in the photo."
    body = error.body()
    assert list(body) == ["code", "message", "field", "photos"]
    assert [p["accepted"] for p in body["photos"]] == [True, False, False]
    assert rules.judge_photos(["a.jpg"], faces[:1], POLICY)[0].accepted


def test_the_photos_must_show_one_person():
    same = embedding(1)
    near = same + np.float32(0.01)
    other = embedding(2)
    assert rules.differing_pair([same, near], 0.6) is None
    assert rules.differing_pair([same, near, other], 0.6) == (0, 2)
    verdicts = [rules.PhotoVerdict(i, f"{i}.jpg", quality=1.0) for i in range(3)]
    rules.check_one_person([same, near], 0.6, verdicts[:2])
    with pytest.raises(rules.PhotosRefused) as refused:
        rules.check_one_person([same, near, other], 0.6, verdicts)
    error = refused.value
    assert (error.code, error.field) == ("PHOTOS_DIFFER", "photos")
    assert error.message == "photos 1 and 3 do not show the same person"
    assert len(error.body()["photos"]) == 3


def test_a_face_enrolled_as_another_worker_is_refused_without_naming_them():
    check = rules.check_not_enrolled_as_other
    assert check("me", [[("me", 0.1), ("other", 0.9)]], 0.6, role="sysadmin") == []
    assert check("me", [], 0.6, role="manager") == []
    for role in ("sysadmin", "manager", "clock"):
        with pytest.raises(Conflict) as refused:
            check("me", [[("me", 0.1)], [("w-42", 0.3)]], 0.6, role=role)
        error = refused.value
        assert (error.code, error.field) == ("FACE_ENROLLED_AS_OTHER", "photos")
        assert "w-42" not in error.message
        assert error.body()["confirmable"] is (role == "sysadmin")
        assert ("twins" in error.message) is (role == "sysadmin")


def test_only_a_sysadmin_confirms_a_lookalike_and_gets_every_matched_worker_back():
    check = rules.check_not_enrolled_as_other
    nearest = [[("w-9", 0.5), ("me", 0.55)], [("w-42", 0.3), ("w-9", 0.59)], [("w-7", 0.61)]]
    assert check("me", nearest, 0.6, role="sysadmin", confirmed=True) == ["w-42", "w-9"]
    for role in ("manager", "clock", "viewer"):
        assert rules.may_confirm_lookalike(role) is False
        with pytest.raises(Conflict):
            check("me", nearest, 0.6, role=role, confirmed=True)
    assert rules.may_confirm_lookalike("sysadmin") is True
