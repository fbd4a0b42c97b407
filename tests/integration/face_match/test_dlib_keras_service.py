"""face-match run with FACE_MODEL=DlibKeras (dlib's ResNet as a Keras model, issue 19): it
enrols and identifies through its API and Kafka as with Dlib, and records its templates as
Dlib's (the same embeddings), so a replica switched between the two keeps every template."""

import pytest
from punchcard_face_match.adapters import weights

from tests.support.face import astronaut, mirrored, reason
from tests.support.face_match import enrol, known_worker, searchable
from tests.support.services import start_service


@pytest.fixture(scope="module")
async def keras_face_match(tmp_path_factory):
    home = tmp_path_factory.mktemp("deepface")
    weights.convert(home / ".deepface" / "weights")
    process = await start_service(
        "face-match",
        tmp_path_factory.mktemp("face-match-keras"),
        FACE_MODEL="DlibKeras",
        DEEPFACE_HOME=str(home),
    )
    yield process
    await process.stop()


async def test_a_dlib_keras_replica_enrols_and_identifies_under_dlibs_model(
    feed, keras_face_match, kiosk
):
    assert "DlibKeras" in keras_face_match.log_file.read_text()  # "face models loaded"
    worker = await feed.worker()
    tenant, worker_id = feed.tenant_id, worker["id"]
    await known_worker(keras_face_match, tenant, worker_id)
    answer = await enrol(keras_face_match, tenant, worker_id, astronaut(640), astronaut(560))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["template_count"], answer.json()["model_name"]) == (2, "Dlib")
    await searchable(keras_face_match, tenant, worker_id)

    verdict = await kiosk.punch(tenant, mirrored(astronaut(640)))
    assert reason(verdict) == "IDENTIFIED"
    assert (verdict.worker_id, verdict.face.model_name) == (worker_id, "Dlib")
    assert 0 <= verdict.face.distance <= verdict.face.threshold
