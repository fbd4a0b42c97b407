"""A frame that kills the face model worker every time (issue 14, finding 1): it used to be
retried for ever (``EngineRestarted`` was a "server is down" error), holding back every later
face attempt on its partition. Now it goes to the dead-letter topic after
CONSUMER_MAX_ATTEMPTS tries, and the attempts behind it are answered."""

import uuid

from punchcard.v1.envelope_pb2 import DeadLetter

from tests.support.face import FaceKiosk, astronaut, reason
from tests.support.messaging import read_topic, wait_for
from tests.support.services import start_service
from tests.support.stack import KAFKA

POISON = b"\xff\xd8PUNCHCARD-TEST-KILLS-THE-WORKER\xff\xd9"


async def test_a_frame_that_kills_the_worker_is_dead_lettered_and_the_next_is_answered(tmp_path):
    face_match = await start_service(
        "face-match",
        tmp_path,
        PUNCHCARD_FAILPOINTS="face.worker.analyse=kill-if:PUNCHCARD-TEST-KILLS-THE-WORKER",
        FACE_WORKERS="1",
        CONSUMER_MAX_ATTEMPTS="2",
    )
    try:
        async with FaceKiosk() as kiosk:
            tenant, clock = str(uuid.uuid4()), str(uuid.uuid4())
            poisoned = await kiosk.send(tenant, POISON, clock_id=clock)
            after = await kiosk.send(tenant, astronaut(), clock_id=clock)  # same partition
            verdict = await kiosk.verdict(after, timeout=180)
            assert reason(verdict) != "IDENTIFIED"  # answered (no one is enrolled)
            assert poisoned not in kiosk.verdicts

            group = "face-match" + face_match.env["CONSUMER_GROUP_SUFFIX"]

            async def dead_lettered():
                letters = [
                    DeadLetter.FromString(r.value) for r in await read_topic(KAFKA, f"{group}.dlq")
                ]
                return [d for d in letters if POISON in d.value]

            [letter] = await wait_for(dead_lettered, timeout=60, what="the poison frame's letter")
            assert letter.error_type == "EngineRestarted" and letter.attempts == 2
    finally:
        await face_match.stop()
