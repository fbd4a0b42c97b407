"""The PostgreSQL unit of work every service builds on: one transaction for one tenant, under
row-level security (``tenancy.enter_tenant``), with the transactional outbox in it — so the
events a use case publishes commit with the state it changed, or not at all.

A service subclasses :class:`TenantUnitOfWork` and attaches its repositories in ``_bind``::

    class PostgresUnitOfWork(TenantUnitOfWork):
        def _bind(self, conn):
            self.workers = PostgresWorkers(conn)

    async with PostgresUnitOfWork.on_pool(pool, tenant_id) as uow:
        await uow.workers.add(worker)
        await uow.publish(catalogue.IDENTITY_WORKERS.name, key, envelope)
        await uow.commit()

Two ways in, the same use cases:

- ``on_pool(pool, tenant_id)`` (an HTTP request): takes a connection, begins, and commits only
  on ``commit()``; leaving the block otherwise rolls back.
- ``on_connection(conn, tenant_id)`` (a Kafka handler): the consumer loop's transaction, which
  covers the whole batch and its ``processed_events`` rows. ``commit()`` is a no-op there (the
  loop commits after the batch); a raised error rolls the batch back as the loop decides.

Unit tests hand use cases a fake with the same attributes (``tests/unit/<service>/fakes.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, Self

import asyncpg

from .messaging.envelope import Envelope
from .messaging.outbox import OutboxRecord, add_records, add_to_outbox
from .tenancy import enter_tenant


class UnitOfWork(Protocol):
    """What every service's use cases see of a unit of work; a service's own protocol
    extends it with its repositories (``class UnitOfWork(kit.UnitOfWork, Protocol): …``)."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None:
        """Commit; leaving the block without it rolls back."""

    async def publish(self, *items: tuple[str, str | bytes | None, Envelope]) -> None:
        """(topic, key, envelope) into the outbox, in this transaction."""

    async def publish_records(
        self, records: Sequence[OutboxRecord] | Iterable[OutboxRecord]
    ) -> None:
        """Prepared outbox records (e.g. tombstones) into the outbox, in this transaction."""


class TenantUnitOfWork:
    #: The database role the transaction acts as (``<database>_app``; ``tenancy.ROLE_NAME``).
    role = "app"

    def __init__(
        self,
        tenant_id: object | None,
        *,
        pool: asyncpg.Pool | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> None:
        if (pool is None) == (conn is None):
            raise TypeError("a unit of work runs on a pool or on a connection, not both")
        self.tenant_id = tenant_id
        self._pool = pool
        self._given = conn
        self._conn: asyncpg.Connection | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self._done = False

    @classmethod
    def on_pool(cls, pool: asyncpg.Pool, tenant_id: object | None) -> Self:
        return cls(tenant_id, pool=pool)

    @classmethod
    def on_connection(cls, conn: asyncpg.Connection, tenant_id: object | None) -> Self:
        return cls(tenant_id, conn=conn)

    @property
    def connection(self) -> asyncpg.Connection:
        """The transaction's connection, for adapters and the read side (views)."""
        if self._conn is None:
            raise RuntimeError("the unit of work is not open (use `async with`)")
        return self._conn

    def _bind(self, conn: asyncpg.Connection) -> None:
        """Attach this service's repositories to the open transaction's connection."""

    async def __aenter__(self) -> Self:
        self._done = False
        if self._given is not None:
            await enter_tenant(self._given, self.role, self.tenant_id)
            self._conn = self._given
        else:
            assert self._pool is not None
            conn = await self._pool.acquire()
            try:
                self._tx = conn.transaction()
                await self._tx.start()
                await enter_tenant(conn, self.role, self.tenant_id)
            except BaseException:
                await self._pool.release(conn)
                raise
            self._conn = conn
        self._bind(self._conn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._given is not None:
            self._conn = None
            return
        assert self._pool is not None and self._conn is not None and self._tx is not None
        try:
            if not self._done:
                await self._tx.rollback()
        finally:
            await self._pool.release(self._conn)
            self._conn, self._tx = None, None

    async def commit(self) -> None:
        if self._given is not None:
            return  # the consumer loop commits the batch
        if self._tx is None or self._done:
            raise RuntimeError("nothing to commit")
        await self._tx.commit()
        self._done = True

    async def publish(self, *items: tuple[str, str | bytes | None, Envelope]) -> None:
        """(topic, key, envelope) into the outbox, in this transaction."""
        await add_to_outbox(self.connection, items)

    async def publish_records(
        self, records: Sequence[OutboxRecord] | Iterable[OutboxRecord]
    ) -> None:
        """Prepared outbox records (e.g. tombstones) into the outbox, in this transaction."""
        await add_records(self.connection, list(records))


__all__ = ["TenantUnitOfWork", "UnitOfWork"]
