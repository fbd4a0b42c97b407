"""PostgreSQL: templates, kept photos, tenant face settings, and the projections of workers and
clock assignments. Every function runs inside a transaction that entered the tenant
(``enter_tenant`` with ``APP_ROLE``); each query filters by tenant as well."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import numpy as np

# The database's own application role, `<database>_app` (punchcard_kit.tenancy.ROLE_NAME).
APP_ROLE = "app"


@dataclass(frozen=True)
class StoredTemplate:
    template_id: str
    embedding: np.ndarray
    quality: float
    face_px: int
    created_at: datetime
    photo_kept: bool = False


@dataclass(frozen=True)
class TemplateSet:
    worker_id: str
    model_name: str
    dims: int
    revision: int
    updated_at: datetime
    templates: list[StoredTemplate]


@dataclass(frozen=True)
class NewTemplate:
    embedding: np.ndarray
    quality: float
    face_px: int
    photo: bytes | None = None
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class FaceSettings:
    keep_photos: bool = False
    search_assigned_only: bool = False


async def replace_templates(
    conn: asyncpg.Connection,
    tenant_id: str,
    worker_id: str,
    model_name: str,
    templates: list[NewTemplate],
) -> TemplateSet:
    """The worker's whole set becomes ``templates`` (photos included where given)."""
    dims = int(templates[0].embedding.shape[0])
    revision = await conn.fetchval(
        """
        INSERT INTO template_sets (tenant_id, worker_id, model_name, dims, revision)
        VALUES ($1, $2, $3, $4, 1)
        ON CONFLICT (tenant_id, worker_id) DO UPDATE
            SET model_name = EXCLUDED.model_name, dims = EXCLUDED.dims,
                revision = template_sets.revision + 1, updated_at = now()
        RETURNING revision
        """,
        tenant_id,
        worker_id,
        model_name,
        dims,
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
    found = await get_templates(conn, tenant_id, worker_id)
    assert found is not None and found.revision == revision
    return found


async def delete_templates(conn: asyncpg.Connection, tenant_id: str, worker_id: str) -> int | None:
    """Removes the worker's templates and photos. Returns the set's new revision, or None when
    the worker had no templates (nothing to delete, nothing to publish)."""
    deleted = await conn.fetchval(
        """
        WITH gone AS (
            DELETE FROM templates WHERE tenant_id = $1 AND worker_id = $2 RETURNING 1
        ) SELECT count(*) FROM gone
        """,
        tenant_id,
        worker_id,
    )
    if not deleted:
        return None
    return await conn.fetchval(
        """
        UPDATE template_sets SET revision = revision + 1, updated_at = now()
        WHERE tenant_id = $1 AND worker_id = $2 RETURNING revision
        """,
        tenant_id,
        worker_id,
    )


async def get_templates(
    conn: asyncpg.Connection, tenant_id: str, worker_id: str
) -> TemplateSet | None:
    head = await conn.fetchrow(
        "SELECT model_name, dims, revision, updated_at FROM template_sets"
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


async def enrolled_workers(
    conn: asyncpg.Connection, tenant_id: str, sites: Sequence[str] | None = None
) -> list[asyncpg.Record]:
    """The tenant's enrolled workers (``sites``: only the workers of these sites)."""
    return await conn.fetch(
        """
        SELECT worker_id, model_name, count(*) AS template_count, max(created_at) AS enrolled_at
        FROM templates WHERE tenant_id = $1
          AND ($2::text[] IS NULL OR worker_id IN (
                SELECT id FROM workers WHERE tenant_id = $1 AND site_id = ANY($2)))
        GROUP BY worker_id, model_name ORDER BY worker_id
        """,
        tenant_id,
        list(sites) if sites is not None else None,
    )


async def get_settings(conn: asyncpg.Connection, tenant_id: str) -> FaceSettings:
    row = await conn.fetchrow(
        "SELECT keep_photos, search_assigned_only FROM face_settings WHERE tenant_id = $1",
        tenant_id,
    )
    return FaceSettings(**dict(row)) if row else FaceSettings()


async def put_settings(conn: asyncpg.Connection, tenant_id: str, settings: FaceSettings) -> None:
    await conn.execute(
        """
        INSERT INTO face_settings (tenant_id, keep_photos, search_assigned_only)
        VALUES ($1, $2, $3)
        ON CONFLICT (tenant_id) DO UPDATE
            SET keep_photos = EXCLUDED.keep_photos,
                search_assigned_only = EXCLUDED.search_assigned_only, updated_at = now()
        """,
        tenant_id,
        settings.keep_photos,
        settings.search_assigned_only,
    )


async def drop_photos(conn: asyncpg.Connection, tenant_id: str) -> int:
    """Turning keep_photos off deletes the photos already kept."""
    result = await conn.execute("DELETE FROM photos WHERE tenant_id = $1", tenant_id)
    return int(result.split()[-1])


# -- projections --------------------------------------------------------------------------------
async def upsert_worker(
    conn: asyncpg.Connection,
    tenant_id: str,
    worker_id: str,
    employee_id: str | None,
    status: str | None,
    site_id: str | None = None,
) -> None:
    """``None`` keeps what is known (an update without that field)."""
    await conn.execute(
        """
        INSERT INTO workers (tenant_id, id, employee_id, status, site_id)
        VALUES ($1, $2, coalesce($3, ''), coalesce($4, 'Pending'), $5)
        ON CONFLICT (tenant_id, id) DO UPDATE
            SET employee_id = coalesce($3, workers.employee_id),
                status = coalesce($4, workers.status),
                site_id = coalesce($5, workers.site_id), updated_at = now()
        """,
        tenant_id,
        worker_id,
        employee_id,
        status,
        site_id,
    )


async def get_worker(conn: asyncpg.Connection, tenant_id: str, worker_id: str):
    return await conn.fetchrow(
        "SELECT id, employee_id, status, site_id FROM workers WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        worker_id,
    )


async def worker_by_employee_id(conn: asyncpg.Connection, tenant_id: str, employee_id: str):
    return await conn.fetchrow(
        "SELECT id, employee_id, status FROM workers WHERE tenant_id = $1 AND employee_id = $2",
        tenant_id,
        employee_id,
    )


async def assigned_workers(conn: asyncpg.Connection, tenant_id: str, clock_id: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT worker_id FROM assignments WHERE tenant_id = $1 AND clock_id = $2",
        tenant_id,
        clock_id,
    )
    return {str(r["worker_id"]) for r in rows}
