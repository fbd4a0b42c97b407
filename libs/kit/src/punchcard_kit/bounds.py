"""Bounds every HTTP API declares (in its OpenAPI) and enforces, so that bad input is a 422
naming the field and never reaches PostgreSQL as something it cannot store (a NUL character,
a number past bigint) — which would be a 500.

- ``Text(max_length)``: a string without NUL or other C0 control characters (tab, line feed and
  carriage return allowed), stripped, at most ``max_length`` characters;
- ``UUID_PATTERN`` / ``Uuid``: the canonical 8-4-4-4-12 hex form (what a ``uuid`` column takes);
- ``Offset`` and ``MAX_OFFSET``: a page offset, 0 to a million; ``Limit`` and ``PAGE_MAX``: a
  page's size, 1 to 500 (the clocks, a clock's roster, the stale-PIN report, the enrolled
  faces);
- ``INT64_MAX``: the largest value a ``bigint`` column takes, for any client-given number;
- ``JSON_INTEGER``: an integer in a JSON body as JSON Schema counts one (``30`` or ``30.0``),
  never a boolean or a string (pydantic's lax mode read ``true`` as 1 and ``"30"`` as 30;
  its strict mode refused ``30.0``);
- ``Day`` and ``Instant``: a date, an aware date-time, in the years 2000-2999 as written (year
  1 or 9999 overflowed Python's date arithmetic: a 500); a JSON Schema cannot compare dates, so
  their OpenAPI says it as a ``pattern`` (``DAY_PATTERN``, ``INSTANT_PATTERN``: the year's first
  digit is 2), which a client or a fuzzer can read: a date that matches it is never refused for
  its year;
- ``TIME_ZONES`` and ``TimeZoneName``: the IANA time zones of the ``tzdata`` package (the same
  list on every machine), declared in the OpenAPI as an ``enum``; the service checks the name
  against the same list (its own error code and message, not pydantic's list of 598);
- ``MAX_JSON_BODY_BYTES``: the body limit of every route that does not declare its own
  (``create_service_app(max_body_size=…)``, a route's ``max_body_size=…``)."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from importlib import resources
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError

from .patterns import described, meaning_of

UUID_PATTERN = described(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "a UUID (8-4-4-4-12 hexadecimal digits)",
)
# No NUL (PostgreSQL text cannot hold it) nor other C0 controls; \t, \n and \r are allowed.
_TEXT_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f]"
TEXT_PATTERN = described(
    f"^{_TEXT_CHAR}*$", "text without control characters (tabs and line breaks are allowed)"
)
MAX_OFFSET = 1_000_000
PAGE_MAX = 500
INT64_MAX = 2**63 - 1
MAX_JSON_BODY_BYTES = 64 * 1024

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


_DATE = r"2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DAY_PATTERN = described(f"^{_DATE}$", "a date written YYYY-MM-DD, in the years 2000-2999")
INSTANT_PATTERN = described(
    f"^{_DATE}[Tt]", "a date and time (RFC 3339, with its offset), in the years 2000-2999"
)


def within_years(value: datetime) -> datetime:
    """The year as written (in the value's own offset), as ``INSTANT_PATTERN`` says it: not the
    UTC year, which differs from it on the first and last hours of a year."""
    if not FIRST_DAY.year <= value.year <= LAST_DAY.year:
        raise ValueError("must be in the years 2000 to 2999")
    return value


def integer_from_json(value: object) -> object:
    """``JSON_INTEGER``'s check, before pydantic's own (which refuses 30.5)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer")
    return value


#: For an int of a JSON body: ``Annotated[int, Field(ge=…, le=…), JSON_INTEGER]``, its bounds
#: first (after it, pydantic writes them into the OpenAPI as "ge"/"le", which no client reads).
JSON_INTEGER = BeforeValidator(integer_from_json)

Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
Day = Annotated[
    date,
    Ge(FIRST_DAY),
    Le(LAST_DAY),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]
Instant = Annotated[
    AwareDatetime,
    AfterValidator(within_years),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}),
]
TIME_ZONES = frozenset(resources.files("tzdata").joinpath("zones").read_text().split())
TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    WithJsonSchema({"type": "string", "enum": sorted(TIME_ZONES)}),
]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]


# WHITE_SPACE, the inside of a character class: what the server strips (pydantic's
# strip_whitespace is Rust's str::trim: Unicode's White_Space, VT and FF too), named character
# by character. Not ``\s``, which a client reading the OpenAPI takes as ECMA-262 does (U+FEFF
# white space, U+0085 not) and Python's re another way again: with ``\s``, a randomized fuzz
# sent "\t\x85\t " as a site id, not blank to it and blank here.
WHITE_SPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SPACE = f"[{WHITE_SPACE}]"
_INK = rf"[^{WHITE_SPACE}\x00-\x1f]"  # a character that is not white space, nor a control


def stripped_text_pattern(min_length: int) -> str:
    """What a stripped ``Text(min_length=n)`` takes, as a pattern on the string sent: white space
    around at least ``n`` characters (none at all for 0) that begin and end with a non-space,
    none a control. The string is stripped before it is checked and counted, so ``minLength``
    alone said that ``"\\r"`` or ``"  a "`` would do where they do not, and ``TEXT_PATTERN`` on the
    string sent refused a form feed around the text that the server strips and takes."""
    some = f"{_INK}(?:{_TEXT_CHAR}*{_INK})?"  # at least one character
    if min_length == 0:
        return described(f"^{_SPACE}*(?:{some})?{_SPACE}*$", meaning_of(TEXT_PATTERN))
    core = some if min_length == 1 else f"{_INK}{_TEXT_CHAR}{{{min_length - 2},}}{_INK}"
    return described(
        f"^{_SPACE}*{core}{_SPACE}*$",
        f"text of at least {min_length} characters besides spaces, without control characters",
    )


def Text(max_length: int, min_length: int = 0, strip: bool = True):  # noqa: N802 - a type
    """A bounded string a text column can store (see the module's docstring); stripped, its
    OpenAPI states what the server takes of the string sent (``stripped_text_pattern``)."""
    constraints = StringConstraints(
        strip_whitespace=strip, min_length=min_length, max_length=max_length, pattern=TEXT_PATTERN
    )
    if not strip:
        return Annotated[str, constraints]
    # maxLength counts the string sent (its OpenAPI's word), not what is left once stripped.
    sent = BeforeValidator(partial(_at_most, max_length))
    stated = {
        "type": "string",
        **({"minLength": min_length} if min_length else {}),
        "maxLength": max_length,
        "pattern": stripped_text_pattern(min_length),
    }
    return Annotated[str, constraints, sent, WithJsonSchema(stated)]


def _at_most(max_length: int, value: object) -> object:
    if isinstance(value, str) and len(value) > max_length:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters",
            {"max_length": max_length},
        )
    return value
