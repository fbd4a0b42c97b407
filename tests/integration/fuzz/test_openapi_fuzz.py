"""Every operation of every service's OpenAPI, fuzzed with schemathesis: valid and invalid
requests, with a valid caller (the gateway: a tenant admin's bearer token, signed in; the kiosk
edge and device-sync's clock API: a clock credential; identity, face-match, punch and
device-sync: internal caller tokens), must pass every check schemathesis makes by default (no
server error, only documented statuses and content types, answers that match their schemas,
schema-violating requests refused, schema-valid ones accepted but for rules no JSON Schema
states: ``UNSTATED_CODES``, ``UNSTATED_FIELDS``, …),
and every 4xx must answer the one error shape, ``{"code", "message", "field"}``
(``tests/support/fuzz.error_shape_problem``; the ZK edge aside, which answers a hardware clock
in the protocol's text lines).
Positive cases name the tenant's real records in their paths (a worker with a PIN and a card,
its clock and site, a punch of theirs and its attempt, an unregistered device's serial), so the
valid requests reach what each operation does to an existing record, not only its 404. The
kiosk's clock is the worker's, and its budgets are raised past the fuzz, so kiosk attempts
reach identity, face-match and punch; a second test sends kiosk attempts near the valid ones
(the worker's PINs, cards and a real face) that a schema alone would rarely make.

The five services run as their own processes on the real stack (kiosk_system). The budget is
fixed and small (``FUZZ_EXAMPLES`` per operation and mode, derandomized: the same examples on
every run, no shrinking), so the whole module stays inside a few minutes on two cores; raise
``FUZZ_EXAMPLES`` locally to search harder, and set ``FUZZ_RANDOM=1`` for new examples on each
run (``--hypothesis-seed=N`` repeats one)."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import requests
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.face import astronaut
from tests.support.fuzz import EXAMPLES, error_shape_problem, fuzz_settings
from tests.support.gateway import (
    create_tenant,
    kiosk,
    login,
    pin_attempt,
    punch_decided,
    worker_on_new_clock,
)
from tests.support.identity import assignments_known
from tests.support.services import ServiceProcess, admin_headers, kiosk_system
from tests.support.stack import documentation_ip, unique

PASSWORD = "a long admin password for the fuzzer"
PIN = "582046"
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
FAILURES = (Failure, FailureGroup)
# schemathesis runs every one of its checks on each answer (as its CLI does by default);
# positive_data_acceptance ("schema-valid request rejected") is run here instead
# (``_rejected_problem``): a request valid by the schema may still break a rule no JSON Schema
# states, and is then a 422 that names the field, for these rules only. Each feature's tests
# hold them; every other rule a client can read in the OpenAPI (a year, a time zone, a Comm
# Key's format, how many photos or pairs, a required parameter or body:
# tests/unit/architecture/test_openapi_states_the_rules.py).
NOT_CHECKED = [positive_data_acceptance]
UNSTATED_CODES = {
    "INVALID_IMAGE",  # a photo that does not decode
    "NOT_A_ZK_CLOCK",  # a kiosk app registered with a Comm Key (both in one body)
    "ASSIGNED_AND_UNASSIGNED",  # one pair in both lists of a bulk assignment change
}
UNSTATED_FIELDS = {
    "cursor",  # an opaque cursor that this API did not give
    "to",  # a range: "to" after "from", at most 93 days
    "sealed_pin",  # a sealed box that only the kiosk edge makes
    "pin",  # a PIN a colleague could guess (identity's PIN policy)
    "punched_at",  # a correction's time has come (punch: PUNCHED_AT_IN_FUTURE)
    "site_ids",  # a manager has at least one site (the gateway's admin users)
    # A kiosk punch's photos: base64 of a JPEG that decodes.
    "frame_jpeg",
    "evidence_jpeg",
    "burst_jpeg",
}
# A kiosk punch: which fields go with which method ("card is required for a CARD punch").
UNSTATED_MESSAGES = re.compile(r"^\w+ (is required for|is not sent with) a (PIN|FACE|CARD) punch$")
# What schemathesis' check accepts of a schema-valid request.
ACCEPTED_REFUSALS = {401, 403, 404, 409, 429}
# A schema-violating request is rejected by a 413 too: a body past its route's size limit (the
# kit's 64 KiB, declared in every OpenAPI) is refused before it is read, and never accepted.
_REJECTED = SchemathesisConfig().projects.default.checks.negative_data_rejection
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {"expected-statuses": [*_REJECTED.expected_statuses, "413"]}
        }
    }
)


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    # The kiosk edge answers "pending" after a short wait: fuzzed punches never hold it long;
    # its per-clock budgets are raised, so the fuzz reaches past the rate limiter (429).
    limits = {f"KIOSK_LIMIT_{kind}_PER_CLOCK": "100000" for kind in ("PUNCH", "PIN", "FACE")}
    # A fuzzed id of a worker or clock no one made is waited for before its 404
    # (PROJECTION_WAIT_S, every service): briefly here, where no such thing is on its way.
    brief = {"PROJECTION_WAIT_S": "0.2"}
    async with kiosk_system(
        tmp, face_match=True, env=brief, KIOSK_WAIT_S="0.2", **limits
    ) as services:
        gateway = services["gateway"]
        email = f"{unique('fuzz')}@example.com"
        tenant_id = create_tenant(gateway, email, PASSWORD)
        admin = await login(gateway, email, PASSWORD)
        async with admin:
            existing, credential = await _existing(services, admin, tenant_id)
        yield {
            **services,
            "tenant_id": tenant_id,
            "admin_token": admin.headers["authorization"],
            # The fuzz's own client address (the gateway believes a proxy on loopback): its
            # wrong passwords at /auth/token fill the login throttle's window of that address,
            # never 127.0.0.1's, where every other test (and the next run) signs in.
            "client_ip": documentation_ip(),
            # The worker's clock: the kiosk's PIN, card and sign-in paths reach identity.
            "clock": {"Authorization": f"Bearer {credential}"},
            "existing": existing,
        }


async def _existing(services, admin, tenant_id: str) -> tuple[dict[str, str], str]:
    """One of each thing a path names, real in the tenant: a worker with a PIN and a card on
    a clock of a site, a punch of theirs (its attempt and its ledger row), a device calling
    with a serial no one registered. Positive cases name these, so that what a valid request
    does to an existing record (not only the 404 of an id no one has) is fuzzed. Also the
    worker's clock's credential."""
    site, employee_id = unique("site"), unique("E")[:20]
    worker_id, clock_id, credential = await worker_on_new_clock(
        services["punch"], admin, tenant_id, "Fuzzed Worker", employee_id, site_id=site
    )
    assert (await admin.put(f"/workers/{worker_id}/pin", json={"pin": PIN})).status_code == 200
    card = str(int(uuid.uuid4()) % 10**10).zfill(10)
    added = await admin.post(f"/workers/{worker_id}/cards", json={"number": card})
    assert added.status_code in (200, 201), added.text
    await assignments_known(services["identity"], tenant_id, [(clock_id, worker_id)])
    async with kiosk(services["gateway"], credential) as http:
        attempt = pin_attempt(employee_id, PIN)
        decided = await punch_decided(http, attempt)
        assert decided.status_code == 200 and decided.json()["status"] == "recorded", decided.text
    serial = unique("ZKU")
    async with httpx.AsyncClient(base_url=services["device-sync"].url) as device:
        called = await device.get("/iclock/cdata", params={"SN": serial, "options": "all"})
        assert called.status_code == 401
    return {
        "employee_id": employee_id,
        "worker_id": worker_id,
        "clock_id": clock_id,
        "site_id": site,
        "attempt_id": attempt["attempt_id"],
        "punch_id": decided.json()["punch"]["punch_id"],
        "number": card,
        "serial_number": serial,
    }, credential


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kiosk_fuzz(system: dict) -> tuple[dict, list[str]]:
    """Kiosk attempts near the valid ones, at the worker's own clock: PINs (the worker's ID in
    other capitals, right, wrong and trivial PINs), cards (theirs, others), faces (a real face,
    noise, junk) with extras, capture times at the edges, an attempt id used again; each PIN
    also as a kiosk sign-in. The answers seen (status, code or reason), and the server errors."""
    gateway, existing, clock = system["gateway"], system["existing"], system["clock"]
    employee = existing["employee_id"]
    frames = [_b64(astronaut(320)), _b64(astronaut(64)), "", "AAAA", _b64(b"\xff\xd8\xff" * 40)]
    times = [
        datetime.now(UTC).isoformat(), "2026-03-29T02:30:00+01:00", "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59+14:00", "2026-10-25T02:30:00.123456+02:00",
    ]  # fmt: skip
    attempt = {
        "PIN": st.fixed_dictionaries(
            {
                "employee_id": st.sampled_from([employee, employee.lower(), employee + "0"]),
                "pin": st.sampled_from([PIN, "0000", "123456", "99999"]),
            }
        ),
        "CARD": st.fixed_dictionaries(
            {"card": st.sampled_from([existing["number"], "0", "1" * 20])}
        ),
        "FACE": st.fixed_dictionaries(
            {"frame_jpeg": st.sampled_from(frames)},
            optional={"burst_jpeg": st.lists(st.sampled_from(frames), max_size=2)},
        ),
    }
    extras = st.fixed_dictionaries(
        {},
        optional={
            "offline": st.booleans(),
            "direction": st.sampled_from([None, "IN", "OUT"]),
            "evidence_jpeg": st.sampled_from(frames),
        },
    )
    seen: dict = {}
    failures: list[str] = []
    session = requests.Session()
    reused = str(uuid.uuid4())

    def post(path: str, body: dict) -> None:
        response = session.post(gateway.url + path, json=body, headers=clock, timeout=60)
        answer = response.json() if response.status_code < 500 else {}
        key = (path, response.status_code, answer.get("reason") or answer.get("code"))
        seen[key] = seen.get(key, 0) + 1
        if response.status_code >= 500:
            failures.append(f"POST {path} {str(body)[:300]}: {response.status_code}")
        elif problem := error_shape_problem(response):
            failures.append(f"POST {path} {str(body)[:300]}: {response.status_code} {problem}")

    @fuzz_settings(8 * EXAMPLES)
    @given(
        method=st.sampled_from(sorted(attempt)),
        data=st.data(),
        extra=extras,
        captured_at=st.sampled_from(times),
        again=st.booleans(),
    )
    def run(method, data, extra, captured_at, again) -> None:
        fields = data.draw(attempt[method])
        attempt_id = reused if again else str(uuid.uuid4())
        body = {"attempt_id": attempt_id, "captured_at": captured_at, "method": method}
        post("/kiosk/v1/punches", {**body, **fields, **extra})
        if method == "PIN":
            post("/kiosk/v1/sign-in", fields)

    run()
    return seen, failures


async def test_kiosk_attempts_near_the_valid_ones_never_get_a_server_error(system):
    """Runs before the OpenAPI fuzz, whose admin operations may revoke the worker's clock."""
    seen, failures = await asyncio.to_thread(_kiosk_fuzz, system)
    assert not failures, "\n".join(failures)
    # The sign-ins reached identity's PIN check (not only bounds, the rate limiter, 401).
    reached = {code for path, status, code in seen if path.endswith("sign-in") and status == 403}
    assert reached & {"WRONG_PIN", "LOCKED_OUT", "KIOSK_ROLE_REQUIRED"}, seen


