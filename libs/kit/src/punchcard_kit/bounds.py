"""Bounds every HTTP API declares (in its OpenAPI) and enforces, so that bad input is a 422
naming the field and never reaches PostgreSQL as something it cannot store (a NUL character,
a number past bigint) — which would be a 500.

- ``Text(max_length)``: a string without NUL or other C0 control characters (tab, line feed and
  carriage return allowed), stripped, at most ``max_length`` characters;
- ``UUID_PATTERN`` / ``Uuid``: the canonical 8-4-4-4-12 hex form (what a ``uuid`` column takes);
- ``Offset`` and ``MAX_OFFSET``: a page offset, 0 to a million;
- ``INT64_MAX``: the largest value a ``bigint`` column takes, for any client-given number;
- ``MAX_JSON_BODY_BYTES``: the body limit of every route that does not declare its own
  (``create_service_app(max_body_size=…)``, a route's ``max_body_size=…``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import StringConstraints

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# No NUL (PostgreSQL text cannot hold it) nor other C0 controls; \t, \n and \r are allowed.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
MAX_OFFSET = 1_000_000
INT64_MAX = 2**63 - 1
MAX_JSON_BODY_BYTES = 64 * 1024

Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


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
