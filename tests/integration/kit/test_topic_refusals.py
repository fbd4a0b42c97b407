"""The test broker refuses topics it cannot make (one broker, so no replication factor of 2; a
config value it rejects): ``ensure_topics_exist`` raises the broker's error naming the topic
instead of reporting it created, and ``punchcard-topics`` stops with it at once (exit 1)
instead of printing "created" for a topic that does not exist."""

import asyncio
import subprocess

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import InvalidConfigurationError, InvalidReplicationFactorError
from punchcard_kit.messaging.connection import kafka_options
from punchcard_kit.messaging.topics import ensure_topics_exist

from tests.support.stack import KAFKA, REPO, VENV_BIN, unique


async def _exists(name: str) -> bool:
    admin = AIOKafkaAdminClient(**kafka_options(KAFKA))
    await admin.start()
    try:
        return name in await admin.list_topics()
    finally:
        await admin.close()


async def test_a_replication_factor_the_cluster_cannot_give_is_raised():
    made, refused = unique("test.refusals.ok"), unique("test.refusals.rf2")
    with pytest.raises(InvalidReplicationFactorError) as error:
        await ensure_topics_exist(KAFKA, [(made, 1, 1, {}), (refused, 1, 2, {})])
    assert f"topic {refused}" in str(error.value) and "broker" in str(error.value)
    assert await _exists(made) and not await _exists(refused)


async def test_a_config_the_broker_rejects_is_raised():
    refused = unique("test.refusals.cfg")
    with pytest.raises(InvalidConfigurationError) as error:
        await ensure_topics_exist(KAFKA, [(refused, 1, 1, {"cleanup.policy": "sometimes"})])
    assert "cleanup.policy" in str(error.value)
    assert not await _exists(refused)


async def test_the_tool_stops_at_once_with_the_broker_s_reason():
    """Every topic of the catalogue exists on the test broker; a new group suffix makes its
    dead-letter topics new, and the one broker cannot hold two replicas of them."""
    done = await asyncio.to_thread(
        subprocess.run,
        [
            str(VENV_BIN / "punchcard-topics"),
            "--bootstrap-servers",
            KAFKA,
            "--replication-factor",
            "2",
            "--group-suffix=-" + unique("refused").replace("_", "-"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refused: InvalidReplicationFactorError" in done.stderr, done.stderr
    assert "created " not in done.stdout, done.stdout
    assert "retrying" not in done.stdout + done.stderr  # a "no" is not waited out as an outage
