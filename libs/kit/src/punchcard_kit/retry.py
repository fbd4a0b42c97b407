"""Backoff for calls to servers that may be down: bounded exponential with jitter, one clear log
line per failed attempt (tenacity does the waiting)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    InvalidConfigurationError,
    InvalidPartitionsError,
    InvalidReplicationAssignmentError,
    InvalidReplicationFactorError,
    InvalidTopicError,
    KafkaConnectionError,
    KafkaError,
    PolicyViolationError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_exception_type,
    wait_exponential_jitter,
)
from tenacity.stop import stop_after_delay, stop_never

from .errors import NotProjectedYet
from .logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")

#: Errors that mean "a server is down or busy": retry, never dead-letter.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    KafkaConnectionError,
    KafkaError,
)


#: Kafka's "no" to this client or this request: the cluster is up and answered, and asking
#: again changes nothing until an operator does (an ACL, the replication factor, a topic's
#: config). ``retry_transient`` raises them at once. Kafka's other errors stay transient there,
#: retriable or not by aiokafka's flag (a broker that is restarting answers
#: BrokerNotAvailable, KafkaTimeout, NodeNotReady, ...).
KAFKA_REFUSALS: tuple[type[BaseException], ...] = (
    TopicAuthorizationFailedError,
    GroupAuthorizationFailedError,
    ClusterAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
    InvalidReplicationFactorError,
    InvalidReplicationAssignmentError,
    InvalidPartitionsError,
    InvalidConfigurationError,
    InvalidTopicError,
    PolicyViolationError,
)


def is_server_unavailable(error: BaseException) -> bool:
    """What ``retry_transient`` waits out: a server down, busy or starting, not one refusing."""
    return isinstance(error, TRANSIENT_ERRORS) and not isinstance(error, KAFKA_REFUSALS)


def is_transient(error: BaseException, extra: tuple[type[BaseException], ...] = ()) -> bool:
    """``extra``: errors a service declares transient for one consumer or app (e.g. its Redis
    client's connection errors; ``Subscription.transient``, ``create_service_app(transient=)``)."""
    if extra and isinstance(error, extra):
        return True
    if isinstance(error, KafkaError):
        return bool(getattr(error, "retriable", False)) or isinstance(error, KafkaConnectionError)
    return isinstance(error, TRANSIENT_ERRORS)


def backoff(initial: float = 0.2, maximum: float = 10.0) -> wait_exponential_jitter:
    """Exponential backoff with jitter: initial, 2×initial, 4×… up to ``maximum``."""
    return wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)


class Backoff:
    """The same waits for a loop that keeps going (no decorator): ``delay()`` per failure,
    ``reset()`` after a success."""

    def __init__(self, initial: float = 0.2, maximum: float = 10.0) -> None:
        self._wait = backoff(initial, maximum)
        self.attempt_number = 0

    def delay(self) -> float:
        self.attempt_number += 1
        return self._wait(self)  # tenacity's wait strategies read only .attempt_number

    def reset(self) -> None:
        self.attempt_number = 0


def _log_attempt(what: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "server unavailable, retrying",
            what=what,
            attempt=state.attempt_number,
            retry_in_s=round(state.next_action.sleep, 2) if state.next_action else None,
            error=f"{type(error).__name__}: {error}",
        )

    return before_sleep


async def retry_transient(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    give_up_after_s: float | None = None,
    initial: float = 0.2,
    maximum: float = 10.0,
) -> T:
    """Call until it succeeds, retrying while a server is unavailable (``is_server_unavailable``)
    with backoff, forever by default. Any other error, a Kafka refusal included, goes to the
    caller at once."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_server_unavailable),
        wait=backoff(initial, maximum),
        stop=stop_after_delay(give_up_after_s) if give_up_after_s else stop_never,
        before_sleep=_log_attempt(what),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable")


async def until_projected(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    within_s: float,
    initial: float = 0.02,
    maximum: float = 0.25,
) -> T:
    """Call, and call again with backoff while it raises ``NotProjectedYet``, for at most
    ``within_s`` seconds; then the last ``NotProjectedYet`` goes to the caller (a 404). Read
    your writes across services: a worker created at identity a moment ago and assigned to a
    clock at once is assigned, not refused, while device-sync's copy catches up (usually
    10-100 ms). Something that does not exist costs ``within_s`` of waiting (no CPU) before its
    404, so callers pass a small bound. ``call`` must be safe to repeat: a use case whose
    transaction was rolled back by the error."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(NotProjectedYet),
        wait=backoff(initial, maximum),
        stop=stop_after_delay(within_s),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            result = await call()
        state = attempt.retry_state
        if state.outcome is not None and state.outcome.failed:
            continue  # waited for, then called again (or the error re-raised at the bound)
        if state.attempt_number > 1:
            log.info("waited for another service's event", what=what, attempts=state.attempt_number)
        return result
    raise AssertionError("unreachable")
