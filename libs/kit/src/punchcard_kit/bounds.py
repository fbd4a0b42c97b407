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
- ``Day`` and ``Instant``: a date, an aware date-time, in the years 2000-2999 (year 1 or 9999
  overflowed Python's date arithmetic: a 500);
- ``MAX_JSON_BODY_BYTES``: the body limit of every route that does not declare its own
  (``create_service_app(max_body_size=…)``, a route's ``max_body_size=…``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# No NUL (PostgreSQL text cannot hold it) nor other C0 controls; \t, \n and \r are allowed.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
MAX_OFFSET = 1_000_000
PAGE_MAX = 500
INT64_MAX = 2**63 - 1
MAX_JSON_BODY_BYTES = 64 * 1024

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
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
Day = Annotated[date, Ge(FIRST_DAY), Le(LAST_DAY)]
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]


def Text(max_length: int, min_length: int = 0, strip: bool = True):  # noqa: N802 - a type
    """A bounded string a text column can store (see the module's docstring)."""
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=strip,
            min_length=min_length,
            max_length=max_length,
            pattern=TEXT_PATTERN,
        ),
    ]
