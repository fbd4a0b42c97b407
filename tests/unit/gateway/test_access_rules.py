"""The route table (which service) and the role table (who) of the proxied admin paths."""

import pytest
from punchcard_gateway.domain.access import (
    DEVICE_SYNC,
    FACE_MATCH,
    IDENTITY,
    PROXIED_PREFIXES,
    PUNCH,
    ROUTES,
    RULES,
    UPSTREAMS,
    UnsafePath,
    decide,
    is_upload,
)
from punchcard_gateway.domain.model import Role

WORKER_ID = "7f0c1d7e-0000-4000-8000-000000000001"
CLOCK_ID = "c10c0000-0000-4000-8000-000000000002"
W = f"/api/v1/workers/{WORKER_ID}"
C = f"/api/v1/clocks/{CLOCK_ID}"
SITE = "/api/v1/sites/north"
PUNCH_ID = "90c40000-0000-4000-8000-000000000003"
P = f"/api/v1/punches/{PUNCH_ID}"
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
    ("GET", "/api/v1/punch-policy", {S, M, V}),
    ("PUT", "/api/v1/punch-policy", {S}),
    # Not listed: changes are for sysadmins only.
    ("DELETE", W, {S}),
    ("PUT", W, {S}),
    ("POST", "/api/v1/reports/stale-pins", {S}),
    ("PATCH", "/api/v1/workers", {S}),
    # device-sync: reading, every role.
    ("GET", "/api/v1/clocks", {S, M, V}),
    ("GET", C, {S, M, V}),
    ("GET", C + "/commands", {S, M, V}),
    ("GET", C + "/workers", {S, M, V}),
    ("GET", W + "/clocks", {S, M, V}),
    ("GET", SITE + "/clock-rule", {S, M, V}),
    # Who may use which clock: managers (device-sync narrows them to their sites' clocks).
    ("PUT", C + f"/workers/{WORKER_ID}", {S, M}),
    ("DELETE", C + f"/workers/{WORKER_ID}", {S, M}),
    ("POST", "/api/v1/assignments", {S, M}),
    ("PUT", W + "/clocks", {S, M}),
    ("PUT", W + f"/clocks/{CLOCK_ID}", {S, M}),
    ("DELETE", W + f"/clocks/{CLOCK_ID}", {S, M}),
    # The clocks themselves and the site rule: sysadmins only.
    ("POST", "/api/v1/clocks", {S}),
    ("PATCH", C, {S}),
    ("POST", C + "/credential", {S}),
    ("POST", C + "/revoke", {S}),
    ("POST", C + "/resync", {S}),
    ("PUT", SITE + "/clock-rule", {S}),
    # Not listed: closed.
    ("DELETE", C, {S}),
    ("PUT", C, {S}),
    ("POST", C + f"/workers/{WORKER_ID}", {S}),
    ("PATCH", C + f"/workers/{WORKER_ID}", {S}),
    ("PUT", C + "/workers", {S}),
    ("PUT", "/api/v1/assignments", {S}),
    ("DELETE", "/api/v1/assignments", {S}),
    ("POST", W + "/clocks", {S}),
    ("PATCH", W + f"/clocks/{CLOCK_ID}", {S}),
    ("DELETE", SITE + "/clock-rule", {S}),
    # punch: reading the ledger, timesheets and its report, every role (punch narrows a
    # manager to their sites).
    ("GET", "/api/v1/punches", {S, M, V}),
    ("GET", P, {S, M, V}),
    ("GET", "/api/v1/timesheets", {S, M, V}),
    ("GET", f"/api/v1/timesheets/{WORKER_ID}", {S, M, V}),
    ("GET", "/api/v1/reports/suspicious-pin-punches", {S, M, V}),
    # Adding a missed punch, voiding or replacing one: managers.
    ("POST", "/api/v1/punches", {S, M}),
    ("POST", P + "/void", {S, M}),
    ("POST", P + "/replace", {S, M}),
    # Not listed: closed.
    ("PATCH", P, {S}),
    ("DELETE", P, {S}),
    ("PUT", P, {S}),
    ("POST", P, {S}),
    ("PUT", P + "/void", {S}),
    ("POST", P + "/void/x", {S}),
    ("POST", "/api/v1/timesheets", {S}),
    ("POST", "/api/v1/reports/suspicious-pin-punches", {S}),
    # Face enrolment: managers upload photos and delete biometrics; settings are sysadmins'.
    ("GET", W + "/face", {S, M, V}),
    ("PUT", W + "/face", {S, M}),
    ("DELETE", W + "/face", {S, M}),
    ("POST", W + "/face", {S}),
    ("GET", "/api/v1/face/enrolments", {S, M, V}),
    # Templates from hardware clocks: read by every role, deleted by managers (device-sync).
    ("GET", W + "/biometrics", {S, M, V}),
    ("DELETE", W + "/biometrics", {S, M}),
    ("POST", W + "/biometrics", {S}),
    ("PUT", "/api/v1/face/settings", {S}),
    # A punch's evidence photo (issue 17): biometric data, never a viewer's; deleting: sysadmins.
    ("GET", "/api/v1/face/evidence/4e6a8c0e-2b4d-4f6a-9c1e-3a5c7e9b1d3f", {S, M}),
    ("DELETE", "/api/v1/face/evidence/4e6a8c0e-2b4d-4f6a-9c1e-3a5c7e9b1d3f", {S}),
    ("DELETE", "/api/v1/face/evidence", {S}),
    # A worker's badge cards (identity): read by every role, added and deleted by managers.
    ("GET", W + "/cards", {S, M, V}),
    ("POST", W + "/cards", {S, M}),
    ("DELETE", W + "/cards/0004471234", {S, M}),
    ("POST", W + "/cards/0004471234", {S}),
    ("PATCH", W + "/cards", {S}),
    # A clock's PIN failure counters (identity): read by every role, reset by managers.
    ("GET", C + "/pin-counters", {S, M}),
    ("POST", C + "/pin-counters/reset", {S, M}),
    ("DELETE", C + "/pin-counters", {S}),
]


