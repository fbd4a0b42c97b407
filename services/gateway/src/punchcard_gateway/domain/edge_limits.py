"""Rate limits at the kiosk edge: which budgets a kiosk request spends (one pure rule,
``edge_budgets``), and the answer when one is spent (429 ``RATE_LIMITED`` with Retry-After).

Every budget is per clock (its credential) and per tenant — never global: one tablet cannot
spend more than its clock's share, one tenant's clocks together no more than the tenant's, and
no tenant's flood can spend a budget another tenant needs. The clock's budget is checked
before the tenant's, so a flooding clock that is refused spends nothing of its tenant's.

- ``punch``: every ``POST /kiosk/v1/punches``, checked before the body is read;
- ``pin``: PIN attempts (each costs identity an argon2 hash), after the body is parsed;
- ``face``: face frames (each costs face-match a detection and an embedding);
- ``result``: ``GET /kiosk/v1/punches/{id}`` (asking for an outcome);
- ``sync``: the clock API passed to device-sync (``/sync``, ``/acks``);
- long-polls held open at once (``/sync``): at most ``polls_per_clock`` per clock and
  ``polls_per_tenant`` per tenant; a sync that waits for nothing (``wait_s`` 0) is held by no
  one and takes no slot (``holds_poll``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .model import TooManyRequests

Action = Literal["punch", "pin", "face", "result", "sync"]


class RateLimited(TooManyRequests):
    """429: too many requests from this clock or this tenant; send again after ``retry_after_s``
    (whole seconds, at least one: the kit's Retry-After)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, retry_after_s=retry_after_s)


@dataclass(frozen=True)
class Budget:
    """``amount`` requests per ``per_s`` seconds (a moving window), for one key."""

    key: str
    amount: int
    per_s: int
    scope: Literal["clock", "tenant"]


@dataclass(frozen=True)
class EdgeLimits:
    """Per minute unless said otherwise; settings (``KIOSK_LIMIT_*``)."""

    punch_per_clock: int = 60
    punch_per_tenant: int = 3000
    pin_per_clock: int = 20
    pin_per_tenant: int = 1200
    face_per_clock: int = 30
    face_per_tenant: int = 1500
    result_per_clock: int = 240
    result_per_tenant: int = 12000
    sync_per_clock: int = 30
    sync_per_tenant: int = 6000
    polls_per_clock: int = 2
    polls_per_tenant: int = 1000


def edge_budgets(action: Action, tenant_id: str, clock_id: str, limits: EdgeLimits) -> list[Budget]:
    """The budgets one request of ``action`` spends, the clock's first."""
    per_clock = getattr(limits, f"{action}_per_clock")
    per_tenant = getattr(limits, f"{action}_per_tenant")
    return [
        Budget(f"{action}:clock:{tenant_id}:{clock_id}", per_clock, 60, "clock"),
        Budget(f"{action}:tenant:{tenant_id}", per_tenant, 60, "tenant"),
    ]


def holds_poll(wait_s: float) -> bool:
    """Whether a ``/sync`` waiting up to ``wait_s`` takes a long-poll slot: only one that may be
    held. One with ``wait_s`` 0 is answered at once, and device-sync never refuses it
    (docs/device-sync.md): a clock may deliver its acks and heartbeat now while its polls are
    held."""
    return wait_s > 0


def poll_slots(tenant_id: str, clock_id: str, limits: EdgeLimits) -> list[tuple[str, int]]:
    """The long-poll slots a held ``/sync`` takes: (key, most held at once), the clock's first."""
    return [
        (f"polls:clock:{tenant_id}:{clock_id}", limits.polls_per_clock),
        (f"polls:tenant:{tenant_id}", limits.polls_per_tenant),
    ]


def refusal(scope: str, retry_after_s: float) -> RateLimited:
    """The 429 for a spent budget: whole seconds, at least one."""
    who = "this clock" if scope == "clock" else "this clock's organisation"
    return RateLimited(
        f"too many requests from {who}: send it again later", max(1, int(retry_after_s + 0.999))
    )
