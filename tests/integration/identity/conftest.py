import pytest

from tests.support.identity import Kiosk, start_identity


@pytest.fixture(scope="module")
async def identity(tmp_path_factory):
    process = await start_identity(tmp_path_factory.mktemp("identity"))
    yield process
    await process.stop()


@pytest.fixture(scope="module")
async def kiosk(identity):
    async with Kiosk(identity) as running:
        yield running
