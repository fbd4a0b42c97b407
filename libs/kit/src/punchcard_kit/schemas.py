"""Types for the services' response models that every service writes the same way."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

#: A time as ``datetime.isoformat()`` writes it (``+00:00`` for UTC; pydantic's default would
#: write ``Z``): what routes that answered plain dicts always wrote, kept when they gained a
#: response model.
IsoTimestamp = Annotated[
    dt.datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

__all__ = ["IsoTimestamp"]