def _headers_for(name: str, path: str, system: dict) -> dict:
    if path.startswith(("/kiosk/", "/clock/")):
        return system["clock"]
    if name == "gateway":
        return {"Authorization": system["admin_token"], "X-Forwarded-For": system["client_ip"]}
    return admin_headers(system["tenant_id"])


def _tame(case, mode, existing: dict[str, str]) -> None:
    """A clock's long-poll waits no longer than needed for the fuzz; a positive case names the
    tenant's real records in its path."""
    if case.path.endswith("/sync") and isinstance(case.body, dict):
        case.body["wait_s"] = 0
    if mode == GenerationMode.POSITIVE and case.path_parameters:
        for name in case.path_parameters:
            if name in existing:
                case.path_parameters[name] = existing[name]


def fuzz(name: str, service: ServiceProcess, system: dict) -> list[str]:
    """Runs every operation of the service's OpenAPI; the server errors it met, one line each
    with a curl command that reproduces it."""
    schema = schemathesis.openapi.from_url(service.url + "/openapi.json", config=CONFIG)
    failures: list[str] = []
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if name == "gateway" and "x-upstream" in operation.definition.raw:
            # The admin operations the gateway forwards (its OpenAPI documents them from the
            # upstream contracts, marked x-upstream): each service is fuzzed directly below,
            # and fuzzing them through the gateway would only fuzz the forwarding twice.
            continue
        headers = _headers_for(name, operation.path, system)
        for mode in MODES:
            _fuzz_operation(operation, mode, system, service.url, headers, session, failures)
    return failures


