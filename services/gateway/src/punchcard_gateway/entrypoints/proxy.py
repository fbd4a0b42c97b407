"""Everything under the proxied prefixes (domain.access: workers, reports, pin-policy →
identity; clocks, assignments, sites, a worker's clocks → device-sync) belongs to another
service: the gateway authenticates the admin, applies the role table, and forwards the request
to that service's ``/internal/v1/…`` with an internal caller token; its status and body come
back unchanged. Bodies are never logged nor audited, either way (PINs travel in requests,
clock credentials in responses). A clock updated, revoked or re-keyed through this replica is
forgotten by its kiosk edge at once (domain.kiosk.request_changes_clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from punchcard_kit.http_errors import error_response
from punchcard_kit.internal_auth import Caller
from starlette.convertors import PathConvertor, register_url_convertor

from ..adapters.upstream import UpstreamUnavailable
from ..domain.access import PROXIED_PREFIXES, UnsafePath, decide, is_upload, split_path
from ..domain.kiosk import request_changes_clock
from ..domain.model import Forbidden, NotFound
from .deps import AuditNoteDep, PrincipalDep, RequestIdDep, UpstreamsDep, container

# OPTIONS too: the service answers it (a 405 whose Allow names the path's methods); the proxy
# itself would name all of its own, which take every method for a whole prefix.
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Admin requests are small JSON documents: the kit's 64 KiB (MAX_JSON_BODY_BYTES) on every
# proxied route, except on their own paths: bulk assignments (up to 5,000 pairs of ids) and a
# face enrolment (up to 5 photos of up to 8 MiB each, with the multipart framing), which is
# streamed to face-match as it arrives, never held whole. Past its limit a body is refused with
# 413 before more is read (the declared Content-Length at once, a chunked body as it comes).
BULK_BODY_BYTES = 1024 * 1024
MAX_UPLOAD_BYTES = 41 * 1024 * 1024


class AnyPath(PathConvertor):
    """Starlette's ``path`` (``.*``) stops at a line feed, where ``{worker_id}`` does not: a
    path with ``%0A`` in an id matched a route of its own by path only and was a 405 for a
    method the resource has. The catch-all takes any character, so such a path is forwarded
    and refused where it is checked (``split_path``: 404, or the service's bounds)."""

    regex = "(?s:.*)"


register_url_convertor("anypath", AnyPath())
router = APIRouter(tags=["proxy"])
# What of a service's answer headers a client acts on: a 405's methods (RFC 9110), when to try
# a 429 or 503 again, a download's file name, a new resource's address, a keyed request that
# was made before (punch's corrections). No other header passes.
REPLAYED = "idempotent-replayed"
PASSED_HEADERS = ("allow", "retry-after", "content-disposition", "location", REPLAYED)


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
    # The route's max_body_size bounds what request.stream() yields (413 past it).
    if is_upload(path):
        body: bytes | AsyncIterator[bytes] = request.stream()
    else:
        body = await request.body()
    try:
        answer = await upstream.forward(
            method,
            segments,
            request.url.query,
            body,
            request.headers.get("content-type"),
            caller,
            idempotency_key=request.headers.get("idempotency-key"),
        )
    except UpstreamUnavailable:
        return error_response(503, "UPSTREAM_UNAVAILABLE", upstream.unavailable_message)
    if decision.target_id and request_changes_clock(method, decision.template, answer.status_code):
        # This replica's kiosk edge forgets the clock now; the others on its event.
        container(request).kiosk.clock_changed(caller.tenant_id, decision.target_id)
    passed = {name: answer.headers[name] for name in PASSED_HEADERS if name in answer.headers}
    # The audit row of a keyed correction sent again says so: one correction, not two.
    note.repeated = passed.get(REPLAYED) == "true"
    return Response(
        content=answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type"),
        # Some answers carry a secret shown once (a new clock's credential): never cached.
        headers={**passed, "cache-control": "no-store"},
    )


# Their own paths first (the first matching route serves a request).
router.add_api_route(
    "/api/v1/workers/{worker_id}/face",
    forward,
    methods=["PUT"],
    include_in_schema=False,
    max_body_size=MAX_UPLOAD_BYTES,
)
router.add_api_route(
    "/api/v1/assignments",
    forward,
    methods=["POST"],
    include_in_schema=False,
    max_body_size=BULK_BODY_BYTES,
)
for _prefix in PROXIED_PREFIXES:
    router.add_api_route(_prefix, forward, methods=METHODS, include_in_schema=False)
    router.add_api_route(
        _prefix + "/{rest:anypath}", forward, methods=METHODS, include_in_schema=False
    )
