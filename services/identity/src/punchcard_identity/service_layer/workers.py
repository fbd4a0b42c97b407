"""Admin use cases: workers and their PINs. Each runs in one tenant transaction; the events it
causes go to the outbox in that transaction. No PIN, hash or secret ever enters an event, a log
line or a return value (except a generated PIN, returned once to the admin who asked)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import asyncpg
from google.protobuf.message import Message as ProtoMessage
from punchcard.v1 import identity_pb2
from punchcard_kit.access import WRITERS, require_role
from punchcard_kit.http_errors import ApiError, not_found
from punchcard_kit.internal_auth import Caller
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import add_to_outbox, new_envelope

from ..adapters import repository as repo
from ..adapters.lockout import FailureCounters
from ..adapters.pin_hasher import PinHasher
from ..domain.model import Worker, WorkerStatus
from ..domain.pin_policy import PIN_MAX_LENGTH, check_pin

log = get_logger(__name__)

WORKERS_TOPIC = "punchcard.identity.workers.v1"


@dataclass(frozen=True)
class Services:
    """What the use cases need, built once by the composition root."""

    pool: asyncpg.Pool
    hasher: PinHasher
    counters: FailureCounters


def now() -> datetime:
    return datetime.now(UTC)


async def emit(
    conn: asyncpg.Connection, tenant_id: str, worker_id: str, payload: ProtoMessage, caller: Caller
) -> None:
    envelope = new_envelope(
        payload,
        tenant_id=tenant_id,
        producer="identity",
        correlation_id=caller.request_id,
        causation_id=caller.request_id,
    )
    await add_to_outbox(conn, [(WORKERS_TOPIC, f"{tenant_id}/{worker_id}", envelope)])


def _details(worker: Worker) -> identity_pb2.WorkerDetails:
    return identity_pb2.WorkerDetails(
        employee_id=worker.employee_id,
        display_name=worker.name,
        job_title=worker.job_title,
        site_id=worker.site_id,
    )


def _scope(caller: Caller) -> tuple[str, ...] | None:
    """Managers see and change the workers of their sites only (the kit's one rule)."""
    return caller.site_scope()


_require = require_role


async def _load(conn, caller: Caller, worker_id: str, for_update: bool = False) -> Worker:
    try:
        uuid.UUID(worker_id)
    except ValueError:
        raise not_found("worker") from None
    worker = await repo.get_worker(conn, caller.tenant_id, worker_id, for_update=for_update)
    if worker is None or not caller.may_act_on_site(worker.site_id):
        raise not_found("worker")
    return worker


# -- workers -----------------------------------------------------------------------------------
async def register_worker(
    s: Services,
    caller: Caller,
    *,
    employee_id: str,
    name: str,
    job_title: str,
    site_id: str,
    status: WorkerStatus,
) -> Worker:
    _require(caller, *WRITERS)
    if not caller.may_act_on_site(site_id):
        raise ApiError(422, "SITE_NOT_MANAGED", "you can only add workers to your sites", "site_id")
    at = now()
    worker = Worker(
        id=str(uuid.uuid4()),
        tenant_id=caller.tenant_id,
        employee_id=employee_id,
        name=name,
        job_title=job_title,
        site_id=site_id,
        status=status,
        pin_allowed=True,
        pin_set_at=None,
        pin_locked_until=None,
        created_at=at,
        updated_at=at,
    )
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        try:
            await repo.insert_worker(conn, worker)
        except asyncpg.UniqueViolationError:
            raise ApiError(
                409, "DUPLICATE_EMPLOYEE_ID", "another worker has this Employee ID", "employee_id"
            ) from None
        await emit(
            conn,
            caller.tenant_id,
            worker.id,
            identity_pb2.WorkerRegistered(
                worker_id=worker.id,
                details=_details(worker),
                status=worker.status.proto(),
                pin_allowed=worker.pin_allowed,
            ),
            caller,
        )
    return worker


async def get_worker(s: Services, caller: Caller, worker_id: str) -> Worker:
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        return await _load(conn, caller, worker_id)


async def list_workers(
    s: Services,
    caller: Caller,
    *,
    search: str | None,
    status: WorkerStatus | None,
    offset: int,
    limit: int,
) -> tuple[list[Worker], int]:
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        return await repo.list_workers(
            conn,
            caller.tenant_id,
            search=search,
            status=status,
            sites=_scope(caller),
            offset=offset,
            limit=limit,
        )


async def update_worker(s: Services, caller: Caller, worker_id: str, changes: dict) -> Worker:
    _require(caller, *WRITERS)
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        worker = await _load(conn, caller, worker_id, for_update=True)
        if not caller.may_act_on_site(changes.get("site_id", worker.site_id)):
            raise ApiError(
                422, "SITE_NOT_MANAGED", "you can only move workers to your sites", "site_id"
            )
        new_status = changes.pop("status", None)
        changed = [k for k, v in changes.items() if getattr(worker, k) != v]
        updated = replace(worker, **changes, updated_at=now())
        if new_status is not None:
            updated = replace(updated, status=new_status)
        if not changed and updated.status == worker.status:
            return worker
        try:
            await repo.update_worker(conn, updated)
        except asyncpg.UniqueViolationError:
            raise ApiError(
                409, "DUPLICATE_EMPLOYEE_ID", "another worker has this Employee ID", "employee_id"
            ) from None
        if changed:
            await emit(
                conn,
                caller.tenant_id,
                worker.id,
                identity_pb2.WorkerUpdated(
                    worker_id=worker.id, details=_details(updated), changed_fields=changed
                ),
                caller,
            )
        if updated.status != worker.status:
            await emit(
                conn,
                caller.tenant_id,
                worker.id,
                identity_pb2.WorkerStatusChanged(
                    worker_id=worker.id,
                    previous_status=worker.status.proto(),
                    status=updated.status.proto(),
                ),
                caller,
            )
        log.info(
            "worker updated",
            worker_id=worker.id,
            fields=changed,
            status_changed=updated.status != worker.status,
        )
        return await repo.get_worker(conn, caller.tenant_id, worker.id)


# -- PINs --------------------------------------------------------------------------------------
async def set_pin(
    s: Services, caller: Caller, worker_id: str, pin: str, generated: bool = False
) -> Worker:
    _require(caller, "sysadmin")
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        worker = await _load(conn, caller, worker_id, for_update=True)
        if not worker.may_have_pin():
            raise ApiError(409, "WORKER_INACTIVE", "an Inactive worker cannot have a PIN", "pin")
        rejection = check_pin(pin, worker.employee_id)
        if rejection is not None:
            raise ApiError(422, rejection.code.value, rejection.message, "pin")
        stored = await asyncio.to_thread(s.hasher.hash, pin)  # argon2id, off the event loop
        at = now()
        await repo.upsert_pin(conn, caller.tenant_id, worker.id, stored.hash, stored.key_id, at)
        payload = identity_pb2.PinSet(
            worker_id=worker.id, replaced=worker.pin_set, generated=generated
        )
        payload.pin_set_at.FromDatetime(at)
        await emit(conn, caller.tenant_id, worker.id, payload, caller)
        updated = await repo.get_worker(conn, caller.tenant_id, worker.id)
    await s.counters.reset_worker(caller.tenant_id, worker.id)
    log.info("pin set", worker_id=worker.id, generated=generated)
    return updated


async def generate_pin(s: Services, caller: Caller, worker_id: str) -> tuple[str, Worker]:
    """A random PIN that passes the policy; returned once, never stored in the clear."""
    _require(caller, "sysadmin")
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        worker = await _load(conn, caller, worker_id)
    while True:
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_MAX_LENGTH))
        if check_pin(pin, worker.employee_id) is None:
            break
    return pin, await set_pin(s, caller, worker_id, pin, generated=True)


