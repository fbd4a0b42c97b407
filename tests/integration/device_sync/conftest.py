import pytest

from tests.support.services import start_service


@pytest.fixture(scope="module")
async def identity(tmp_path_factory):
    process = await start_service("identity", tmp_path_factory.mktemp("identity"))
    yield process
    await process.stop()


@pytest.fixture(scope="module")
async def devices(tmp_path_factory):
    # Short sync holds so the simulated clocks come back (with their digests) often.
    process = await start_service(
        "device-sync", tmp_path_factory.mktemp("device-sync"), AUTO_RESYNC_MIN_INTERVAL_S="0"
    )
    yield process
    await process.stop()
