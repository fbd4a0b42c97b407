"""A service a test started leaves no topics behind once it is stopped for good: its
consumers' dead-letter topics (named by its consumer group suffix) are deleted with its
database. Kept, they piled up on a long-lived test stack until its broker ran out of file
descriptors (~6,000 topics, ~19,000 partition directories)."""

from tests.support.messaging import topics_ending, wait_for
from tests.support.services import start_service
from tests.support.stack import KAFKA


async def test_a_stopped_service_deletes_its_dead_letter_topics(tmp_path):
    identity = await start_service("identity", tmp_path)
    ending = identity.env["CONSUMER_GROUP_SUFFIX"] + ".dlq"
    try:
        # Each consumer makes its dead-letter topic as it starts.
        made = await wait_for(
            lambda: topics_ending(KAFKA, ending), what="identity's dead-letter topics"
        )
        assert any(t.startswith("identity.") for t in made)
    finally:
        await identity.stop()

    async def gone() -> bool:
        return not await topics_ending(KAFKA, ending)

    await wait_for(gone, timeout=30, what="the dead-letter topics deleted")
