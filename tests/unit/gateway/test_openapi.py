"""The gateway's OpenAPI is the whole admin API: every path and method the access table
forwards is documented (from the upstream contracts in proto/openapi), with its roles, the
bearer security and the error body; the snapshots are current."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from punchcard_gateway.domain.access import ROUTES, decide
from punchcard_gateway.entrypoints.kiosk import KioskPunchIn
from punchcard_gateway.main import build_app
from punchcard_gateway.settings import GatewaySettings
from punchcard_identity.domain.pin_policy import check_pin
from punchcard_identity.entrypoints.api import PinGenerated, PinSetRequest
from punchcard_kit.credentials import is_employee_id, is_pin_format
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[3]
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def doc() -> dict:
    # The tools' own settings: what /openapi.json answers is what the portal's client is made of.
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from gen_openapi import TEST_SETTINGS
    finally:
        sys.path.pop(0)
    return TestClient(build_app(GatewaySettings(**TEST_SETTINGS))).get("/openapi.json").json()


def operations(doc: dict):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method in METHODS:
                yield path, method, op


def test_the_snapshots_of_the_upstream_contracts_are_current():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_openapi.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_every_forwarded_route_is_documented(doc):
    forwarded = {(p, m) for p, m, op in operations(doc) if "x-upstream" in op}
    # Every route of the access table has operations, each under that route's service.
    for route in ROUTES:
        prefix = route.pattern.removesuffix("/**")
        shape = re.sub(r"\{id\}", r"{[^}/]+}", re.escape(prefix).replace(r"\{id\}", "{id}"))
        assert any(re.match(shape, p) for p, _ in forwarded), route.pattern
    for path, method, op in operations(doc):
        if "x-upstream" not in op:
            continue
        decision = decide(method, re.sub(r"\{[^}]+\}", "x", path))
        assert decision.upstream == op["x-upstream"], (method, path)
        assert op["x-roles"] == [r.value for r in decision.roles] or set(op["x-roles"]) == {
            r.value for r in decision.roles
        }
        assert op["security"] == [{"OAuth2PasswordBearer": []}]
    assert len(forwarded) >= 40


def test_every_operation_declares_its_error_responses(doc):
    for path, method, op in operations(doc):
        if path in ("/healthz", "/readyz"):
            continue
        responses = op["responses"]
        errors = [s for s in responses if s.isdigit() and int(s) >= 400]
        assert errors, (method, path)
        for status in errors:
            body = responses[status]["content"]["application/json"]
            assert body["schema"] == {"$ref": "#/components/schemas/ErrorPublic"}, (method, path)
            assert set(body["example"]) == {"code", "message", "field"}
        if "x-upstream" in op:
            assert {"401", "403", "404", "409", "503"} <= set(responses), (method, path)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_operation_ids_are_unique_and_every_ref_resolves(doc):
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', str(doc).replace("'", '"')))
    assert refs <= set(doc["components"]["schemas"])


def test_the_portal_client_is_generated_from_this_openapi():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_portal_client.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- examples ------------------------------------------------------------------------------
# The modules whose models the admin API's bodies are; tools/gen_openapi.py builds these
# services in-process too.
MODEL_MODULES = (
    "punchcard_gateway.entrypoints.schemas",
    "punchcard_gateway.entrypoints.kiosk",
    "punchcard_identity.entrypoints.api",
    "punchcard_device_sync.entrypoints.admin_api",
    "punchcard_punch.entrypoints.schemas",
    "punchcard_face_match.entrypoints.api",
)


def _schema(doc: dict, node: dict) -> dict:
    ref = node.get("$ref", "")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def _has_example(doc: dict, media: dict) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = _schema(doc, media.get("schema", {}))
    return bool(schema.get("examples") or "example" in schema)


def test_every_json_request_body_has_an_example(doc):
    missing = [
        (method, path)
        for path, method, op in operations(doc)
        for media_type, media in op.get("requestBody", {}).get("content", {}).items()
        if "json" in media_type and not _has_example(doc, media)
    ]
    assert not missing


def test_the_admin_api_answers_have_examples(doc):
    missing = []
    for path, method, op in operations(doc):
        if not path.startswith("/api/v1/"):
            continue
        for status, response in op["responses"].items():
            media = response.get("content", {}).get("application/json")
            if status.startswith("2") and media and not _has_example(doc, media):
                missing.append((method, path, status))
    assert not missing


def _models_with_examples():
    for name in MODEL_MODULES:
        module = importlib.import_module(name)
        for model in vars(module).values():
            if (
                inspect.isclass(model)
                and issubclass(model, BaseModel)
                and model.__module__ == name
                and "examples" in (model.model_config.get("json_schema_extra") or {})
            ):
                yield pytest.param(model, id=f"{name.split('.')[0]}.{model.__name__}")


@pytest.mark.parametrize("model", list(_models_with_examples()))
def test_each_example_is_valid_for_its_model(model):
    examples = model.model_config["json_schema_extra"]["examples"]
    assert examples
    for example in examples:
        # As a body arrives: JSON, validated by the model (its bounds included).
        model.model_validate_json(json.dumps(example))
        # And as the document shows it: the example is the model's own (nothing dropped).
        assert set(example) <= {f.alias or n for n, f in model.model_fields.items()}


def test_the_example_pins_are_valid_and_not_weak():
    for model in (PinSetRequest, PinGenerated, KioskPunchIn):
        for example in model.model_config["json_schema_extra"]["examples"]:
            employee_id = example.get("employee_id") or example.get("worker", {}).get(
                "employee_id", ""
            )
            assert is_pin_format(example["pin"]), model
            assert check_pin(example["pin"], employee_id) is None, model
            assert not employee_id or is_employee_id(employee_id), model


def test_the_example_ids_are_canonical_uuids(doc):
    text = json.dumps([s.get("examples") for s in doc["components"]["schemas"].values()])
    uuid_like = re.findall(r'"([0-9a-fA-F-]{36})"', text)
    assert uuid_like
    for value in uuid_like:
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
        )
