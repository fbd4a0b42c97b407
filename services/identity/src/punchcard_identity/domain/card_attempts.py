"""The rule for one kiosk badge-card attempt (a card reader at the kiosk typed the number).

A card is a credential that names its worker by itself: there is no PIN to check, so the rule
is the first checks of a PIN attempt, shared (``pin_attempts.identify_at_clock``): a box that
cannot be opened, a number that is not a card of the clock's tenant, or a worker not assigned
to the clock → ``UNKNOWN_USER``, counted with the clock's unknown IDs (the same counter as
unknown Employee IDs: one rule, one place); a worker not Active → ``INACTIVE`` (the kiosk shows
"Unknown User" for it too); otherwise the worker is identified. A kiosk never learns whether a
card exists beyond that."""

from __future__ import annotations

from dataclasses import dataclass

from .model import WorkerStatus
from .pin_attempts import Identified, Reject, identify_at_clock


@dataclass(frozen=True)
class CardAttemptFacts:
    card_opened: bool  # the sealed card opened, bound to this attempt, and is a card number
    found: bool  # the number is a card of the clock's tenant
    assigned: bool = False  # its worker is assigned to the clock
    status: WorkerStatus | None = None


def decide_card_attempt(facts: CardAttemptFacts) -> Reject | Identified:
    who = identify_at_clock(
        opened=facts.card_opened, found=facts.found, assigned=facts.assigned, status=facts.status
    )
    return who if who is not None else Identified()
