"""A JSON body's booleans and numbers take JSON booleans and numbers only.

pydantic's lax mode (what FastAPI validates request bodies with) reads ``true`` as the integer
1, ``0.0`` or ``"no"`` as False and ``"30"`` as 30. So ``{"max_age_days": true}`` set the PIN
policy to one day, and ``{"devices_verify_pins": 0.0}`` switched it off: a client's mistake
changed a setting, where it should be a 422 that changes nothing (a fuzzer's "schema-violating
request accepted"). Each such field of every service's JSON bodies is strict (``StrictBool``,
``Field(strict=True)``; an int ``JSON_INTEGER``, which also takes 30.0, a JSON Schema integer);
query parameters and form fields stay lax, as they arrive as text."""

from __future__ import annotations

import types
import typing

import pytest
from fastapi.routing import APIRoute
from punchcard_kit.bounds import JSON_INTEGER
from pydantic import BaseModel
from pydantic.types import Strict

from tests.support.apps import SERVICES, service_app

SCALARS = (bool, int, float)


def _strict(metadata) -> bool:
    return any(
        (isinstance(item, Strict) and item.strict) or item == JSON_INTEGER for item in metadata
    )


def lax_scalars(annotation, where: str, seen: set) -> list[str]:
    """Where, inside ``annotation``, a bool, int or float is read in lax mode."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        return [] if _strict(metadata) else lax_scalars(base, where, seen)
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset, dict):
        return [
            found
            for arg in typing.get_args(annotation)
            if arg is not Ellipsis
            for found in lax_scalars(arg, where, seen)
        ]
    if annotation in SCALARS:
        return [where]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return lax_fields(annotation, seen)
    return []


def lax_fields(model: type[BaseModel], seen: set | None = None) -> list[str]:
    seen = set() if seen is None else seen
    if model in seen or model.model_config.get("strict"):
        return []
    seen.add(model)
    return [
        found
        for name, field in model.model_fields.items()
        if not _strict(field.metadata)
        for found in lax_scalars(field.annotation, f"{model.__name__}.{name}", seen)
    ]


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute, also inside the routers an app includes."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (router := getattr(route, "original_router", None)) is not None:
            found.extend(api_routes(router.routes))
    return found


def json_bodies(app) -> list[tuple[str, type[BaseModel]]]:
    """(route, model) of each route whose body is a JSON object (not a form)."""
    bodies = []
    for route in api_routes(app.routes):
        for param in route.dependant.body_params:
            info = param.field_info
            if type(info).__name__ in ("Form", "File"):
                continue
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                bodies.append((f"{sorted(route.methods)[0]} {route.path}", annotation))
    return bodies


def _pydantic_words(node, where: str = "") -> list[str]:
    """Where a schema says "ge", "le", "gt" or "lt" (pydantic's words, not JSON Schema's)."""
    if isinstance(node, dict):
        found = [f"{where}.{k}" for k in ("ge", "le", "gt", "lt") if isinstance(node.get(k), int)]
        for key, value in node.items():
            found += _pydantic_words(value, f"{where}.{key}")
        return found
    if isinstance(node, list):
        return [f for i, item in enumerate(node) for f in _pydantic_words(item, f"{where}[{i}]")]
    return []


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_json_body_reads_booleans_and_numbers_strictly(service):
    app = service_app(service)
    # A bound placed after JSON_INTEGER reaches the OpenAPI as "ge"/"le", which no client reads.
    assert not _pydantic_words(app.openapi()), _pydantic_words(app.openapi())
    bodies = json_bodies(app)
    assert bodies, f"{service} has no JSON body at all?"
    lax = sorted({f"{route}: {found}" for route, model in bodies for found in lax_fields(model)})
    assert not lax, "lax booleans or numbers (make them StrictBool / strict=True):\n" + "\n".join(
        lax
    )


def test_the_walk_finds_a_lax_field_however_it_is_wrapped():
    class Inner(BaseModel):
        n: int

    class Body(BaseModel):
        flag: bool | None = None
        counts: list[typing.Annotated[int, Strict()]] = []
        days: typing.Annotated[int, JSON_INTEGER] | None = None
        inner: Inner | None = None

    assert lax_fields(Body) == ["Body.flag", "Inner.n"]


def test_a_json_integer_is_a_number_without_a_fraction_never_a_boolean_or_text():
    class Body(BaseModel):
        days: typing.Annotated[int, JSON_INTEGER] | None = None

    assert Body.model_validate({"days": 30}).days == 30
    assert Body.model_validate({"days": 30.0}).days == 30
    assert Body.model_validate({"days": None}).days is None
    for bad in (True, False, "30", 30.5, [30]):
        with pytest.raises(ValueError):
            Body.model_validate({"days": bad})