@pytest.mark.parametrize(("method", "path", "roles"), CASES)
def test_each_path_allows_exactly_these_roles(method, path, roles):
    decision = decide(method, path)
    assert {role for role in Role if decision.allows(role)} == roles


def test_trailing_slash_and_lower_case_method_decide_the_same():
    assert decide("patch", W + "/").roles == decide("PATCH", W).roles
    assert decide("put", C + f"/workers/{WORKER_ID}/").roles == {S, M}


ROUTED = [
    # (path, the service it goes to)
    ("/api/v1/workers", IDENTITY),
    (W, IDENTITY),
    (W + "/pin", IDENTITY),
    (W + "/pin-allowed", IDENTITY),
    (W + "/clocksx", IDENTITY),  # a whole segment, not a prefix of one
    ("/api/v1/reports/stale-pins", IDENTITY),
    ("/api/v1/pin-policy", IDENTITY),
    ("/api/v1/punch-policy", PUNCH),
    ("/api/v1/clocks", DEVICE_SYNC),
    (C, DEVICE_SYNC),
    (C + "/credential", DEVICE_SYNC),
    (C + f"/workers/{WORKER_ID}", DEVICE_SYNC),
    ("/api/v1/assignments", DEVICE_SYNC),
    (SITE + "/clock-rule", DEVICE_SYNC),
    (W + "/clocks", DEVICE_SYNC),
    (W + f"/clocks/{CLOCK_ID}", DEVICE_SYNC),
    ("/api/v1/punches", PUNCH),
    (P, PUNCH),
    (P + "/void", PUNCH),
    (P + "/replace", PUNCH),
    ("/api/v1/timesheets", PUNCH),
    (f"/api/v1/timesheets/{WORKER_ID}", PUNCH),
    ("/api/v1/reports/suspicious-pin-punches", PUNCH),
    ("/api/v1/reports/suspicious-pin-punches/x", PUNCH),
    ("/api/v1/reports/suspicious-pin-punchesx", IDENTITY),  # a whole segment
    ("/api/v1/punchesx", None),
    (W + "/face", FACE_MATCH),
    (W + "/biometrics", DEVICE_SYNC),
    (W + "/biometricsx", IDENTITY),  # a whole segment
    (W + "/facex", IDENTITY),
    ("/api/v1/face/enrolments", FACE_MATCH),
    ("/api/v1/face/settings", FACE_MATCH),
    (C + "/pin-counters", IDENTITY),
    (C + "/pin-counters/reset", IDENTITY),
    (C + "/pin-countersx", DEVICE_SYNC),
    (W + "/cards", IDENTITY),
    (W + "/cards/0004471234", IDENTITY),
]


