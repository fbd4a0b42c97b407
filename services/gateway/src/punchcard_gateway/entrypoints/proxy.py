"""Everything under the proxied prefixes (domain.access: workers, reports, pin-policy →
identity; clocks, assignments, sites, a worker's clocks → device-sync) belongs to another
service: the gateway authenticates the admin, applies the role table, and forwards the request
to that service's ``/internal/v1/…`` with an internal caller token; its status and body come
back unchanged. Bodies are never logged nor audited, either way (PINs travel in requests,
clock credentials in responses)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from punchcard_kit.internal_auth import Caller

from ..adapters.upstream import UpstreamUnavailable
from ..domain.access import PROXIED_PREFIXES, UnsafePath, decide, is_upload, split_path
from ..domain.model import Forbidden, NotFound
from .deps import AuditNoteDep, PrincipalDep, RequestIdDep, UpstreamsDep
from .errors import error_response

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Admin requests are small JSON documents; anything bigger is refused before it is read whole.
MAX_BODY_BYTES = 1024 * 1024
# Face enrolment photos: up to 5 of up to 8 MiB each, with the multipart framing.
MAX_UPLOAD_BYTES = 41 * 1024 * 1024

router = APIRouter(tags=["proxy"])


async def forward(
    request: Request,
    principal: PrincipalDep,
    upstreams: UpstreamsDep,
    note: AuditNoteDep,
    rid: RequestIdDep,
) -> Response:
    method = request.method
    path = request.scope["path"]
    try:
        decision = decide(method, path)
        segments = split_path(path)[2:]  # after api/v1
    except UnsafePath:
        raise NotFound("no such resource") from None
    note.template, note.target_id = decision.template, decision.target_id
    if decision.upstream is None:  # every proxied prefix has a route; never forward blind
        raise NotFound("no such resource")
    upstream = upstreams[decision.upstream]
    if not decision.allows(principal.role):
        raise Forbidden("your role does not allow this")
    client = request.client
    caller = Caller(
        tenant_id=str(principal.tenant_id),
        user_id=str(principal.user_id),
        role=principal.role.value,
        sites=principal.sites,
        ip=client.host if client else None,
        request_id=rid,
    )
    limit = MAX_UPLOAD_BYTES if is_upload(path) else MAX_BODY_BYTES
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return error_response(413, "TOO_LARGE", "the request body is too large")
    try:
        answer = await upstream.forward(
            method,
            segments,
            request.url.query,
            bytes(body),
            request.headers.get("content-type"),
            caller,
        )
    except UpstreamUnavailable:
        return error_response(503, "UPSTREAM_UNAVAILABLE", upstream.unavailable_message)
    return Response(
        content=answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type"),
        # Some answers carry a secret shown once (a new clock's credential): never cached.
        headers={"cache-control": "no-store"},
    )


for _prefix in PROXIED_PREFIXES:
    router.add_api_route(_prefix, forward, methods=METHODS, include_in_schema=False)
    router.add_api_route(
        _prefix + "/{rest:path}", forward, methods=METHODS, include_in_schema=False
    )
