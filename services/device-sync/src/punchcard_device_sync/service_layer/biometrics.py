"""Biometric templates from hardware clocks (ZK PUSH): the ``Biometrics`` seam of the device
edge (``uploaded``: a device's FP/FACE/BIODATA/BIOPHOTO records; ``command_lines``: a template
command expanded into the device's lines at delivery), the admin's deletion, and the rules
that keep templates following their worker (``follow_upserts``, ``forget_worker``).

Templates are stored sealed (``Sealer``: AES-GCM, the tenant, worker and slot as associated
data) and never logged, put on Kafka or in a queued command: the queue says only *whose*
templates a ZK clock must get, and ``command_lines`` reads them when the clock polls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from punchcard_kit.access import require_writer_of_site
from punchcard_kit.caller import Caller
from punchcard_kit.credentials import employee_id_key
from punchcard_kit.logging import get_logger

from ..domain import errors
from ..domain.model import Command, CommandKind, Queued
from ..domain.templates import (
    Refused,
    Template,
    delete_lines,
    may_store,
    read_template,
    tables_of,
    update_line,
)
from ..domain.zk_records import OperRecord
from .unit_of_work import Sealer, UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)


class Biometrics(Protocol):
    """What the device edge needs for templates (its no-op and this module's
    :class:`StoredBiometrics` implement it)."""

    async def uploaded(
        self, uow: UnitOfWork, clock_id: str, records: Sequence[OperRecord]
    ) -> None: ...

    async def command_lines(self, uow: UnitOfWork, kind: CommandKind, body: dict) -> list[str]: ...


def _context(tenant_id: object, worker_id: str, template: Template) -> bytes:
    """The associated data a template is sealed with: whose it is, and its slot."""
    kind, no, index = template.slot
    return f"{str(tenant_id).lower()}/{worker_id.lower()}/{kind}/{no}/{index}".encode()


def _worker_of(body: dict) -> tuple[str, str]:
    """(worker id, Employee ID) of a queued template command (its JSON, or its worker)."""
    worker = body.get("worker", body)
    return str(worker["worker_id"]), str(worker["employee_id"])


@dataclass(frozen=True)
class StoredBiometrics:
    """The real implementation of the edge's ``Biometrics`` seam."""

    sealer: Sealer

    async def uploaded(self, uow: UnitOfWork, clock_id: str, records: Sequence[OperRecord]) -> None:
        """Store the templates a clock uploaded (each replacing the one in its slot) and queue
        ``UPSERT_TEMPLATES`` for the worker's other ZK clocks — in the caller's unit of work
        (the edge commits it with its answer). A badge the tenant does not know, a record
        out of bounds, or a worker at their limit of templates is skipped with a log line
        (the line number and why, never the template); records that are not templates are
        ignored."""
        by_badge: dict[str, list[tuple[Template, int]]] = {}
        for record in records:
            try:
                template = read_template(record)
            except Refused as refused:
                log.warning(
                    "template record refused",
                    clock_id=clock_id,
                    line=record.line_no,
                    word=record.word[:20],
                    reason=refused.reason,
                )
                continue
            if template is None:
                continue
            by_badge.setdefault(template.badge, []).append((template, record.line_no))
        for badge, templates in by_badge.items():
            await self._store(uow, clock_id, badge, templates)

    async def _store(
        self, uow: UnitOfWork, clock_id: str, badge: str, templates: list[tuple[Template, int]]
    ) -> None:
        found = await uow.templates.worker_of_badge(employee_id_key(badge))
        if found is None:
            log.info(
                "templates of a badge this tenant does not know; ignored",
                clock_id=clock_id,
                lines=[line for _, line in templates],
            )
            return
        worker_id, employee_id = found
        await uow.workers.lock(worker_id)  # serialises with deactivation and deletion
        slots = set(await uow.templates.slots(worker_id))
        stored = 0
        for template, line in templates:
            if not template.valid:
                log.info("invalid template (Valid=0) skipped", clock_id=clock_id, line=line)
                continue
            if not may_store(slots, template):
                log.warning(
                    "worker holds the most templates of this kind; skipped",
                    clock_id=clock_id,
                    worker_id=worker_id,
                    kind=str(template.kind),
                    line=line,
                )
                continue
            sealed = self.sealer.seal(
                template.data.encode("ascii"), _context(uow.tenant_id, worker_id, template)
            )
            await uow.templates.save(worker_id, template.describe(), sealed, clock_id)
            slots.add(template.slot)
            stored += 1
        if not stored:
            return
        others = [c for c in await uow.assignments.clocks_of_worker(worker_id) if c != clock_id]
        zk = await uow.templates.zk_clocks(others)
        queued = await uow.queue.enqueue(
            [(c, Command.push_templates(worker_id, employee_id)) for c in sorted(zk)]
        )
        log.info(
            "templates stored",
            clock_id=clock_id,
            worker_id=worker_id,
            templates=stored,
            pushed_to=len(queued),
        )

    async def command_lines(self, uow: UnitOfWork, kind: CommandKind, body: dict) -> list[str]:
        """A queued template command as the device's lines: UPSERT_TEMPLATES → the worker's
        templates as stored now (none any more: no line), DELETE_TEMPLATES → the deletions."""
        kind = CommandKind(kind)
        worker_id, employee_id = _worker_of(body)
        if kind is CommandKind.DELETE_TEMPLATES:
            return delete_lines(employee_id, body.get("tables") or tables_of(()))
        if kind is not CommandKind.UPSERT_TEMPLATES:
            return []
        lines = []
        for template, sealed in await uow.templates.of_worker(worker_id):
            data = self.sealer.open(sealed, _context(uow.tenant_id, worker_id, template))
            lines.append(update_line(replace(template, data=data.decode("ascii")), employee_id))
        return lines


