import pytest

from tests.support.plans import owner_connection
from tests.support.punch import Feed
from tests.support.services import start_service


@pytest.fixture(scope="module")
async def punch(tmp_path_factory):
    process = await start_service("punch", tmp_path_factory.mktemp("punch"))
    yield process
    await process.stop()


@pytest.fixture
async def feed():
    """Upstream events for a fresh tenant of this test."""
    feed = await Feed.open()
    yield feed
    await feed.close()


@pytest.fixture
async def owner_conn(punch):
    """punch's login role, for the plan tests (tests.support.plans.owner_connection)."""
    async with owner_connection(punch.database_url) as conn:
        yield conn