async def remove_pin(s: Services, caller: Caller, worker_id: str) -> Worker:
    _require(caller, "sysadmin")
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        worker = await _load(conn, caller, worker_id, for_update=True)
        if await repo.delete_pin(conn, caller.tenant_id, worker.id):
            await emit(
                conn,
                caller.tenant_id,
                worker.id,
                identity_pb2.PinRemoved(worker_id=worker.id),
                caller,
            )
            log.info("pin removed", worker_id=worker.id)
        return await repo.get_worker(conn, caller.tenant_id, worker.id)


async def set_pin_allowed(s: Services, caller: Caller, worker_id: str, allowed: bool) -> Worker:
    _require(caller, "sysadmin")
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        worker = await _load(conn, caller, worker_id, for_update=True)
        if worker.pin_allowed != allowed:
            await repo.update_worker(conn, replace(worker, pin_allowed=allowed, updated_at=now()))
            await emit(
                conn,
                caller.tenant_id,
                worker.id,
                identity_pb2.PinAllowedChanged(worker_id=worker.id, pin_allowed=allowed),
                caller,
            )
        return await repo.get_worker(conn, caller.tenant_id, worker.id)


async def unlock_pin(s: Services, caller: Caller, worker_id: str) -> Worker:
    _require(caller, "sysadmin")
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        worker = await _load(conn, caller, worker_id, for_update=True)
        if worker.pin_locked_until is not None:
            await repo.set_lock(conn, caller.tenant_id, worker.id, None)
            await emit(
                conn,
                caller.tenant_id,
                worker.id,
                identity_pb2.PinUnlocked(worker_id=worker.id, admin_id=caller.user_id),
                caller,
            )
        updated = await repo.get_worker(conn, caller.tenant_id, worker.id)
    await s.counters.reset_worker(caller.tenant_id, worker.id)
    return updated


async def get_pin_policy(s: Services, caller: Caller) -> int | None:
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        return await repo.get_pin_max_age(conn, caller.tenant_id)


async def set_pin_policy(s: Services, caller: Caller, max_age_days: int | None) -> int | None:
    _require(caller, "sysadmin")
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        await repo.set_pin_max_age(conn, caller.tenant_id, max_age_days)
    return max_age_days


async def stale_pins(s: Services, caller: Caller) -> tuple[int | None, list[Worker]]:
    async with repo.tenant_transaction(s.pool, caller.tenant_id) as conn:
        days = await repo.get_pin_max_age(conn, caller.tenant_id)
        if days is None:
            return None, []
        return days, await repo.workers_with_pins_older_than(
            conn, caller.tenant_id, days, _scope(caller)
        )


# -- a clock's PIN failure counters ----------------------------------------------------------
async def clock_pin_counters(s: Services, caller: Caller, clock_id: str) -> tuple[int, int]:
    """(unknown Employee IDs, known workers' wrong PINs) counted at the clock in its window."""
    _require(caller, "sysadmin", "manager")
    return await s.counters.clock_counts(caller.tenant_id, clock_id)


async def reset_clock_pin_counters(s: Services, caller: Caller, clock_id: str) -> None:
    """Someone tried IDs or PINs at the clock and it takes no PIN for now: start it again."""
    _require(caller, "sysadmin", "manager")
    await s.counters.reset_clock(caller.tenant_id, clock_id)
    log.info("clock pin counters reset", clock_id=clock_id, admin_id=caller.user_id)
