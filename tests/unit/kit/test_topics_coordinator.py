"""``punchcard-topics`` returns only once the broker coordinates consumer groups: on a new
cluster the first FindCoordinator is answered "not available" while ``__consumer_offsets`` is
created, and the tool asks again instead of leaving that to the first consumers."""

import argparse

from aiokafka.errors import GroupAuthorizationFailedError, GroupCoordinatorNotAvailableError
from punchcard_kit.messaging import topics

ARGS = argparse.Namespace(
    bootstrap_servers="127.0.0.1:1",
    catalogue="deploy/topics.yaml",
    replication_factor=1,
    group_suffix="",
)


class _Admin:
    """aiokafka's admin client as a new one-broker cluster answers it: every topic there,
    the group coordinator not available for the first two questions."""

    asked = 0

    def __init__(self, **options) -> None:
        self.options = options

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def list_topics(self) -> list[str]:
        specs = topics.specs_from_catalogue("deploy/topics.yaml", 1)
        return [name for name, *_ in specs]

    async def find_coordinator(self, group_id: str, coordinator_type: int = 0) -> int:
        type(self).asked += 1
        if type(self).asked < 3:
            raise GroupCoordinatorNotAvailableError()
        return 1


async def test_the_tool_waits_until_consumer_groups_have_a_coordinator(monkeypatch, capsys):
    monkeypatch.setattr(topics, "AIOKafkaAdminClient", _Admin)
    monkeypatch.setattr(_Admin, "asked", 0)  # a new cluster for this test
    await topics._main(ARGS)
    assert _Admin.asked == 3
    assert "consumer groups coordinated by broker 1" in capsys.readouterr().out


async def test_a_user_without_group_rights_still_gets_its_topics(monkeypatch, capsys):
    """An operator's user on a managed cluster may create topics and describe no group."""

    class _NoGroups(_Admin):
        async def find_coordinator(self, group_id: str, coordinator_type: int = 0) -> int:
            raise GroupAuthorizationFailedError()

    monkeypatch.setattr(topics, "AIOKafkaAdminClient", _NoGroups)
    await topics._main(ARGS)
    assert "consumer groups: not checked" in capsys.readouterr().out
