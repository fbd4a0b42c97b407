"""The role table of the proxied admin paths."""

import pytest
from punchcard_gateway.domain.access import RULES, UnsafePath, decide
from punchcard_gateway.domain.model import Role

W = "/api/v1/workers/7f0c1d7e-0000-4000-8000-000000000001"
S, M, V = Role.SYSADMIN, Role.MANAGER, Role.VIEWER

CASES = [
    # (method, path, roles allowed)
    ("GET", "/api/v1/workers", {S, M, V}),
    ("GET", W, {S, M, V}),
    ("GET", "/api/v1/reports/stale-pins", {S, M, V}),
    ("GET", "/api/v1/pin-policy", {S, M, V}),
    ("POST", "/api/v1/workers", {S, M}),
    ("POST", W, {S, M}),
    ("PATCH", W, {S, M}),
    ("PUT", W + "/pin", {S}),
    ("DELETE", W + "/pin", {S}),
    ("POST", W + "/pin/generate", {S}),
    ("POST", W + "/pin/unlock", {S}),
    ("PUT", W + "/pin-allowed", {S}),
    ("GET", W + "/pin-allowed", {S}),  # anything under pin…: every method
    ("PUT", "/api/v1/pin-policy", {S}),
    # Not listed: changes are for sysadmins only.
    ("DELETE", W, {S}),
    ("PUT", W, {S}),
    ("POST", "/api/v1/reports/stale-pins", {S}),
    ("PATCH", "/api/v1/workers", {S}),
]


@pytest.mark.parametrize(("method", "path", "roles"), CASES)
def test_each_path_allows_exactly_these_roles(method, path, roles):
    decision = decide(method, path)
    assert {role for role in Role if decision.allows(role)} == roles


def test_trailing_slash_and_lower_case_method_decide_the_same():
    assert decide("patch", W + "/").roles == decide("PATCH", W).roles


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/workers/../pin-policy",
        "/api/v1/workers/./x",
        "/api/v1/workers//pin",
        "/api/v1/workers/x/pin/..",
    ],
)
def test_dot_and_empty_segments_are_refused(path):
    with pytest.raises(UnsafePath):
        decide("GET", path)


def test_the_audit_template_names_the_target_separately():
    d = decide("PUT", W + "/pin")
    assert d.template == "/api/v1/workers/{id}/pin"
    assert d.target_id == W.rsplit("/", 1)[1]
    assert decide("POST", "/api/v1/workers").target_id is None
    assert decide("PUT", "/api/v1/pin-policy").template == "/api/v1/pin-policy"
    assert decide("GET", "/api/v1/reports/stale-pins").target_id is None


def test_the_table_ends_closed_for_every_method():
    last = RULES[-1]
    assert last.methods is None and last.pattern == "/api/v1/**"
    assert last.roles == frozenset({Role.SYSADMIN})
