"""The tenant's own punch rules (``punch_settings``): for now one, the evidence policy —
"refuse PIN and card punches whose photo is not the worker's face" (``domain/evidence.py``,
off by default). Every admin role reads it; only a sysadmin changes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from punchcard_kit.access import require_role
from punchcard_kit.caller import Caller
from punchcard_kit.logging import get_logger

from .unit_of_work import UnitOfWork

log = get_logger(__name__)

READERS = ("sysadmin", "manager", "viewer")


@dataclass(frozen=True)
class PunchPolicy:
    refuse_unmatched_photos: bool
    # How long a verdict waits for its photo's check before it is decided without one (the
    # service's setting, the same for every tenant).
    evidence_wait: timedelta


@dataclass(frozen=True)
class SetPunchPolicy:
    caller: Caller
    refuse_unmatched_photos: bool


async def punch_policy(caller: Caller, uow: UnitOfWork, evidence_wait: timedelta) -> PunchPolicy:
    require_role(caller, *READERS)
    async with uow:
        on = await uow.settings.refuse_unmatched_photos()
    return PunchPolicy(on, evidence_wait)


async def set_punch_policy(
    command: SetPunchPolicy, uow: UnitOfWork, evidence_wait: timedelta
) -> PunchPolicy:
    require_role(command.caller, "sysadmin")
    async with uow:
        await uow.settings.set_refuse_unmatched_photos(
            command.refuse_unmatched_photos, command.caller.user_id
        )
        await uow.commit()
    log.info(
        "punch policy changed",
        refuse_unmatched_photos=command.refuse_unmatched_photos,
        admin_id=command.caller.user_id,
    )
    return PunchPolicy(command.refuse_unmatched_photos, evidence_wait)
