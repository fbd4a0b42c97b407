"""Kafka's "no" is not an outage: ``retry_transient`` waits out a broker that is down or
starting, and hands a refusal (an ACL, a replication factor the cluster cannot give, a config
it rejects) to the caller at once. ``ensure_topics_exist`` turns CreateTopics' per-topic error
codes into those errors: aiokafka returns them in the response instead of raising."""

import types

import pytest
from aiokafka.errors import (
    BrokerNotAvailableError,
    InvalidConfigurationError,
    InvalidReplicationFactorError,
    KafkaConnectionError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
)
from punchcard_kit.messaging import topics
from punchcard_kit.retry import is_server_unavailable, retry_transient


def _calls(*errors: BaseException):
    """A call that raises ``errors`` in turn, then answers "done"; and how often it was made."""
    made = []

    async def call() -> str:
        made.append(1)
        if len(made) <= len(errors):
            raise errors[len(made) - 1]
        return "done"

    return call, made


@pytest.mark.parametrize(
    "error",
    [TopicAuthorizationFailedError(), InvalidReplicationFactorError(), InvalidConfigurationError()],
)
async def test_a_refusal_is_raised_at_once(error):
    call, made = _calls(error, error)
    with pytest.raises(type(error)):
        await retry_transient("kafka admin", call, initial=0.001, give_up_after_s=30)
    assert len(made) == 1


@pytest.mark.parametrize(
    "error",
    [
        KafkaConnectionError(),
        BrokerNotAvailableError(),  # aiokafka calls it not retriable; a restarting broker says it
        KafkaTimeoutError(),
        ConnectionRefusedError(),
    ],
)
async def test_a_server_down_or_starting_is_waited_out(error):
    assert is_server_unavailable(error)
    call, made = _calls(error, error)
    assert await retry_transient("kafka admin", call, initial=0.001, maximum=0.002) == "done"
    assert len(made) == 3


def _response(*topic_errors):
    return types.SimpleNamespace(topic_errors=list(topic_errors))


def test_a_create_topics_answer_names_the_refused_topic_and_why():
    refused = topics.refusal(
        _response(("a", 0, None), ("b", 38, "only 1 broker(s) are registered.")), "b"
    )
    assert isinstance(refused, InvalidReplicationFactorError)
    assert "topic b: only 1 broker(s) are registered." in str(refused)
    assert topics.refusal(_response(("a", 0, None)), "a") is None
    assert "not authorized" in str(topics.refusal(_response(("c", 29)), "c"))  # v0: no message


class _RefusingAdmin:
    """A cluster whose user may list topics but create none."""

    def __init__(self, **options) -> None:
        self.creates = 0

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def list_topics(self) -> list[str]:
        return []

    async def create_topics(self, new_topics, timeout_ms=None, validate_only=False):
        self.creates += 1
        return _response(*((t.name, 29, "Authorization failed.") for t in new_topics))


def test_the_tool_stops_with_the_refusal_instead_of_saying_created(monkeypatch, capsys):
    monkeypatch.setattr(topics, "AIOKafkaAdminClient", _RefusingAdmin)
    with pytest.raises(SystemExit) as stopped:
        topics.main(["--bootstrap-servers", "127.0.0.1:1", "--replication-factor", "1"])
    said = str(stopped.value.code)
    assert "refused" in said and "TopicAuthorizationFailedError" in said, said
    assert "Authorization failed." in said
    assert "created" not in capsys.readouterr().out
