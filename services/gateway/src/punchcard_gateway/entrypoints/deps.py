"""Dependencies of the admin API routes, as Annotated aliases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from ..adapters.upstream import Upstream
from ..bootstrap import GatewayContainer
from ..domain.model import SYSADMIN_ONLY, Forbidden, Principal, Role, Unauthenticated
from ..service_layer.services import Services
from .context import AuditNote, audit_note, request_id


def container(request: Request) -> GatewayContainer:
    """The gateway's container (bootstrap.py), built when the service started."""
    return request.app.state.gateway


def _services(request: Request) -> Services:
    return container(request).services


def _upstreams(request: Request) -> Mapping[str, Upstream]:
    return container(request).upstreams


def _note(request: Request) -> AuditNote:
    return audit_note(request.scope)


def _request_id(request: Request) -> str:
    return request_id(request.scope)


ServicesDep = Annotated[Services, Depends(_services)]
UpstreamsDep = Annotated[Mapping[str, Upstream], Depends(_upstreams)]
AuditNoteDep = Annotated[AuditNote, Depends(_note)]
RequestIdDep = Annotated[str, Depends(_request_id)]

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def _principal(
    s: ServicesDep, note: AuditNoteDep, token: Annotated[str | None, Depends(bearer)]
) -> Principal:
    if not token:
        raise Unauthenticated("missing bearer token")
    principal = s.access_tokens.verify(token)
    note.tenant_id, note.actor_id = principal.tenant_id, principal.user_id
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal)]


def require_role(roles: frozenset[Role]):
    async def check(principal: PrincipalDep) -> Principal:
        if not principal.is_one_of(roles):
            raise Forbidden("your role does not allow this")
        return principal

    return check


SysadminDep = Annotated[Principal, Depends(require_role(SYSADMIN_ONLY))]
