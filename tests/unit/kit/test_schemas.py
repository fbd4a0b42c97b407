"""Response times are written as ``datetime.isoformat()`` writes them, by every service."""

from datetime import UTC, datetime

from punchcard_kit.schemas import IsoTimestamp
from pydantic import BaseModel


class Row(BaseModel):
    at: IsoTimestamp
    maybe: IsoTimestamp | None = None


def test_a_utc_time_is_written_with_its_offset_not_z() -> None:
    at = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
    assert Row(at=at).model_dump_json() == '{"at":"2026-12-02T07:30:00+00:00","maybe":null}'


def test_the_schema_says_date_time() -> None:
    assert Row.model_json_schema()["properties"]["at"]["format"] == "date-time"
