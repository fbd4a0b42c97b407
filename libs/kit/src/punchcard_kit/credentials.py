"""The one definition of what a worker types at a clock: the Employee ID (badge number), the
PIN, and the number of a badge / proximity card (what a card reader types or a hardware clock
reads). Identity (which owns workers and PINs), the kiosk edge and the web apps all check
input against these; the web apps' copy (``web/src/shared/credentials.js``) is generated from
this module by ``tools/gen_contracts.py`` and a unit test keeps the two equal."""

from __future__ import annotations

import re

from .patterns import described

#: Letters, digits, "_" and "-"; what badge printers and hardware clocks accept.
EMPLOYEE_ID_PATTERN = described(
    r"^[A-Za-z0-9_-]+$", "an Employee ID of letters, digits, '-' and '_'"
)
EMPLOYEE_ID_MAX_LENGTH = 32
#: One character an Employee ID may contain (a keypad's key filter).
EMPLOYEE_ID_CHAR_PATTERN = r"^[A-Za-z0-9_-]$"

PIN_MIN_LENGTH = 4
PIN_MAX_LENGTH = 6
PIN_PATTERN = described(
    rf"^[0-9]{{{PIN_MIN_LENGTH},{PIN_MAX_LENGTH}}}$",
    f"a PIN of {PIN_MIN_LENGTH} to {PIN_MAX_LENGTH} digits",
)

#: A badge / proximity card number: digits only (what card readers type and ZK clocks hold),
#: kept as given (leading zeros count).
CARD_NUMBER_MAX_LENGTH = 20
CARD_NUMBER_PATTERN = described(
    rf"^[0-9]{{1,{CARD_NUMBER_MAX_LENGTH}}}$",
    f"a card number of 1 to {CARD_NUMBER_MAX_LENGTH} digits",
)

_EMPLOYEE_ID = re.compile(EMPLOYEE_ID_PATTERN)
_PIN = re.compile(PIN_PATTERN)
_CARD_NUMBER = re.compile(CARD_NUMBER_PATTERN)


def is_employee_id(text: str) -> bool:
    return 0 < len(text) <= EMPLOYEE_ID_MAX_LENGTH and _EMPLOYEE_ID.fullmatch(text) is not None


def employee_id_key(text: str) -> str:
    """How an Employee ID is found and kept unique within a tenant: in any case. The kiosk's
    keypad types capitals (its letters are A–Z), a worker may type ``jsmith`` or ``JSMITH`` on a
    keyboard, and an admin may have entered either: they are one worker. An Employee ID is
    ASCII (``EMPLOYEE_ID_PATTERN``), so this is PostgreSQL's ``upper()`` too, which the
    services' indexes use. The ID shown and stored stays as the admin typed it."""
    return text.upper()


def is_pin_format(text: str) -> bool:
    """Digits only, 4 to 6 of them (whether a PIN is strong enough is identity's policy)."""
    return _PIN.fullmatch(text) is not None


def is_card_number(text: str) -> bool:
    """Digits only, 1 to ``CARD_NUMBER_MAX_LENGTH`` of them."""
    return _CARD_NUMBER.fullmatch(text) is not None


__all__ = [
    "CARD_NUMBER_MAX_LENGTH",
    "CARD_NUMBER_PATTERN",
    "EMPLOYEE_ID_CHAR_PATTERN",
    "EMPLOYEE_ID_MAX_LENGTH",
    "EMPLOYEE_ID_PATTERN",
    "PIN_MAX_LENGTH",
    "PIN_MIN_LENGTH",
    "PIN_PATTERN",
    "employee_id_key",
    "is_card_number",
    "is_employee_id",
    "is_pin_format",
]
