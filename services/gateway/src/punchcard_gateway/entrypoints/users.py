"""Admin users of the caller's tenant (sysadmins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from punchcard_kit.bounds import Offset
from punchcard_kit.http_errors import ErrorPublic

from .. import views
from ..service_layer import users as uc
from .deps import ServicesDep, SysadminDep
from .schemas import PasswordSet, UserCreate, UserPublic, UsersPublic, UserUpdate

router = APIRouter(
    prefix="/api/v1/users",
    tags=["users"],
    responses={401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}},
)


@router.get("", response_model=UsersPublic)
async def list_users(
    caller: SysadminDep,
    s: ServicesDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UsersPublic:
    rows, count = await views.list_users(s, caller, offset, limit)
    return UsersPublic(data=[UserPublic.of(u, s.now()) for u in rows], count=count)


@router.post(
    "", response_model=UserPublic, status_code=201, responses={409: {"model": ErrorPublic}}
)
async def create_user(body: UserCreate, caller: SysadminDep, s: ServicesDep) -> UserPublic:
    command = uc.CreateUser(
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        site_ids=tuple(body.site_ids),
    )
    return UserPublic.of(await uc.create_user(s, caller, command), s.now())


@router.get("/{id}", response_model=UserPublic, responses={404: {"model": ErrorPublic}})
async def get_user(id: uuid.UUID, caller: SysadminDep, s: ServicesDep) -> UserPublic:
    return UserPublic.of(await views.get_user(s, caller, id), s.now())


@router.patch("/{id}", response_model=UserPublic, responses={404: {"model": ErrorPublic}})
async def update_user(
    id: uuid.UUID, body: UserUpdate, caller: SysadminDep, s: ServicesDep
) -> UserPublic:
    command = uc.UpdateUser(
        name=body.name,
        role=body.role,
        site_ids=None if body.site_ids is None else tuple(body.site_ids),
        active=body.active,
    )
    return UserPublic.of(await uc.update_user(s, caller, id, command), s.now())


@router.post("/{id}/password", response_model=UserPublic, responses={404: {"model": ErrorPublic}})
async def set_password(
    id: uuid.UUID, body: PasswordSet, caller: SysadminDep, s: ServicesDep
) -> UserPublic:
    """Gives another admin a new password (one who forgot theirs): their login lock goes and
    every session of theirs ends. Your own is changed with the current one: ``POST
    /api/v1/me/password`` (here, 403 ``OWN_ACCOUNT``)."""
    return UserPublic.of(await uc.set_password(s, caller, id, body.password), s.now())


@router.post("/{id}/unlock", response_model=UserPublic, responses={404: {"model": ErrorPublic}})
async def unlock_user(id: uuid.UUID, caller: SysadminDep, s: ServicesDep) -> UserPublic:
    """Lifts the lock that repeated failed logins put on an admin (audited like every
    change: ``POST /api/v1/users/{id}/unlock``)."""
    return UserPublic.of(await uc.unlock_user(s, caller, id), s.now())
