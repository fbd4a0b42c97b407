"""device-sync's errors: the kit's family (``punchcard_kit.errors``) with this service's codes,
messages and fields (the HTTP status is the kit's mapping: 401, 404, 409, 422, 429)."""

from __future__ import annotations

from punchcard_kit.bounds import TIME_ZONES
from punchcard_kit.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    NotProjectedYet,
    TooManyRequests,
    Unauthenticated,
)

from .zk import COM_KEY_PATTERN

# A clock refused a long-poll comes back after this long (Retry-After).
POLL_AGAIN_AFTER_S = 5


def clock_unauthorized() -> Unauthenticated:
    return Unauthenticated(
        "unknown, rotated or revoked clock credential", code="CLOCK_UNAUTHORIZED"
    )


def clock_not_found(clock_id: str | None = None, field: str = "clock_id") -> NotFound:
    """Unknown, or at a site the caller does not see; ``clock_id`` names it (bulk calls)."""
    message = "clock not found" if clock_id is None else f"clock {clock_id} not found"
    return NotFound(message, field, code="CLOCK_NOT_FOUND")


def clock_revoked(clock_id: str | None = None, field: str = "clock_id") -> Conflict:
    message = "the clock is revoked" if clock_id is None else f"clock {clock_id} is revoked"
    return Conflict(message, field, code="CLOCK_REVOKED")


def duplicate_serial_number() -> Conflict:
    return Conflict(
        "a clock with this serial number is already registered",
        "serial_number",
        code="DUPLICATE_SERIAL_NUMBER",
    )


def device_not_found() -> NotFound:
    return NotFound(
        "no unregistered device with this serial number", "serial_number", code="DEVICE_NOT_FOUND"
    )


def worker_not_found(worker_id: str | None = None) -> NotFound:
    """``worker_id``: a worker an assignment names that device-sync has not learnt yet (from
    identity's events): waited for (``retry.until_projected``), then this 404."""
    if worker_id is None:
        return NotFound("worker not found", "worker_id", code="WORKER_NOT_FOUND")
    return NotProjectedYet(
        f"worker {worker_id} is not known to device-sync (a worker created a"
        " moment ago arrives within seconds; try again)",
        "worker_id",
        code="WORKER_NOT_FOUND",
    )


def worker_inactive(worker_id: str) -> Conflict:
    return Conflict(f"worker {worker_id} is Inactive", "worker_id", code="WORKER_INACTIVE")


def clock_role_not_allowed() -> Forbidden:
    return Forbidden(
        "only a sysadmin grants or takes away the ADMINISTRATOR role on a clock",
        "clock_role",
        code="CLOCK_ROLE_NOT_ALLOWED",
    )


def not_a_zk_clock(
    field: str = "device_verifies_pins", *, registering: bool = False
) -> DomainError:
    """A setting only a hardware clock has, asked of a kiosk app: 409 for a clock that exists
    (the request is valid; the clock is of the other kind), 422 when the request registering
    it says both (its ``protocol`` and the setting)."""
    what = {
        "device_verifies_pins": "verifies PINs itself; a kiosk app never holds PINs",
        "com_key": "has a Comm Key; a kiosk app has its credential",
    }[field]
    kind = Invalid if registering else Conflict
    return kind(f"only a hardware (ZK_PUSH) clock {what}", field, code="NOT_A_ZK_CLOCK")


def check_com_key(key: str) -> None:
    """A Comm Key as devices take one: 1-64 letters, digits, _ . -; else INVALID_COM_KEY."""
    if not COM_KEY_PATTERN.match(key):
        raise Invalid(
            "a Comm Key is 1-64 letters, digits, _ . or -", "com_key", code="INVALID_COM_KEY"
        )


def too_many_pairs(limit: int, field: str = "assign") -> Invalid:
    return Invalid(f"at most {limit} pairs in {field}", field, code="TOO_MANY")


def assigned_and_unassigned(clock_id: str, worker_id: str) -> Invalid:
    return Invalid(
        f"worker {worker_id} is both assigned to and unassigned from clock {clock_id}",
        "unassign",
        code="ASSIGNED_AND_UNASSIGNED",
    )


def polls_held() -> TooManyRequests:
    return TooManyRequests(
        "this clock already holds its long-polls: poll again later",
        code="RATE_LIMITED",
        retry_after_s=POLL_AGAIN_AFTER_S,
    )


def check_time_zone(name: str) -> None:
    """An IANA time zone name (one of ``bounds.TIME_ZONES``, the enum the OpenAPI declares),
    or INVALID_TIME_ZONE."""
    if name not in TIME_ZONES:
        raise Invalid(f"{name!r} is not an IANA time zone", "time_zone", code="INVALID_TIME_ZONE")
