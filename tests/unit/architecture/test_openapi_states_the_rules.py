"""What a request may hold, every service's OpenAPI says, so that a request valid by the schema
is not refused for a rule the schema could have stated (a fuzzer's "schema-valid request
rejected", schemathesis' ST202; a client generated from the schema meets the same refusal).

- a header is never nullable: a header has no null, and ``str | None`` said one (``anyOf`` with
  ``null``), which schemathesis sent as the text ``null``;
- a date or date-time a client sends states its years (``bounds.DAY_PATTERN`` and
  ``INSTANT_PATTERN``: 2000-2999; a JSON Schema cannot compare dates);
- a time zone a client sends is one of an ``enum``, the list the service checks it against
  (``bounds.TIME_ZONES``);
- a number's bounds are within ±(2**53 - 1), which every JSON client holds exactly: past it a
  client parsing numbers as doubles (JavaScript, schemathesis) rounds the bound itself, and
  sends a value over it (device-sync's sequences were bounded by 2**62, which went out as
  4611686018427388000);
- a pattern names its characters: no ``\\s``, ``\\d``, ``\\w``, ``\\b`` (or their negations), which
  a client reads as ECMA-262 does (ASCII digits and word characters; U+FEFF white space, U+0085
  not) and the server's validator (pydantic's Rust regex) as Unicode does: a randomized fuzz
  met both the admin e-mail's and a stripped text's ``\\s`` sending what one side took and the
  other refused;
- an operation that takes a body says it may answer 413: past its route's limit (the kit's
  64 KiB) a body is refused before it is read (``service.declare_refusals``); undeclared, a
  randomized fuzz met it as an undocumented status (ST103);
- every operation says it may answer 400: a request the HTTP server cannot read (a URL over
  64 KiB, a malformed header) is refused before any app sees it (the kit's ``_HttpProtocol``,
  in the error shape); a randomized fuzz met it undeclared too.

The rules no JSON Schema can state stay 422s that name the field (an opaque cursor, a JPEG that
decodes, a PIN not too easy to guess, an employee id that exists): docs/architecture.md."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from punchcard_kit.bounds import DAY_PATTERN, INSTANT_PATTERN, TIME_ZONES, Day, Instant
from pydantic import TypeAdapter, ValidationError

from tests.support.apps import SERVICES, service_app

METHODS = ("get", "put", "post", "delete", "patch")


def _ref_parts(ref: str) -> list[str]:
    return ref.removeprefix("#/").split("/")


def _schemas(doc: dict, node, where: str, seen: set[str]):
    """Every schema inside ``node`` (a request's), with where it is, ``$ref``s followed once."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _schemas(doc, item, f"{where}[{i}]", seen)
        return
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            return
        target = doc
        for part in _ref_parts(ref):
            target = target[part]
        yield from _schemas(doc, target, f"{where}->{ref.rsplit('/', 1)[-1]}", seen | {ref})
        return
    yield where, node
    for key, value in node.items():
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                yield from _schemas(doc, sub, f"{where}.{name}", seen)
        elif key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties"):
            yield from _schemas(doc, value, where, seen)


def request_schemas(doc: dict):
    """(where, parameter or None, schema) for every schema a client sends: parameters and
    request bodies of every operation."""
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method not in METHODS:
                continue
            for parameter in op.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
                for at, schema in _schemas(doc, parameter.get("schema", {}), where, set()):
                    yield at, parameter, schema
            for media in op.get("requestBody", {}).get("content", {}).values():
                where = f"{method.upper()} {path} body"
                for at, schema in _schemas(doc, media.get("schema", {}), where, set()):
                    yield at, None, schema


@pytest.fixture(scope="module", params=sorted(SERVICES))
def doc(request) -> dict:
    return service_app(request.param).openapi()


MAX_SAFE_INTEGER = 2**53 - 1


def test_every_numeric_bound_is_exact_in_a_double(doc):
    loose = [
        f"{where}: {key} {schema[key]}"
        for where, _, schema in request_schemas(doc)
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
        if isinstance(schema.get(key), int | float) and abs(schema[key]) > MAX_SAFE_INTEGER
    ]
    assert not loose, "\n".join(loose)


def test_every_operation_declares_the_400_of_a_request_that_is_not_http(doc):
    silent = [
        f"{method.upper()} {path}"
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if method in METHODS and "400" not in op.get("responses", {})
    ]
    assert not silent, silent


def test_every_operation_that_takes_a_body_declares_its_413(doc):
    silent = [
        f"{method.upper()} {path}"
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if method in METHODS and "requestBody" in op and "413" not in op.get("responses", {})
    ]
    assert not silent, silent


def class_escapes(pattern: str) -> list[str]:
    """The ``\\s``-like escapes of a pattern (an escaped backslash is a character, not one)."""
    found, i = [], 0
    while i < len(pattern) - 1:
        if pattern[i] == "\\":
            if pattern[i + 1] in "sSdDwWbB":
                found.append(pattern[i : i + 2])
            i += 2
        else:
            i += 1
    return found


def test_class_escapes_are_found():
    assert class_escapes(r"^[^@\s]+\d$") == [r"\s", r"\d"]
    assert class_escapes(r"^\\s\x85$") == []


def test_every_pattern_names_its_characters(doc):
    read_two_ways = [
        f"{where}: {schema['pattern']}"
        for where, _, schema in request_schemas(doc)
        if isinstance(schema.get("pattern"), str) and class_escapes(schema["pattern"])
    ]
    assert not read_two_ways, "\n".join(read_two_ways)


def test_no_header_is_nullable(doc):
    nullable = [
        at
        for at, parameter, schema in request_schemas(doc)
        if parameter is not None and parameter["in"] == "header" and schema.get("type") == "null"
    ]
    assert not nullable, nullable


def test_every_date_a_client_sends_states_its_years(doc):
    expected = {"date": DAY_PATTERN, "date-time": INSTANT_PATTERN}
    unstated = [
        f"{at}: {schema.get('pattern')!r}"
        for at, _, schema in request_schemas(doc)
        if schema.get("format") in expected and schema.get("pattern") != expected[schema["format"]]
    ]
    assert not unstated, unstated


def test_every_time_zone_a_client_sends_is_one_of_the_list(doc):
    found = [
        (at, schema)
        for at, _, schema in request_schemas(doc)
        if at.rsplit(".", 1)[-1] == "time_zone" and "type" in schema and schema["type"] != "null"
    ]
    wrong = [at for at, schema in found if schema.get("enum") != sorted(TIME_ZONES)]
    assert not wrong, wrong


def test_device_sync_takes_a_time_zone_and_says_which():
    doc = service_app("device-sync").openapi()
    zones = [
        at for at, _, schema in request_schemas(doc) if schema.get("enum") == sorted(TIME_ZONES)
    ]
    assert any("POST /internal/v1/clocks body" in at for at in zones), zones


# --- the kit's date bounds: what the pattern says is what is accepted -----------------------

WRITTEN = [
    (Instant, INSTANT_PATTERN, "2000-01-01T00:00:00Z"),
    (Instant, INSTANT_PATTERN, "2026-03-02T08:00:00+05:45"),
    (Instant, INSTANT_PATTERN, "2000-01-01T00:30:00+01:00"),  # 1999 in UTC, 2000 as written
    (Instant, INSTANT_PATTERN, "2999-12-31T23:00:00-05:00"),  # 3000 in UTC, 2999 as written
    (Instant, INSTANT_PATTERN, "1999-12-31T23:00:00-05:00"),  # 2000 in UTC, 1999 as written
    (Instant, INSTANT_PATTERN, "3000-01-01T00:00:00Z"),
    (Instant, INSTANT_PATTERN, "0925-09-01T00:00:00Z"),
    (Instant, INSTANT_PATTERN, "6876-09-06T12:00:00t"),
    *((Day, DAY_PATTERN, day) for day in ("2000-01-01", "2999-12-31", "2026-02-28")),
    *((Day, DAY_PATTERN, day) for day in ("1999-12-31", "3000-01-01", "0925-09-01")),
]


@pytest.mark.parametrize(("kind", "pattern", "written"), WRITTEN)
def test_a_date_is_accepted_exactly_when_its_pattern_matches(kind, pattern, written):
    matches = re.search(pattern, written) is not None
    try:
        TypeAdapter(kind).validate_python(written)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == matches


def test_the_time_zones_are_the_packaged_list_and_each_loads():
    from zoneinfo import ZoneInfo

    assert {"UTC", "Europe/London", "Asia/Kathmandu", "America/New_York"} <= TIME_ZONES
    assert "localtime" not in TIME_ZONES  # a system file, not a zone
    now = datetime(2026, 7, 1, tzinfo=UTC)
    offsets = {now.astimezone(ZoneInfo(name)).utcoffset() for name in sorted(TIME_ZONES)}
    assert timedelta(hours=5, minutes=45) in offsets
    assert timedelta(0) in offsets
