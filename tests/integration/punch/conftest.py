import asyncpg
import pytest

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
    """A connection as punch's login role (bound by row-level security once a transaction
    enters a tenant, as the service is), with no statement cache: for a test that prepares and
    deallocates its own statements (tests.support.plans)."""
    conn = await asyncpg.connect(punch.database_url, statement_cache_size=0)
    yield conn
    await conn.close()
