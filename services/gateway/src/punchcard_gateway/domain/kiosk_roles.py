"""What a worker's clock role lets them do at a kiosk app (Timeco's User / Manager /
Administrator, per worker and clock; device-sync owns the role, identity answers it with a
verified PIN), and the elevation the kiosk edge mints for a sign-in. Pure rules.

The rule, one table (``KIOSK_ACTIONS``):

- USER punches only: a sign-in is refused (403 ``KIOSK_ROLE_REQUIRED``);
- MANAGER may enrol another worker's face at the kiosk (``ENROL_FACE``);
- ADMINISTRATOR may also open the kiosk's settings (``OPEN_SETTINGS``).

Enrolment at a kiosk is of *another* worker only (``check_enrolment``): a Manager enrolling
their own face there would need nobody else present, and a face enrolled by its own holder
is exactly what the second person is for (one person's face on another's record is how
buddy punching starts). Their own face is enrolled by an admin in the portal, or at a kiosk
by another Manager."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from .model import Forbidden, Invalid


class KioskAction(enum.StrEnum):
    OPEN_SETTINGS = "OPEN_SETTINGS"
    ENROL_FACE = "ENROL_FACE"


class ClockRole(enum.StrEnum):
    USER = "USER"
    MANAGER = "MANAGER"
    ADMINISTRATOR = "ADMINISTRATOR"


KIOSK_ACTIONS: dict[ClockRole, frozenset[KioskAction]] = {
    ClockRole.USER: frozenset(),
    ClockRole.MANAGER: frozenset({KioskAction.ENROL_FACE}),
    ClockRole.ADMINISTRATOR: frozenset({KioskAction.ENROL_FACE, KioskAction.OPEN_SETTINGS}),
}

# How long a kiosk elevation lasts after its sign-in (the kiosk also drops it when the
# screen is left or after its idle timeout).
ELEVATION_TTL_S = 300


class KioskRoleRequired(Forbidden):
    """403: the worker's role on this clock does not allow this at a kiosk."""

    code = "KIOSK_ROLE_REQUIRED"


class KioskSignInRefused(Forbidden):
    """403: the sign-in's PIN check refused it; ``code`` is identity's reason (WRONG_PIN,
    LOCKED_OUT, UNKNOWN_USER, ...): never 401, which a kiosk takes for its own credential."""

    def __init__(
        self,
        reason: str,
        message: str,
        field: str | None = None,
        *,
        attempts_remaining: int = 0,
        locked_until: datetime | None = None,
    ) -> None:
        super().__init__(message, field, code=reason)
        self.attempts_remaining = attempts_remaining
        self.locked_until = locked_until

    def body(self) -> dict[str, object]:
        return {
            **super().body(),
            "attempts_remaining": self.attempts_remaining,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
        }


class ElevationInvalid(Forbidden):
    """403: no elevation, or one expired, forged, or of another clock or credential."""

    code = "KIOSK_ELEVATION_INVALID"


class SelfEnrolment(Forbidden):
    code = "SELF_ENROLMENT"


def role_of(name: str | None) -> ClockRole:
    """A role by name; anything unknown is USER (the least)."""
    try:
        return ClockRole(name or "USER")
    except ValueError:
        return ClockRole.USER


def kiosk_actions(role: ClockRole) -> frozenset[KioskAction]:
    return KIOSK_ACTIONS[role]


def may(role: ClockRole, action: KioskAction) -> bool:
    return action in KIOSK_ACTIONS[role]


def check_sign_in(role: ClockRole) -> None:
    """A sign-in is for a worker who may do something at the kiosk besides punching."""
    if not KIOSK_ACTIONS[role]:
        raise KioskRoleRequired(
            "your role on this clock does not open anything here; it is for punching only",
            "employee_id",
        )


def check_action(role: ClockRole, action: KioskAction) -> None:
    if not may(role, action):
        needed = "an Administrator" if action is KioskAction.OPEN_SETTINGS else "a Manager"
        raise KioskRoleRequired(f"only {needed} of this clock may do this here")


def check_enrolment(role: ClockRole, enroller: str, worker: str, consent: bool = True) -> None:
    """``enroller`` / ``worker``: the same kind of key for both (worker ids, or Employee IDs:
    the edge knows the signed-in worker's Employee ID; face-match checks the ids again)."""
    check_action(role, KioskAction.ENROL_FACE)
    if enroller == worker:
        raise SelfEnrolment(
            "a Manager enrols another worker's face at a kiosk, not their own", "employee_id"
        )
    if not consent:
        raise Invalid("the worker must agree on screen before their face is enrolled", "consent")


# What a refused sign-in says (identity's reasons), never naming whether the ID exists.
SIGN_IN_MESSAGES = {
    "UNKNOWN_USER": "Unknown User",
    "INACTIVE": "Unknown User",
    "PIN_NOT_SET": "No PIN set — ask your manager",
    "PIN_NOT_ALLOWED": "PIN not allowed — ask your manager",
    "LOCKED_OUT": "PIN locked — ask your manager",
    "WRONG_PIN": "Wrong PIN",
}


def sign_in_refusal(
    reason: str, attempts_remaining: int = 0, locked_until: datetime | None = None
) -> KioskSignInRefused:
    """The 403 of a refused sign-in (INACTIVE is told as UNKNOWN_USER, as at a punch)."""
    code = "UNKNOWN_USER" if reason == "INACTIVE" else reason
    message = SIGN_IN_MESSAGES.get(reason, "Unknown User")
    if reason == "WRONG_PIN" and attempts_remaining:
        tries = "try" if attempts_remaining == 1 else "tries"
        message = f"Wrong PIN — {attempts_remaining} {tries} left"
    field = "pin" if reason == "WRONG_PIN" else "employee_id"
    return KioskSignInRefused(
        code if code in SIGN_IN_MESSAGES else "UNKNOWN_USER",
        message,
        field,
        attempts_remaining=attempts_remaining if reason == "WRONG_PIN" else 0,
        locked_until=locked_until if reason == "LOCKED_OUT" else None,
    )


@dataclass(frozen=True)
class Elevation:
    """A signed-in worker at one clock: what the elevation token names."""

    tenant_id: str
    clock_id: str
    worker_id: str
    employee_id: str
    name: str
    role: ClockRole
    expires_at: datetime
