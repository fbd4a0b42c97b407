"""Route a batch to one handler per payload type. Types with no handler are skipped (committed
and ignored), never dead-lettered: new payload types may appear on a topic within v1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

import asyncpg

from ..logging import correlation, get_logger
from .envelope import TOMBSTONE, Message

log = get_logger(__name__)

MessageHandler = Callable[[asyncpg.Connection, Message], Awaitable[None]]


def dispatch(
    handlers: Mapping[str, MessageHandler],
) -> Callable[[asyncpg.Connection, Sequence[Message]], Awaitable[None]]:
    """A batch handler for ConsumerLoop: each message, in order, to ``handlers[message.type]``
    (``"tombstone"`` for null values on compacted topics)."""

    async def handle(conn: asyncpg.Connection, messages: Sequence[Message]) -> None:
        for message in messages:
            handler = handlers.get(message.type)
            if handler is None:
                log.debug(
                    "no handler for event type; skipped",
                    event_type=message.type,
                    event_id=message.event_id,
                )
                continue
            correlation_id = message.envelope.correlation_id if message.envelope else None
            with correlation(correlation_id, event_id=message.event_id):
                await handler(conn, message)

    return handle


__all__ = ["TOMBSTONE", "dispatch"]
