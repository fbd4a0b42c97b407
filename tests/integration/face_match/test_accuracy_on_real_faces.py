"""Accuracy on real faces: the labelled photos of 7 people (../shared/faces, skipped with the
reason where absent). One photo per person is enrolled (resized to 640 px, as a kiosk or a
portal upload would give), every other photo is identified against that gallery; then each
probe again with its own person removed from the gallery (an impostor at the kiosk).

Target (issue 6, issue 17): >= 98 % identified at rank 1 and zero false accepts, at the margin
the service uses by default and the threshold it derives for the gallery searched (7 templates
enrolled, 6 with the probe's person left out) at the default FPIR target (domain.calibration;
chosen on principle, not fitted to these photos: docs/face-match.md)."""

import os
from collections import defaultdict

import numpy as np
import pytest
from punchcard_face_match.adapters.pipeline import MULTIPLE_FACES, OK, FacePipeline
from punchcard_face_match.domain import decision
from punchcard_face_match.domain.calibration import (
    DEFAULT_FPIR_TARGET,
    fmr_model_for,
    threshold_for_gallery,
)
from punchcard_face_match.domain.decision import MatchPolicy, decide, threshold_for
from punchcard_face_match.domain.gallery import Gallery
from punchcard_face_match.domain.quality import QualityPolicy, problem
from punchcard_face_match.settings import FaceMatchSettings

from tests.support.face import identities, photo
from tests.support.stack import REPO

DEFAULTS = FaceMatchSettings(environment="test")
FMR_MODEL = fmr_model_for("Dlib", threshold_for("Dlib", None))


def policy_for(gallery: Gallery) -> MatchPolicy:
    """The policy face-match applies to a search over this gallery (its templates)."""
    threshold = threshold_for_gallery(gallery.template_count, DEFAULT_FPIR_TARGET, FMR_MODEL)
    assert threshold is not None, "a gallery of the sample photos searches 1:N"
    return MatchPolicy(threshold, DEFAULTS.match_margin)


@pytest.fixture(scope="module")
def pipeline():
    os.environ.setdefault("DEEPFACE_HOME", str(REPO / ".local" / "deepface"))
    return FacePipeline()


def gallery_of(templates: dict[str, np.ndarray]) -> Gallery:
    gallery = Gallery("Dlib", 128)
    for person, embedding in templates.items():
        gallery.upsert(person, embedding[None, :], 1)
    return gallery


def test_rank1_identification_and_no_false_accepts(pipeline):
    rows = identities()
    by_person: dict[str, list[str]] = defaultdict(list)
    for file, person in rows:
        by_person[person].append(file)
    enrolled = {person: files[0] for person, files in by_person.items()}
    templates: dict[str, np.ndarray] = {}
    quality = QualityPolicy()
    for person, file in enrolled.items():
        [face] = pipeline.analyse([photo(file)])
        assert face.outcome == OK, file
        assert problem(face.face_px, face.sharpness, face.brightness, quality) is None, file
        templates[person] = face.embedding
    gallery = gallery_of(templates)

    probes = [(file, person) for file, person in rows if enrolled[person] != file]
    faces = pipeline.analyse([photo(file) for file, _ in probes])
    identified, false_accepts, results = 0, 0, []
    for (file, person), face in zip(probes, faces, strict=True):
        assert face.outcome == OK, file
        result = decide(gallery.search(face.embedding), policy_for(gallery))
        identified += result.outcome == decision.MATCH and result.worker_id == person
        # The impostor: the same probe with its own person not enrolled.
        others = gallery_of({p: t for p, t in templates.items() if p != person})
        impostor = decide(others.search(face.embedding), policy_for(others))
        false_accepts += impostor.outcome == decision.MATCH
        results.append((file, person, result.outcome, round(result.distance, 3)))

    rate = identified / len(probes)
    print(
        f"\nrank-1 identified {identified}/{len(probes)} = {rate:.1%}; "
        f"false accepts {false_accepts}/{len(probes)}"
    )
    assert rate >= 0.98, results
    assert false_accepts == 0


def test_photos_of_several_people_are_never_one_worker(pipeline):
    faces = pipeline.analyse([photo("couple.jpg"), photo("selfie-many-people.jpg")])
    assert [f.outcome for f in faces] == [MULTIPLE_FACES, MULTIPLE_FACES]
    assert [f.faces for f in faces][0] == 2
