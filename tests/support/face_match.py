"""Driving face-match's enrolment API in tests."""

from __future__ import annotations

import httpx

from .messaging import wait_for
from .services import ServiceProcess


async def known_worker(face_match: ServiceProcess, tenant_id: str, worker_id: str) -> None:
    """Wait until face-match's projection has the worker (its status answers, not 404)."""
    async with face_match.admin(tenant_id) as http:

        async def known():
            return (await http.get(f"/workers/{worker_id}/face")).status_code == 200

        await wait_for(known, timeout=30, what="face-match to know the worker")


async def enrol(
    face_match: ServiceProcess,
    tenant_id: str,
    worker_id: str,
    *photos: bytes,
    role="sysadmin",
    sites: tuple[str, ...] = (),
    confirm_lookalike: bool = False,
) -> httpx.Response:
    async with face_match.admin(tenant_id, role, sites) as http:
        return await http.put(
            f"/workers/{worker_id}/face",
            files=[("photos", (f"photo{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos)],
            data={"confirm_lookalike": "true"} if confirm_lookalike else None,
        )


async def searchable(face_match: ServiceProcess, tenant_id: str, worker_id: str) -> dict:
    """Wait until this replica's gallery holds the worker's current templates (enrolment
    events reach every replica through Kafka); returns the enrolment status."""
    async with face_match.admin(tenant_id) as http:

        async def present():
            status = (await http.get(f"/workers/{worker_id}/face")).json()
            return status if status.get("in_gallery") else None

        return await wait_for(present, timeout=30, what="the gallery to hold the worker")


async def enrol_at_gateway(
    admin: httpx.AsyncClient,
    worker_id: str,
    *photos: tuple[str, bytes],
    searchable: bool = True,
    timeout: float = 60,
) -> httpx.Response:
    """``PUT /api/v1/workers/{id}/face`` through the gateway (``admin``: a signed-in admin's
    client) with these (filename, JPEG) photos, sent again while face-match has not heard of
    the worker yet (404); then, if ``searchable``, wait until face-match's gallery holds the
    enrolment. Returns the enrolment's answer, asserted 200."""

    async def enrolled():
        answer = await admin.put(
            f"/workers/{worker_id}/face",
            files=[("photos", (name, content, "image/jpeg")) for name, content in photos],
        )
        return None if answer.status_code == 404 else answer

    answer = await wait_for(enrolled, timeout=timeout, what="face-match to know the worker")
    assert answer.status_code == 200, answer.text
    if searchable:

        async def in_gallery():
            return (await admin.get(f"/workers/{worker_id}/face")).json()["in_gallery"]

        await wait_for(in_gallery, timeout=timeout, what="the enrolment in face-match's gallery")
    return answer