def test_only_face_enrolment_takes_large_uploads():
    assert is_upload(W + "/face")
    assert not is_upload(W)
    assert not is_upload("/api/v1/face/settings")


@pytest.mark.parametrize(("path", "upstream"), ROUTED)
def test_each_path_goes_to_exactly_one_service(path, upstream):
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert decide(method, path).upstream == upstream, (method, path)


def test_every_proxied_prefix_is_routed_and_every_route_is_proxied():
    for prefix in PROXIED_PREFIXES:
        assert decide("GET", prefix).upstream in UPSTREAMS, prefix
        assert decide("GET", prefix + "/x/y").upstream in UPSTREAMS, prefix
    for route in ROUTES:
        assert route.upstream in UPSTREAMS
        assert any(route.pattern.startswith(prefix + "/") for prefix in PROXIED_PREFIXES)


def test_a_path_outside_the_tables_goes_nowhere():
    assert decide("GET", "/api/v1/users").upstream is None
    assert decide("GET", "/api/v1/clocksx").upstream is None


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/workers/../pin-policy",
        "/api/v1/workers/./x",
        "/api/v1/workers//pin",
        "/api/v1/workers/x/pin/..",
        "/api/v1/workers/a\nb/face",
        "/api/v1/workers/\x00/pin",
        "/api/v1/workers/x\x7f",
    ],
)
def test_dot_and_empty_segments_and_control_characters_are_refused(path):
    with pytest.raises(UnsafePath):
        decide("GET", path)


def test_the_audit_template_names_the_target_separately():
    d = decide("PUT", W + "/pin")
    assert d.template == "/api/v1/workers/{id}/pin"
    assert d.target_id == W.rsplit("/", 1)[1]
    assert decide("POST", "/api/v1/workers").target_id is None
    assert decide("PUT", "/api/v1/pin-policy").template == "/api/v1/pin-policy"
    assert decide("GET", "/api/v1/reports/stale-pins").target_id is None


@pytest.mark.parametrize(
    ("method", "path", "template", "target"),
    [
        ("POST", "/api/v1/clocks", "/api/v1/clocks", None),
        ("PATCH", C, "/api/v1/clocks/{id}", CLOCK_ID),
        ("POST", C + "/credential", "/api/v1/clocks/{id}/credential", CLOCK_ID),
        ("POST", C + "/revoke", "/api/v1/clocks/{id}/revoke", CLOCK_ID),
        ("PUT", C + f"/workers/{WORKER_ID}", "/api/v1/clocks/{id}/workers/{worker_id}", CLOCK_ID),
        ("DELETE", W + f"/clocks/{CLOCK_ID}", "/api/v1/workers/{id}/clocks/{clock_id}", WORKER_ID),
        ("POST", "/api/v1/assignments", "/api/v1/assignments", None),
        ("PUT", SITE + "/clock-rule", "/api/v1/sites/{id}/clock-rule", "north"),
        ("POST", "/api/v1/punches", "/api/v1/punches", None),
        ("POST", P + "/void", "/api/v1/punches/{id}/void", PUNCH_ID),
        ("POST", P + "/replace", "/api/v1/punches/{id}/replace", PUNCH_ID),
    ],
)
def test_device_sync_changes_are_audited_by_template_and_target(method, path, template, target):
    d = decide(method, path)
    assert (d.template, d.target_id) == (template, target)


def test_the_table_ends_closed_for_every_method():
    last = RULES[-1]
    assert last.methods is None and last.pattern == "/api/v1/**"
    assert last.roles == frozenset({Role.SYSADMIN})


def test_the_audit_log_names_a_card_change_by_its_worker_not_the_number():
    decision = decide("DELETE", W + "/cards/0004471234")
    assert decision.template == "/api/v1/workers/{id}/cards/{number}"
    assert decision.target_id == WORKER_ID
