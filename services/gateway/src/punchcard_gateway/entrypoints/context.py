"""Per-request context of the admin API: the request id (``X-Request-Id``, taken from the
client when well-formed, otherwise new; echoed on the response) and the audit log.

Every request under ``/api/`` that changes something (POST, PUT, PATCH, DELETE) by an
authenticated admin, and every login or refresh attempt, is recorded: tenant, actor, action
(method and route template, e.g. ``PUT /api/v1/workers/{id}/pin``), target id, status code,
client IP, user agent, request id, time, and whether the service answered a keyed request sent
again (``repeated``: its ``Idempotent-Replayed: true``, nothing changed). Never the body. The
row is written before the last byte of the response leaves, so a client that has its answer
can already read the row.
Requests without valid credentials change nothing and are not recorded (they would only let
anyone fill the table)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from punchcard_kit.logging import correlation, get_logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..domain.model import AuditEntry
from ..service_layer import audit

log = get_logger(__name__)

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOTE_KEY = "punchcard.audit"
REQUEST_ID_KEY = "punchcard.request_id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
USER_AGENT_MAX = 512


@dataclass
class AuditNote:
    """What the route learnt about the request, for its audit row."""

    tenant_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    target_id: str | None = None
    template: str | None = None
    # Login and refresh attempts are recorded even though no one is authenticated.
    always: bool = False
    # The service answered a keyed request sent again (nothing changed now).
    repeated: bool = False


def audit_note(scope: Scope) -> AuditNote:
    """The request's note; a throw-away one for requests that are not audited."""
    return scope.get(NOTE_KEY) or AuditNote()


def request_id(scope: Scope) -> str:
    return scope.get(REQUEST_ID_KEY) or str(uuid.uuid4())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _REQUEST_ID.match(given) else str(uuid.uuid4())
        scope[REQUEST_ID_KEY] = rid
        audited = scope["method"] in AUDITED_METHODS
        note = AuditNote()
        if audited:
            scope[NOTE_KEY] = note
        status = 500
        recorded = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, recorded
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (b"x-request-id", rid.encode())],
                }
            elif (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and audited
                and not recorded
            ):
                recorded = True
                await self._record(scope, note, status, rid)
            await send(message)

        with correlation(rid):
            try:
                await self.app(scope, receive, send_wrapper)
            except Exception:
                if audited and not recorded:
                    recorded = True
                    await self._record(scope, note, 500, rid)
                raise

    async def _record(self, scope: Scope, note: AuditNote, status: int, rid: str) -> None:
        if note.actor_id is None and not note.always:
            return
        route = scope.get("route")
        template = note.template or getattr(route, "path", None) or scope["path"]
        target = note.target_id
        if target is None:
            target = (scope.get("path_params") or {}).get("id")
        client = scope.get("client")
        agent = _header(scope, b"user-agent")
        entry = AuditEntry(
            tenant_id=note.tenant_id,
            actor_id=note.actor_id,
            action=f"{scope['method']} {template}",
            target_id=None if target is None else str(target),
            status_code=status,
            client_ip=client[0] if client else None,
            user_agent=agent[:USER_AGENT_MAX] if agent else None,
            request_id=rid,
            repeated=note.repeated,
        )
        try:
            await audit.record(scope["app"].state.gateway.services, entry)
        except Exception:  # noqa: BLE001 - the change is done; losing its row must be loud
            log.exception("audit log write failed", action=entry.action, status=status)
