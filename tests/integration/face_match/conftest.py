import pytest

from tests.support.face import FaceKiosk
from tests.support.punch import Feed
from tests.support.services import start_service


@pytest.fixture(scope="module")
async def face_match(tmp_path_factory):
    process = await start_service("face-match", tmp_path_factory.mktemp("face-match"))
    yield process
    await process.stop()


@pytest.fixture
async def feed():
    """Upstream events (identity's workers, device-sync's assignments) for a fresh tenant."""
    feed = await Feed.open()
    yield feed
    await feed.close()


@pytest.fixture
async def kiosk():
    async with FaceKiosk() as kiosk:
        yield kiosk
