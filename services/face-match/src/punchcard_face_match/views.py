"""The read side: a worker's enrolment (and whether this replica searches it), the tenant's
enrolled workers, the tenant's face settings, and how a clock's face search runs (1:N at
which threshold, or 1:1). No answer ever carries an embedding or a photo.

Reads run in a unit of work of their own (never committed: nothing changes); the listing
query is SQL of its own here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from punchcard_kit.bounds import PAGE_MAX

from .domain import calibration
from .domain.calibration import FmrModel
from .domain.decision import MatchPolicy
from .domain.gallery import Galleries
from .domain.model import FaceSettings, TemplateSet
from .service_layer.enrolment import known_worker
from .service_layer.unit_of_work import UnitOfWorkFactory

if TYPE_CHECKING:
    from collections.abc import Sequence

    from punchcard_kit.internal_auth import Caller


def in_gallery(galleries: Galleries, tenant_id: str, status: dict) -> bool:
    """This replica searches the worker's current templates: its gallery holds the worker at
    the revision the database has, or a later one (every replica follows the templates topic;
    a change reaches each within a second)."""
    gallery = galleries.get(tenant_id, status["model_name"]) if status["enrolled"] else None
    held = gallery.revision_of(status["worker_id"]) if gallery is not None else None
    return held is not None and held >= status["revision"]


def status_view(worker_id: str, found: TemplateSet | None) -> dict:
    templates = found.templates if found else []
    return {
        "worker_id": worker_id,
        "enrolled": bool(templates),
        "template_count": len(templates),
        "model_name": found.model_name if templates else None,
        "revision": found.revision if found else 0,
        "updated_at": found.updated_at.isoformat() if found else None,
        "verify_one_to_one": bool(templates) and found.verify_one_to_one,
        "templates": [
            {
                "template_id": t.template_id,
                "quality": round(t.quality, 3),
                "face_px": t.face_px,
                "created_at": t.created_at.isoformat(),
                "photo_kept": t.photo_kept,
            }
            for t in templates
        ],
    }


# A page of the enrolled workers, in worker id order after the last page's last worker (keyset:
# a page costs its own rows however far the list goes), each worker's templates counted per
# model. The tenant's (sets by the primary key) or a manager's sites' (their workers found
# first, through workers_site, migration 0008). A page holds whole workers: the LIMIT is on
# the sets, so a worker's rows never straddle two pages. Written as ``sites IS NULL OR worker_id
# IN (subquery)``, a manager's list read every template of the tenant: PostgreSQL cannot join
# an or'd subquery. Unpaged, a tenant's list read and answered every template it held. The
# EXISTS repeats ``worker_id > $2``: PostgreSQL carries equalities across a join, not ranges, and
# a merge join with the templates read them from the tenant's first worker on.
_ENROLLED_OF = """
SELECT s.worker_id, t.model_name, t.template_count, t.enrolled_at
FROM (
    SELECT worker_id FROM template_sets ts
    WHERE tenant_id = $1 AND worker_id > $2{of_sites}{of_workers}
      AND EXISTS (SELECT 1 FROM templates
                  WHERE tenant_id = $1 AND worker_id = ts.worker_id AND worker_id > $2)
    ORDER BY worker_id LIMIT $3
) s
CROSS JOIN LATERAL (
    SELECT model_name, count(*) AS template_count, max(created_at) AS enrolled_at
    FROM templates WHERE tenant_id = $1 AND worker_id = s.worker_id
    GROUP BY model_name
) t
ORDER BY s.worker_id, t.model_name
"""
_OF_SITES = """
      AND worker_id = ANY(ARRAY(
          SELECT id FROM workers WHERE tenant_id = $1 AND site_id = ANY($4)))"""
# Asked of given workers (a page of the portal's workers list: is each one enrolled?): their
# sets by the primary key, one probe a worker.
_OF_WORKERS = "\n      AND worker_id = ANY(${}::uuid[])"
_ENROLLED = _ENROLLED_OF.format(of_sites="", of_workers="")
_ENROLLED_AT_SITES = _ENROLLED_OF.format(of_sites=_OF_SITES, of_workers="")
_ENROLLED_OF_WORKERS = _ENROLLED_OF.format(of_sites="", of_workers=_OF_WORKERS.format(4))
_ENROLLED_OF_WORKERS_AT_SITES = _ENROLLED_OF.format(
    of_sites=_OF_SITES, of_workers=_OF_WORKERS.format(5)
)
_BEFORE_ALL = "00000000-0000-0000-0000-000000000000"  # no worker id sorts before it


@dataclass(frozen=True)
class FaceViews:
    uow: UnitOfWorkFactory
    galleries: Galleries
    model_name: str = "Dlib"
    policy: MatchPolicy | None = None
    fmr_model: FmrModel | None = None

    def enrolment(self, tenant_id: str, worker_id: str, found: TemplateSet | None) -> dict:
        """The worker's enrolment as an answer, with ``in_gallery``."""
        status = status_view(worker_id, found)
        status["in_gallery"] = in_gallery(self.galleries, tenant_id, status)
        return status

    async def status(self, caller: Caller, worker_id: str) -> dict:
        """The worker's enrolment, if the caller may see the worker (404 otherwise)."""
        async with self.uow(caller.tenant_id) as uow:
            if caller.site_scope() is not None:
                await known_worker(uow, caller, worker_id)
            found = await uow.templates.get(worker_id)
            if found is None:
                await known_worker(uow, caller, worker_id)
        return self.enrolment(caller.tenant_id, worker_id, found)

    async def enrolled(
        self,
        caller: Caller,
        limit: int = PAGE_MAX,
        after: str | None = None,
        worker_ids: Sequence[str] | None = None,
    ) -> tuple[list[dict], str | None]:
        """A page of the tenant's enrolled workers (a manager: those of their sites; with
        ``worker_ids``: of those workers only): up to ``limit`` workers whose ids sort after
        ``after``, and the cursor of the next page (the page's last worker; None when this page
        is the last)."""
        sites = caller.site_scope()
        args: list = [caller.tenant_id, after or _BEFORE_ALL, limit + 1]  # one more: a next?
        if sites is not None:
            args.append(list(sites))
        if worker_ids is not None:
            args.append(list(worker_ids))
            sql = _ENROLLED_OF_WORKERS if sites is None else _ENROLLED_OF_WORKERS_AT_SITES
        else:
            sql = _ENROLLED if sites is None else _ENROLLED_AT_SITES
        async with self.uow(caller.tenant_id) as uow:
            rows = await uow.connection.fetch(sql, *args)  # type: ignore[attr-defined]
        workers = list(dict.fromkeys(r["worker_id"] for r in rows))
        more = len(workers) > limit
        if more:
            rows = [r for r in rows if r["worker_id"] != workers[-1]]
        items = [
            {
                "worker_id": str(r["worker_id"]),
                "template_count": r["template_count"],
                "model_name": r["model_name"],
                "enrolled_at": r["enrolled_at"].isoformat(),
            }
            for r in rows
        ]
        return items, (items[-1]["worker_id"] if more else None)

    async def settings(self, caller: Caller) -> FaceSettings:
        async with self.uow(caller.tenant_id) as uow:
            return await uow.settings.get()

    async def clock_search(self, caller: Caller, clock_id: str) -> dict:
        """How a face attempt without an Employee ID is searched at ``clock_id``: over which
        workers (the clock's assigned workers with ``search_assigned_only``, else the tenant's
        whole gallery), at which threshold, or 1:1 (``threshold`` None) when they are too
        many for the tenant's FPIR target. Counts only: no worker is named."""
        async with self.uow(caller.tenant_id) as uow:
            settings = await uow.settings.get()
            restrict = (
                await uow.assignments.workers_of(clock_id)
                if settings.search_assigned_only
                else None
            )
        gallery = self.galleries.get(caller.tenant_id, self.model_name)
        workers, templates = gallery.size(restrict) if gallery is not None else (0, 0)
        fixed = self.policy.threshold if self.policy is not None else 0.0
        plan = calibration.search_plan(
            workers, templates, settings.face_fpir_target, self.fmr_model, fixed
        )
        largest = (
            calibration.largest_gallery(settings.face_fpir_target, self.fmr_model)
            if self.fmr_model is not None
            else None
        )
        return {
            "clock_id": clock_id,
            "mode": "1:1" if plan.one_to_one else "1:N",
            "searches": "assigned" if settings.search_assigned_only else "tenant",
            "workers": plan.workers,
            "templates": plan.templates,
            "threshold": round(plan.threshold, 4) if plan.threshold is not None else None,
            "fpir_target": plan.fpir_target,
            "max_templates": largest,
        }
