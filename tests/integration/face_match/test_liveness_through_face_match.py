"""The real face-match on Kafka (issue 17): a kiosk's burst of live-ish frames identifies the
worker; the same still image three times, or the face filmed off a screen, is refused
SPOOF_SUSPECTED naming no one; the tenant's policy "flag" identifies and marks the match,
"off" ignores the signs; a burst whose frames show two people is never a punch. On the
labelled photos (skipped without), every live-ish burst of an enrolled person is identified
and none of an impostor's is, and none is taken for a spoof."""

import asyncio
from collections import defaultdict

import cv2
import numpy as np

from tests.support.face import (
    astronaut,
    astronaut_bgr,
    faces_dir,
    identities,
    mirrored,
    people_one_search_holds,
    photo,
    reason,
)
from tests.support.face_match import enrol, known_worker, searchable
from tests.support.spoof import live_burst, screen_recapture, still_burst


async def _answer(kiosk, tenant: str, frames: list[bytes], want: str, flagged=None):
    """This face-match's verdict for a burst: the first one with reason ``want`` (and, given
    ``flagged``, that ``spoof_suspected``), else the first at all. The test stack's Kafka is
    shared: another checkout's face-match (which follows the same templates topic, in a group
    of its own) may answer the same attempt first, by its own code; the assertion is on ours
    being among the answers."""
    first, *rest = frames
    attempt_id = await kiosk.send(tenant, first, burst=rest)
    verdict = await kiosk.verdict(attempt_id)
    for _ in range(50):  # the answers that came within about 5 s of the first
        found = [
            v
            for v in kiosk.verdicts.get(attempt_id, [])
            if reason(v) == want
            and (flagged is None or (v.HasField("face") and v.face.spoof_suspected == flagged))
        ]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    return verdict


async def _liveness(face_match, tenant: str, mode: str) -> None:
    async with face_match.admin(tenant) as http:
        answer = await http.put("/face/settings", json={"liveness_mode": mode})
        assert answer.status_code == 200, answer.text
        assert answer.json()["liveness_mode"] == mode


async def _enrolled(face_match, feed, jpeg: bytes) -> dict:
    worker = await feed.worker()
    await known_worker(face_match, feed.tenant_id, worker["id"])
    answer = await enrol(face_match, feed.tenant_id, worker["id"], jpeg)
    assert answer.status_code == 200, answer.text
    await searchable(face_match, feed.tenant_id, worker["id"])
    return worker


def _mirrored_astronaut() -> np.ndarray:
    return cv2.imdecode(np.frombuffer(mirrored(astronaut(640)), np.uint8), cv2.IMREAD_COLOR)


async def test_live_burst_identifies_and_still_or_screen_is_refused(feed, face_match, kiosk):
    tenant = feed.tenant_id
    worker = await _enrolled(face_match, feed, astronaut(640))
    async with face_match.admin(tenant) as http:
        settings = (await http.get("/face/settings")).json()
    assert settings["liveness_mode"] == "refuse"  # the default

    verdict = await _answer(kiosk, tenant, live_burst(_mirrored_astronaut(), seed=3), "IDENTIFIED")
    assert reason(verdict) == "IDENTIFIED" and verdict.worker_id == worker["id"]
    assert not verdict.face.spoof_suspected

    verdict = await _answer(kiosk, tenant, still_burst(_mirrored_astronaut()), "SPOOF_SUSPECTED")
    assert reason(verdict) == "SPOOF_SUSPECTED" and verdict.worker_id == ""
    assert not verdict.HasField("face")

    head = cv2.resize(astronaut_bgr(), (640, 640), interpolation=cv2.INTER_AREA)[0:400, 80:480]
    filmed = screen_recapture(cv2.flip(head, 1), pitch=3, angle=1.5, scale=0.5)
    verdict = await _answer(kiosk, tenant, [filmed], "SPOOF_SUSPECTED")
    assert reason(verdict) == "SPOOF_SUSPECTED" and verdict.worker_id == ""

    # "flag": the worker is identified, the match says what was seen.
    await _liveness(face_match, tenant, "flag")
    verdict = await _answer(kiosk, tenant, [filmed], "IDENTIFIED", flagged=True)
    assert reason(verdict) == "IDENTIFIED" and verdict.face.spoof_suspected
    # "off": not looked at.
    await _liveness(face_match, tenant, "off")
    verdict = await _answer(
        kiosk, tenant, still_burst(_mirrored_astronaut()), "IDENTIFIED", flagged=False
    )
    assert reason(verdict) == "IDENTIFIED" and not verdict.face.spoof_suspected


async def test_bursts_of_the_labelled_people(feed, face_match, kiosk):
    by_person: dict[str, list[str]] = defaultdict(list)
    for file, person in identities():  # skips without the photos
        by_person[person].append(file)
    by_person = {p: by_person[p] for p in people_one_search_holds(by_person)}
    tenant = feed.tenant_id
    workers = {}
    for person, files in sorted(by_person.items()):
        workers[person] = await _enrolled(face_match, feed, photo(files[0]))
    outcomes: dict[str, int] = defaultdict(int)
    wrong = []
    probes = 0
    for person, files in sorted(by_person.items()):
        for n, file in enumerate(files[1:]):
            image = cv2.imread(str(faces_dir() / file))
            first, *rest = live_burst(image, seed=n)
            verdict = await kiosk.punch(tenant, first, burst=rest)
            probes += 1
            outcomes[reason(verdict)] += 1
            if reason(verdict) == "IDENTIFIED" and verdict.worker_id != workers[person]["id"]:
                wrong.append(file)
    # A burst mixing two people (two with a second photo, not enrolled).
    a, b = [p for p in sorted(by_person) if len(by_person[p]) >= 2][:2]
    first = live_burst(cv2.imread(str(faces_dir() / by_person[a][1])))
    other = live_burst(cv2.imread(str(faces_dir() / by_person[b][1])))
    mixed = await _answer(kiosk, tenant, [first[0], first[1], other[0]], "AMBIGUOUS")
    print(f"\nlive-ish bursts of {probes} enrolled probes: {dict(outcomes)}; wrong worker: {wrong}")
    assert wrong == []
    assert outcomes["SPOOF_SUSPECTED"] == 0
    assert outcomes["IDENTIFIED"] >= 0.9 * probes
    assert reason(mixed) in ("AMBIGUOUS", "NO_MATCH") and mixed.worker_id == ""
