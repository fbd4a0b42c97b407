"""Login (OAuth2 password form), refresh, and the current admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from ..domain.model import InvalidCredentials, InvalidRefreshToken
from ..service_layer import auth
from ..service_layer.auth import IssuedTokens
from .deps import AuditNoteDep, PrincipalDep, ServicesDep
from .errors import ErrorPublic
from .schemas import LoginForm, MePublic, RefreshRequest, TokenPublic

router = APIRouter(prefix="/api/v1", tags=["auth"])
UNAUTHENTICATED = {401: {"model": ErrorPublic}}


def _token_response(issued: IssuedTokens, response: Response) -> TokenPublic:
    # RFC 6749 §5.1: token responses must not be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenPublic(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
    )


@router.post("/auth/token", response_model=TokenPublic, responses=UNAUTHENTICATED)
async def login(
    form: Annotated[LoginForm, Depends()],
    s: ServicesDep,
    note: AuditNoteDep,
    response: Response,
) -> TokenPublic:
    """``username`` is the admin's e-mail. A wrong e-mail and a wrong password get the same
    401 with the same message, after the same amount of work."""
    note.always = True
    try:
        issued = await auth.login(s, form.username, form.password)
    except InvalidCredentials as error:
        note.tenant_id = error.tenant_id
        note.target_id = None if error.user_id is None else str(error.user_id)
        raise
    assert issued.user is not None
    note.tenant_id, note.actor_id = issued.user.tenant_id, issued.user.id
    return _token_response(issued, response)


@router.post("/auth/refresh", response_model=TokenPublic, responses=UNAUTHENTICATED)
async def refresh(
    body: RefreshRequest, s: ServicesDep, note: AuditNoteDep, response: Response
) -> TokenPublic:
    """Spends the refresh token and returns a new pair. Presenting a spent token again
    revokes every token descended from the same login."""
    note.always = True
    try:
        issued = await auth.refresh(s, body.refresh_token)
    except InvalidRefreshToken as error:
        note.tenant_id = error.tenant_id
        note.target_id = None if error.user_id is None else str(error.user_id)
        raise
    assert issued.user is not None
    note.tenant_id, note.actor_id = issued.user.tenant_id, issued.user.id
    return _token_response(issued, response)


@router.get("/me", response_model=MePublic, responses=UNAUTHENTICATED)
async def me(principal: PrincipalDep, s: ServicesDep) -> MePublic:
    return MePublic.of(await auth.current_user(s, principal))
