"""Badge / proximity cards: a worker may hold a few card numbers, each opening only them (a
number is unique per tenant). The number's format is the kit's one rule
(``punchcard_kit.credentials``), shared with the web apps; pure rules here, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from punchcard_kit.credentials import CARD_NUMBER_MAX_LENGTH, is_card_number
from punchcard_kit.errors import Conflict, Invalid, NotFound

#: Enough for a badge, a spare and a key fob; bounded so one worker's list stays small on
#: every clock that holds it.
MAX_CARDS_PER_WORKER = 10


@dataclass(frozen=True)
class Card:
    number: str
    added_at: datetime


def card_list(numbers: Iterable[str]) -> list[str]:
    """A worker's card numbers as events and clocks carry them: sorted (by code point), each
    once. A hardware clock that holds one card gets the first."""
    return sorted(set(numbers))


def check_card_number(number: str) -> None:
    """422 ``CARD_FORMAT`` unless the number is digits only, 1 to 20 of them."""
    if not is_card_number(number):
        raise Invalid(
            f"a card number is 1 to {CARD_NUMBER_MAX_LENGTH} digits",
            "number",
            code="CARD_FORMAT",
        )


def adds_card(held: Iterable[str], number: str) -> bool:
    """Whether giving the worker ``number`` changes anything (False: they hold it already, an
    idempotent repeat); 409 ``TOO_MANY_CARDS`` when they hold the most already (a valid
    request that the worker's cards clash with: one removed, it is taken)."""
    check_card_number(number)
    current = set(held)
    if number in current:
        return False
    if len(current) >= MAX_CARDS_PER_WORKER:
        raise Conflict(
            f"a worker holds at most {MAX_CARDS_PER_WORKER} cards", "number", code="TOO_MANY_CARDS"
        )
    return True


class DuplicateCard(Conflict):
    """Another worker of the tenant holds the card number (409)."""

    def __init__(self) -> None:
        super().__init__("another worker has this card number", "number", code="DUPLICATE_CARD")


def card_not_found() -> NotFound:
    return NotFound("the worker has no such card", "number", code="CARD_NOT_FOUND")
