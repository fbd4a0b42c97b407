"""The gateway's OpenAPI is the whole admin API: every path and method the access table
forwards is documented (from the upstream contracts in proto/openapi), with its roles, the
bearer security and the error body; the snapshots are current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from punchcard_gateway.domain.access import ROUTES, decide
from punchcard_gateway.main import build_app
from punchcard_gateway.settings import GatewaySettings

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
