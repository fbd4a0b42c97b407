import asyncpg
import pytest

from tests.support.identity import Kiosk, start_identity
from tests.support.stack import PG_URL


@pytest.fixture(scope="module")
async def identity(tmp_path_factory):
    process = await start_identity(tmp_path_factory.mktemp("identity"))
    yield process
    process.process.terminate()
    process.process.wait(30)
    admin = await asyncpg.connect(f"{PG_URL}/postgres")
    name = process.database_url.rsplit("/", 1)[1]
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="module")
async def kiosk(identity):
    async with Kiosk(identity) as running:
        yield running