def _fuzz_operation(operation, mode, system, base_url, headers, session, failures) -> None:
    @fuzz_settings(EXAMPLES)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        _tame(case, mode, system["existing"])
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=60)
        where = f"{operation.method.upper()} {operation.path} ({mode.value})"
        try:
            case.validate_response(response, headers=headers, excluded_checks=NOT_CHECKED)
        except FAILURES as error:
            failures.append(f"{where}: {error}\n    " + case.as_curl_command(headers=headers))
        problem = _shape_problem(operation.path, response)
        if problem is None and mode == GenerationMode.POSITIVE:
            problem = _rejected_problem(operation.path, response)
        if problem:
            failures.append(
                f"{where}: {response.status_code} {problem}\n    "
                + case.as_curl_command(headers=headers)
            )

    try:
        run()
    except Unsatisfiable:
        pass  # nothing to make invalid (an operation without parameters or body)


@pytest.mark.parametrize("name", ["gateway", "identity", "face-match", "punch", "device-sync"])
async def test_no_operation_answers_a_server_error(system, name):
    failures = await asyncio.to_thread(fuzz, name, system[name], system)
    assert not failures, "\n".join(failures)


def _shape_problem(path: str, response) -> str | None:
    """``error_shape_problem``, but for the ZK edge, which answers hardware clocks in the
    protocol's text lines, errors too."""
    return None if path.startswith("/iclock/") else error_shape_problem(response)


