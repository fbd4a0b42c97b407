"""PostgreSQL: templates, kept photos, tenant face settings, and the projections of workers and
clock assignments, as repositories of the unit of work (``PostgresUnitOfWork``: the kit's
tenant transaction under row-level security, with the outbox). Each query filters by tenant
as well."""

from __future__ import annotations

import uuid

import asyncpg
import numpy as np
from punchcard_kit.assignments import AssignmentChange, apply_assignment
from punchcard_kit.credentials import employee_id_key
from punchcard_kit.unit_of_work import TenantUnitOfWork

from ..domain.liveness import LivenessMode
from ..domain.model import (
    EvidencePhoto,
    FaceSettings,
    NewTemplate,
    StoredTemplate,
    TemplateSet,
    Worker,
    WorkerStatus,
)

# The database's own application role, `<database>_app` (punchcard_kit.tenancy.ROLE_NAME).
APP_ROLE = "app"

__all__ = [
    "APP_ROLE",
    "FaceSettings",
    "NewTemplate",
    "PostgresUnitOfWork",
    "StoredTemplate",
    "TemplateSet",
    "unit_of_work_factory",
]


class _Repository:
    def __init__(self, conn: asyncpg.Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id


class PostgresTemplates(_Repository):
    async def replace(
        self,
        worker_id: str,
        model_name: str,
        templates: list[NewTemplate],
        *,
        verify_one_to_one: bool = False,
    ) -> TemplateSet:
        """The worker's whole set becomes ``templates`` (photos included where given)."""
        conn, tenant_id = self.conn, self.tenant_id
        dims = int(templates[0].embedding.shape[0])
        revision = await conn.fetchval(
            """
            INSERT INTO template_sets
                (tenant_id, worker_id, model_name, dims, revision, verify_one_to_one)
            VALUES ($1, $2, $3, $4, 1, $5)
            ON CONFLICT (tenant_id, worker_id) DO UPDATE
                SET model_name = EXCLUDED.model_name, dims = EXCLUDED.dims,
                    verify_one_to_one = EXCLUDED.verify_one_to_one,
                    revision = template_sets.revision + 1, updated_at = now()
            RETURNING revision
            """,
            tenant_id,
            worker_id,
            model_name,
            dims,
            verify_one_to_one,
        )
        await conn.execute(
            "DELETE FROM templates WHERE tenant_id = $1 AND worker_id = $2", tenant_id, worker_id
        )
        rows = [
            (
                tenant_id,
                worker_id,
                uuid.uuid4(),
                model_name,
                dims,
                np.asarray(t.embedding, dtype="<f4").tobytes(),
                float(t.quality),
                int(t.face_px),
            )
            for t in templates
        ]
        await conn.executemany(
            """
            INSERT INTO templates
                (tenant_id, worker_id, template_id, model_name, dims, embedding, quality, face_px)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            rows,
        )
        photos = [
            (tenant_id, row[2], t.content_type, t.photo)
            for row, t in zip(rows, templates, strict=True)
            if t.photo is not None
        ]
        if photos:
            await conn.executemany(
                "INSERT INTO photos (tenant_id, template_id, content_type, content)"
                " VALUES ($1, $2, $3, $4)",
                photos,
            )
        found = await self.get(worker_id)
        assert found is not None and found.revision == revision
        return found

    async def delete(self, worker_id: str) -> int | None:
        """Removes the worker's templates and photos. Returns the set's new revision, or None
        when the worker had no templates (nothing to delete, nothing to publish)."""
        deleted = await self.conn.fetchval(
            """
            WITH gone AS (
                DELETE FROM templates WHERE tenant_id = $1 AND worker_id = $2 RETURNING 1
            ) SELECT count(*) FROM gone
            """,
            self.tenant_id,
            worker_id,
        )
        if not deleted:
            return None
        return await self.conn.fetchval(
            """
            UPDATE template_sets SET revision = revision + 1, updated_at = now()
            WHERE tenant_id = $1 AND worker_id = $2 RETURNING revision
            """,
            self.tenant_id,
            worker_id,
        )

    async def verify_one_to_one(self, worker_id: str) -> TemplateSet | None:
        """Marks the worker's enrolled set as a confirmed lookalike's (a new revision, to be
        republished); None when they hold no templates or were marked already."""
        marked = await self.conn.fetchval(
            """
            UPDATE template_sets SET verify_one_to_one = true, revision = revision + 1,
                                     updated_at = now()
            WHERE tenant_id = $1 AND worker_id = $2 AND NOT verify_one_to_one
              AND EXISTS (SELECT 1 FROM templates t
                          WHERE t.tenant_id = $1 AND t.worker_id = $2)
            RETURNING revision
            """,
            self.tenant_id,
            worker_id,
        )
        return None if marked is None else await self.get(worker_id)

    async def get(self, worker_id: str) -> TemplateSet | None:
        conn, tenant_id = self.conn, self.tenant_id
        head = await conn.fetchrow(
            "SELECT model_name, dims, revision, updated_at, verify_one_to_one FROM template_sets"
            " WHERE tenant_id = $1 AND worker_id = $2",
            tenant_id,
            worker_id,
        )
        if head is None:
            return None
        rows = await conn.fetch(
            """
            SELECT t.template_id, t.embedding, t.quality, t.face_px, t.created_at,
                   p.template_id IS NOT NULL AS photo_kept
            FROM templates t
            LEFT JOIN photos p ON p.tenant_id = t.tenant_id AND p.template_id = t.template_id
            WHERE t.tenant_id = $1 AND t.worker_id = $2
            ORDER BY t.created_at, t.template_id
            """,
            tenant_id,
            worker_id,
        )
        return TemplateSet(
            worker_id=str(worker_id),
            model_name=head["model_name"],
            dims=head["dims"],
            revision=head["revision"],
            updated_at=head["updated_at"],
            verify_one_to_one=head["verify_one_to_one"],
            templates=[
                StoredTemplate(
                    template_id=str(r["template_id"]),
                    embedding=np.frombuffer(r["embedding"], dtype="<f4"),
                    quality=float(r["quality"]),
                    face_px=r["face_px"],
                    created_at=r["created_at"],
                    photo_kept=r["photo_kept"],
                )
                for r in rows
            ],
        )


class PostgresSettings(_Repository):
    async def get(self) -> FaceSettings:
        row = await self.conn.fetchrow(
            "SELECT keep_photos, search_assigned_only, face_fpir_target, liveness_mode,"
            " liveness_max_screen, liveness_min_motion, evidence_photos, evidence_retention_days"
            " FROM face_settings WHERE tenant_id = $1",
            self.tenant_id,
        )
        if not row:
            return FaceSettings()
        values = dict(row)
        values["liveness_mode"] = LivenessMode(values["liveness_mode"])
        return FaceSettings(**values)

    async def put(self, settings: FaceSettings) -> None:
        await self.conn.execute(
            """
            INSERT INTO face_settings
                (tenant_id, keep_photos, search_assigned_only, face_fpir_target,
                 liveness_mode, liveness_max_screen, liveness_min_motion,
                 evidence_photos, evidence_retention_days)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (tenant_id) DO UPDATE
                SET keep_photos = EXCLUDED.keep_photos,
                    search_assigned_only = EXCLUDED.search_assigned_only,
                    face_fpir_target = EXCLUDED.face_fpir_target,
                    liveness_mode = EXCLUDED.liveness_mode,
                    liveness_max_screen = EXCLUDED.liveness_max_screen,
                    liveness_min_motion = EXCLUDED.liveness_min_motion,
                    evidence_photos = EXCLUDED.evidence_photos,
                    evidence_retention_days = EXCLUDED.evidence_retention_days,
                    updated_at = now()
            """,
            self.tenant_id,
            settings.keep_photos,
            settings.search_assigned_only,
            settings.face_fpir_target,
            str(settings.liveness_mode),
            settings.liveness_max_screen,
            settings.liveness_min_motion,
            settings.evidence_photos,
            settings.evidence_retention_days,
        )

    async def drop_photos(self) -> int:
        """Turning keep_photos off deletes the photos already kept."""
        result = await self.conn.execute("DELETE FROM photos WHERE tenant_id = $1", self.tenant_id)
        return int(result.split()[-1])


# -- evidence photos ----------------------------------------------------------------------------
_EVIDENCE_COLUMNS = (
    "attempt_id::text, clock_id::text, method, worker_id::text, photo, kept_at, expires_at,"
    " check_outcome, distance, threshold"
)


class PostgresEvidence(_Repository):
    async def get(self, attempt_id: str) -> EvidencePhoto | None:
        row = await self.conn.fetchrow(
            f"SELECT {_EVIDENCE_COLUMNS} FROM evidence_photos"
            " WHERE tenant_id = $1 AND attempt_id = $2",
            self.tenant_id,
            attempt_id,
        )
        if row is None:
            return None
        return EvidencePhoto(
            attempt_id=row["attempt_id"],
            clock_id=row["clock_id"],
            method=row["method"],
            worker_id=row["worker_id"],
            sealed=row["photo"],
            kept_at=row["kept_at"],
            expires_at=row["expires_at"],
            check=row["check_outcome"],
            distance=row["distance"],
            threshold=row["threshold"],
        )

    async def put_photo(
        self, attempt_id, clock_id, method, sealed, size, kept_at, expires_at, worker_id=None
    ) -> None:
        await self.conn.execute(
            """
            INSERT INTO evidence_photos (tenant_id, attempt_id, clock_id, method, worker_id,
                                         photo, photo_bytes, kept_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (tenant_id, attempt_id) DO UPDATE
                SET photo = EXCLUDED.photo, photo_bytes = EXCLUDED.photo_bytes,
                    kept_at = EXCLUDED.kept_at, expires_at = EXCLUDED.expires_at,
                    clock_id = coalesce(evidence_photos.clock_id, EXCLUDED.clock_id),
                    method = coalesce(evidence_photos.method, EXCLUDED.method),
                    worker_id = coalesce(evidence_photos.worker_id, EXCLUDED.worker_id)
            """,
            self.tenant_id,
            attempt_id,
            clock_id,
            method,
            worker_id,
            sealed,
            size,
            kept_at,
            expires_at,
        )

    async def note_worker(self, attempt_id, worker_id, method, clock_id, expires_at) -> None:
        await self.conn.execute(
            """
            INSERT INTO evidence_photos (tenant_id, attempt_id, clock_id, method, worker_id,
                                         expires_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (tenant_id, attempt_id) DO UPDATE
                SET worker_id = EXCLUDED.worker_id, method = EXCLUDED.method,
                    clock_id = coalesce(evidence_photos.clock_id, EXCLUDED.clock_id)
            """,
            self.tenant_id,
            attempt_id,
            clock_id or None,
            method,
            worker_id,
            expires_at,
        )

    async def record_check(self, attempt_id, check, distance, threshold) -> None:
        await self.conn.execute(
            "UPDATE evidence_photos SET check_outcome = $3, distance = $4, threshold = $5"
            " WHERE tenant_id = $1 AND attempt_id = $2",
            self.tenant_id,
            attempt_id,
            check,
            distance,
            threshold,
        )

    async def delete(self, attempt_id: str) -> bool:
        result = await self.conn.execute(
            "DELETE FROM evidence_photos WHERE tenant_id = $1 AND attempt_id = $2",
            self.tenant_id,
            attempt_id,
        )
        return result.split()[-1] != "0"

    async def delete_worker(self, worker_id: str) -> int:
        result = await self.conn.execute(
            "DELETE FROM evidence_photos WHERE tenant_id = $1 AND worker_id = $2",
            self.tenant_id,
            worker_id,
        )
        return int(result.split()[-1])

    async def delete_all(self) -> int:
        result = await self.conn.execute(
            "DELETE FROM evidence_photos WHERE tenant_id = $1", self.tenant_id
        )
        return int(result.split()[-1])

    async def retime(self, retention_days: int) -> None:
        await self.conn.execute(
            "UPDATE evidence_photos SET expires_at = kept_at + make_interval(days => $2)"
            " WHERE tenant_id = $1 AND kept_at IS NOT NULL",
            self.tenant_id,
            retention_days,
        )


async def sweep_expired_evidence(pool: asyncpg.Pool, limit: int = 10_000) -> int:
    """Deletes expired evidence photos of every tenant (the table's ``evidence_sweep`` policy
    lets this transaction see those rows, and only those); how many."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL app.evidence_sweep = 'on'")
        result = await conn.execute(
            """
            DELETE FROM evidence_photos WHERE ctid IN (
                SELECT ctid FROM evidence_photos WHERE expires_at <= now() LIMIT $1)
            """,
            limit,
        )
    return int(result.split()[-1])


# -- projections --------------------------------------------------------------------------------
def _worker(row: asyncpg.Record | None) -> Worker | None:
    if row is None:
        return None
    return Worker(
        id=str(row["id"]),
        employee_id=row["employee_id"],
        status=WorkerStatus(row["status"]),
        site_id=row.get("site_id"),
    )


class PostgresWorkers(_Repository):
    async def upsert(
        self,
        worker_id: str,
        employee_id: str | None,
        status: WorkerStatus | None,
        site_id: str | None = None,
    ) -> None:
        """``None`` keeps what is known (an update without that field)."""
        await self.conn.execute(
            """
            INSERT INTO workers (tenant_id, id, employee_id, status, site_id)
            VALUES ($1, $2, coalesce($3, ''), coalesce($4, 'Pending'), $5)
            ON CONFLICT (tenant_id, id) DO UPDATE
                SET employee_id = coalesce($3, workers.employee_id),
                    status = coalesce($4, workers.status),
                    site_id = coalesce($5, workers.site_id), updated_at = now()
            """,
            self.tenant_id,
            worker_id,
            employee_id,
            status.value if status is not None else None,
            site_id,
        )

    async def get(self, worker_id: str) -> Worker | None:
        return _worker(
            await self.conn.fetchrow(
                "SELECT id, employee_id, status, site_id FROM workers"
                " WHERE tenant_id = $1 AND id = $2",
                self.tenant_id,
                worker_id,
            )
        )

    async def lock(self, worker_id: str) -> None:
        await self.conn.execute(
            "SELECT 1 FROM workers WHERE tenant_id = $1 AND id = $2 FOR SHARE",
            self.tenant_id,
            worker_id,
        )

    async def by_employee_id(self, employee_id: str) -> Worker | None:
        """The worker whose Employee ID this is, in any case (``employee_id_key``; unique per
        tenant in identity, so one row once the projection has caught up)."""
        return _worker(
            await self.conn.fetchrow(
                "SELECT id, employee_id, status FROM workers"
                " WHERE tenant_id = $1 AND employee_key = $2"  # leakproof: the index serves it
                " ORDER BY employee_id = $3 DESC LIMIT 1",
                self.tenant_id,
                employee_id_key(employee_id),
                employee_id,
            )
        )


class PostgresAssignments(_Repository):
    async def workers_of(self, clock_id: str) -> set[str]:
        rows = await self.conn.fetch(
            "SELECT worker_id FROM assignments WHERE tenant_id = $1 AND clock_id = $2",
            self.tenant_id,
            clock_id,
        )
        return {str(r["worker_id"]) for r in rows}

    async def apply(self, change: AssignmentChange) -> None:
        await apply_assignment(self.conn, "assignments", change)


class PostgresUnitOfWork(TenantUnitOfWork):
    """One tenant's transaction (the kit's, with the outbox) and face-match's repositories."""

    role = APP_ROLE

    def _bind(self, conn: asyncpg.Connection) -> None:
        tenant_id = str(self.tenant_id)
        self.templates = PostgresTemplates(conn, tenant_id)
        self.workers = PostgresWorkers(conn, tenant_id)
        self.assignments = PostgresAssignments(conn, tenant_id)
        self.settings = PostgresSettings(conn, tenant_id)
        self.evidence = PostgresEvidence(conn, tenant_id)


def unit_of_work_factory(pool: asyncpg.Pool):
    """Opens a unit of work for a tenant on the pool (service_layer UnitOfWorkFactory)."""

    def open_unit(tenant_id: str) -> PostgresUnitOfWork:
        return PostgresUnitOfWork.on_pool(pool, tenant_id)

    return open_unit
