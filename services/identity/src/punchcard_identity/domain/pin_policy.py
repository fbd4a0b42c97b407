"""Which PINs a worker may have: 4–6 digits (``punchcard_kit.credentials``, the one format
rule), and none that a colleague could guess."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from importlib import resources

from punchcard_kit.credentials import PIN_MAX_LENGTH, PIN_MIN_LENGTH
from punchcard_kit.errors import Invalid


class WeakPin(enum.StrEnum):
    NOT_DIGITS = "PIN_FORMAT"
    REPEATED_DIGIT = "PIN_REPEATED_DIGIT"
    SEQUENCE = "PIN_SEQUENCE"
    YEAR = "PIN_LOOKS_LIKE_YEAR"
    EMPLOYEE_ID = "PIN_MATCHES_EMPLOYEE_ID"
    COMMON = "PIN_TOO_COMMON"


_MESSAGES = {
    WeakPin.NOT_DIGITS: f"A PIN is {PIN_MIN_LENGTH} to {PIN_MAX_LENGTH} digits.",
    WeakPin.REPEATED_DIGIT: "A PIN of one digit repeated (like 0000) is too easy to guess.",
    WeakPin.SEQUENCE: "A run of digits up or down (like 1234 or 4321) is too easy to guess.",
    WeakPin.YEAR: "A year (like a birth year, 1900–2099) is too easy to guess.",
    WeakPin.EMPLOYEE_ID: "The PIN must not be the worker's Employee ID or its last digits.",
    WeakPin.COMMON: "This PIN is among the most common ones and too easy to guess.",
}


@dataclass(frozen=True)
class PinRejection:
    code: WeakPin

    @property
    def message(self) -> str:
        return _MESSAGES[self.code]

    def error(self) -> Invalid:
        """The domain error refusing the PIN (422, the rejection's code, field ``pin``)."""
        return Invalid(self.message, "pin", code=self.code.value)


@cache
def common_pins() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common_pins.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip()[:1].isdigit())


def _is_run(pin: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    # 0123, 7890 (wrapping), 3210, 0987: every step +1 or every step -1.
    return steps in ({1}, {9})


def check_pin(pin: str, employee_id: str = "") -> PinRejection | None:
    """None when ``pin`` is acceptable, else the first reason it is not."""
    if not (PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH) or not pin.isascii() or not pin.isdigit():
        return PinRejection(WeakPin.NOT_DIGITS)
    if len(set(pin)) == 1:
        return PinRejection(WeakPin.REPEATED_DIGIT)
    if _is_run(pin):
        return PinRejection(WeakPin.SEQUENCE)
    if len(pin) == 4 and 1900 <= int(pin) <= 2099:
        return PinRejection(WeakPin.YEAR)
    digits = "".join(ch for ch in employee_id if ch.isdigit())
    if employee_id and (pin == employee_id or (digits and digits.endswith(pin))):
        return PinRejection(WeakPin.EMPLOYEE_ID)
    if pin in common_pins():
        return PinRejection(WeakPin.COMMON)
    return None