def _rejected_problem(path: str, response) -> str | None:
    """A request valid by its schema refused, but for a rule no JSON Schema states
    (``UNSTATED_CODES``, ``UNSTATED_FIELDS``, ``UNSTATED_MESSAGES``), or None."""
    status = response.status_code
    if not 400 <= status < 500 or status in ACCEPTED_REFUSALS:
        return None
    if path.startswith("/iclock/"):
        return f"schema-valid request rejected: {response.text[:200]!r}"
    error = response.json()
    field = (error.get("field") or "").split("[", 1)[0].split(".", 1)[0]
    if error.get("code") in UNSTATED_CODES or field in UNSTATED_FIELDS:
        return None
    if UNSTATED_MESSAGES.match(error.get("message") or ""):
        return None
    return f"schema-valid request rejected: {error}"


class _Ids(dict):
    """Path parameters: the tenant's real records, a new id for any other."""

    def __missing__(self, key: str) -> str:
        return str(uuid.uuid4())


_BODIES = (
    ("not JSON", b'{"oops": ', "application/json"),
    ("JSON of the wrong kind", b'["a", 1]', "application/json"),
    ("another content type", b"pin=1234", "text/plain"),
    ("a body past the limit", b'{"x": "' + b"a" * (1024 * 1024) + b'"}', "application/json"),
)


def _probe(name: str, service: ServiceProcess, system: dict) -> tuple[list[str], set[int]]:
    """Requests a schema does not make, at every operation of the service: a method its path
    does not take (a 405 naming the path's documented methods in ``Allow``), a body that is not
    JSON, JSON of the wrong kind, another content type, a body past the kit's limit, and no
    credential; and a path no one serves. Each must be a 4xx of the one error shape. The
    problems met, and the statuses seen."""
    document = requests.get(service.url + "/openapi.json", timeout=30).json()
    session = requests.Session()
    problems: list[str] = []
    statuses: set[int] = set()

    def check(method: str, path: str, what: str, allow: set[str] | None = None, **kwargs) -> None:
        response = session.request(method, service.url + path, timeout=60, **kwargs)
        statuses.add(response.status_code)
        if not 400 <= response.status_code < 500:
            problems.append(f"{method} {path} ({what}): {response.status_code}, not a 4xx")
        elif problem := _shape_problem(path, response):
            problems.append(f"{method} {path} ({what}): {response.status_code} {problem}")
        if response.status_code == 405 and allow is not None:
            # RFC 9110: a 405 names the methods the resource has, as its OpenAPI documents.
            said = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
            if said - {"HEAD", "OPTIONS"} != allow:
                problems.append(f"{method} {path} ({what}): Allow {sorted(said)}, not {allow}")

    ids = _Ids(system["existing"])
    check("GET", f"/no-such-path-{uuid.uuid4().hex}", "a path no one serves")
    for template, item in document["paths"].items():
        path = template.format_map(ids)
        headers = _headers_for(name, template, system)
        methods = {m for m in item if m in ("get", "post", "put", "patch", "delete")}
        other = next(m for m in ("patch", "put", "delete", "post") if m not in methods)
        allow = {m.upper() for m in methods}
        check(other.upper(), path, "a method the path does not take", allow, headers=headers)
        check("OPTIONS", path, "OPTIONS, which no path takes", allow, headers=headers)
        for method in sorted(methods):
            operation = item[method]
            if "401" in operation.get("responses", {}):
                check(method.upper(), path, "no credential")
            if "requestBody" not in operation:
                continue
            for what, body, content_type in _BODIES:
                sent = {**headers, "content-type": content_type}
                check(method.upper(), path, what, data=body, headers=sent)
    return problems, statuses


@pytest.mark.parametrize("name", ["gateway", "identity", "face-match", "punch", "device-sync"])
async def test_requests_no_schema_makes_get_a_4xx_of_the_error_shape(system, name):
    problems, statuses = await asyncio.to_thread(_probe, name, system[name], system)
    assert not problems, "\n".join(problems)
    assert {404, 405, 422} <= statuses, statuses