# --- keeping templates with their worker (called by the roster use cases) ------------------


async def follow_upserts(uow: UnitOfWork, queued: Sequence[Queued]) -> list[Queued]:
    """After the roster queued ``UPSERT_WORKER`` commands: on each ZK clock, a worker who has
    templates gets ``UPSERT_TEMPLATES`` right after (a clock that gains the worker gets their
    fingerprints; one whose pending push an UPSERT_WORKER replaced gets it again, after the
    user it needs)."""
    upserts = [q for q in queued if q.command.kind is CommandKind.UPSERT_WORKER]
    if not upserts:
        return []
    zk = await uow.templates.zk_clocks(sorted({q.clock_id for q in upserts}))
    upserts = [q for q in upserts if q.clock_id in zk]
    if not upserts:
        return []
    holders = await uow.templates.with_templates(
        sorted({q.command.worker_id for q in upserts if q.command.worker_id})
    )
    pushes = []
    for q in upserts:
        worker_id = q.command.worker_id
        if worker_id not in holders:
            continue
        profile = json.loads(q.command.profile_json or "{}")
        pushes.append(
            (q.clock_id, Command.push_templates(worker_id, profile.get("employee_id", "")))
        )
    return await uow.queue.enqueue(pushes)


async def forget_worker(uow: UnitOfWork, worker_id: str) -> int:
    """A worker made Inactive: their stored templates are deleted (every clock already gets
    REMOVE_WORKER, which deletes the user with their templates on a ZK device)."""
    deleted = await uow.templates.delete_of_worker(worker_id)
    if deleted:
        log.info("templates of an Inactive worker deleted", worker_id=worker_id, count=len(deleted))
    return len(deleted)


# --- the admin's deletion ---------------------------------------------------------------


@dataclass(frozen=True)
class DeleteBiometrics:
    caller: Caller
    worker_id: str


@dataclass(frozen=True)
class BiometricsDeleted:
    templates_deleted: int
    clocks: int  # DELETE_TEMPLATES queued (one per ZK clock the worker is on)


async def delete_biometrics(cmd: DeleteBiometrics, uow: UnitOfWorkFactory) -> BiometricsDeleted:
    """Delete the worker's stored templates and queue ``DELETE_TEMPLATES`` (the tables their
    templates came as) to every ZK clock the worker is on; each clock acknowledges it (shown
    per clock). A sysadmin, or a manager of the worker's site."""
    caller = cmd.caller
    async with uow(caller.tenant_id) as tx:
        found = await tx.workers.lock_many([cmd.worker_id])
        if cmd.worker_id not in found:
            raise errors.worker_not_found()
        worker = found[cmd.worker_id][0]
        if not caller.may_act_on_site(worker.site_id):
            raise errors.worker_not_found()  # another site's worker is not shown to them
        require_writer_of_site(caller, worker.site_id, "worker_id")
        sources = await tx.templates.delete_of_worker(cmd.worker_id)
        zk = await tx.templates.zk_clocks(await tx.assignments.clocks_of_worker(cmd.worker_id))
        command = Command.delete_templates(cmd.worker_id, worker.employee_id, tables_of(sources))
        queued = await tx.queue.enqueue([(c, command) for c in sorted(zk)])
        await tx.commit()
    log.info(
        "biometric data deleted",
        worker_id=cmd.worker_id,
        templates=len(sources),
        clocks=len(queued),
    )
    return BiometricsDeleted(len(sources), len(queued))
