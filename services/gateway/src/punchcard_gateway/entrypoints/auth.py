"""Login (OAuth2 password form), refresh, and the current admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from punchcard_kit.http_errors import ErrorPublic

from ..domain.model import InvalidCredentials, InvalidRefreshToken
from ..service_layer import auth
from ..service_layer.auth import IssuedTokens
from .context import USER_AGENT_MAX
from .deps import AuditNoteDep, PrincipalDep, RequestIdDep, ServicesDep
from .schemas import LoginForm, MePublic, PasswordChange, RefreshRequest, TokenPublic

router = APIRouter(prefix="/api/v1", tags=["auth"])
UNAUTHENTICATED = {401: {"model": ErrorPublic}}
LOGIN_ERRORS = {
    401: {"model": ErrorPublic},
    429: {"model": ErrorPublic, "description": "too many failed logins (Retry-After)"},
    503: {"model": ErrorPublic},
}


def _token_response(issued: IssuedTokens, response: Response) -> TokenPublic:
    # RFC 6749 §5.1: token responses must not be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenPublic(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
    )


def _client(request: Request, request_id: str | None) -> auth.Client:
    agent = request.headers.get("user-agent")
    return auth.Client(
        ip=request.client.host if request.client else None,
        user_agent=agent[:USER_AGENT_MAX] if agent else None,
        request_id=request_id,
    )


@router.post("/auth/token", response_model=TokenPublic, responses=LOGIN_ERRORS)
async def login(
    form: Annotated[LoginForm, Depends()],
    s: ServicesDep,
    note: AuditNoteDep,
    rid: RequestIdDep,
    request: Request,
    response: Response,
) -> TokenPublic:
    """``username`` is the admin's e-mail. A wrong e-mail, a wrong password and a locked
    account get the same 401 with the same message, after the same amount of work; too many
    failures for the account or from the client get 429 with ``Retry-After``."""
    note.always = True
    client = _client(request, rid)
    try:
        issued = await auth.login(s, form.username, form.password, client)
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


@router.post("/auth/logout", status_code=204, response_class=Response)
async def logout(body: RefreshRequest, s: ServicesDep, note: AuditNoteDep) -> Response:
    """Sign-out: revokes the refresh token's whole family (this login's every token), so it
    can never be refreshed again. Always 204 (an unknown token has nothing to revoke); the
    access token in hand expires by itself within its lifetime."""
    known = await auth.logout(s, body.refresh_token)
    if known is not None:
        note.tenant_id, note.actor_id = known
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


@router.get("/me", response_model=MePublic, responses=UNAUTHENTICATED)
async def me(principal: PrincipalDep, s: ServicesDep) -> MePublic:
    return MePublic.of(await auth.current_user(s, principal), s.now())


@router.post(
    "/me/password",
    response_model=TokenPublic,
    responses={**UNAUTHENTICATED, 403: {"model": ErrorPublic}},
)
async def change_password(
    body: PasswordChange,
    principal: PrincipalDep,
    s: ServicesDep,
    rid: RequestIdDep,
    request: Request,
    response: Response,
) -> TokenPublic:
    """Changes your own password, given the current one (a wrong one: 403
    ``WRONG_PASSWORD``, field ``current_password``, counted as a failed login). Every session
    of yours ends, this one included; the answer is this session's new pair of tokens."""
    client = _client(request, rid)
    issued = await auth.change_own_password(
        s, principal, body.current_password, body.new_password, client
    )
    return _token_response(issued, response)
