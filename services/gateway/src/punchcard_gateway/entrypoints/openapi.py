"""The gateway's OpenAPI is the whole admin API: its own operations, and every operation it
forwards (``proxy.py``) as the upstream service documents it.

Each upstream service's document is a contract snapshotted in ``proto/openapi/<service>.json``
(``tools/gen_openapi.py``); the gateway never imports another service. The merge keeps the
``/internal/v1/…`` operations that ``domain.access.ROUTES`` sends to that service, under their
public ``/api/v1/…`` paths, with:

- the upstream's schemas (one definition each: a schema identical to the gateway's, e.g. the
  error body, is the gateway's; another that would clash gets the service's prefix);
- the bearer security of the admin API, and the roles ``domain.access.RULES`` allows;
- the error body ``{code, message, field}`` on every error status, 401/403/404/409/503
  declared on every forwarded operation (the gateway answers 401/403 itself, 503
  ``UPSTREAM_UNAVAILABLE`` when the service is down), and 422 (the kit's handler answers it
  in the same shape, never FastAPI's ``HTTPValidationError``);
- the request bodies of the kiosk clock calls relayed to device-sync's clock API
  (``RELAYED_BODIES``), which the gateway reads raw;
- operation ids without FastAPI's path suffix (``list_workers``): the portal's generated
  client (``tools/gen_portal_client.py``) names its functions after them."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from punchcard_kit.http_errors import CODES
from punchcard_kit.logging import get_logger

from ..domain.access import UPSTREAMS, decide
from ..domain.model import Role

log = get_logger(__name__)

# A checkout: proto/openapi beside the services (the image sets OPENAPI_DIR).
DEFAULT_DIR = Path(__file__).resolve().parents[5] / "proto" / "openapi"
INTERNAL = "/internal/v1/"
PUBLIC = "/api/v1/"
SECURITY_SCHEME = "OAuth2PasswordBearer"
ERROR = "ErrorPublic"
ERROR_REF = f"#/components/schemas/{ERROR}"
# Declared on every forwarded operation.
FORWARDED_ERRORS = (401, 403, 404, 409, 422, 503)
METHODS = ("get", "put", "post", "delete", "patch")
ROLE_ORDER = list(Role)

EXAMPLES: dict[int, dict[str, Any]] = {
    401: {"code": "UNAUTHENTICATED", "message": "missing bearer token", "field": None},
    403: {"code": "FORBIDDEN", "message": "your role does not allow this", "field": None},
    404: {"code": "NOT_FOUND", "message": "worker not found", "field": None},
    409: {"code": "CONFLICT", "message": "this change clashes", "field": "employee_id"},
    413: {"code": "TOO_LARGE", "message": "the request body is too large", "field": None},
    422: {"code": "INVALID", "message": "Field required", "field": "name"},
    429: {"code": "TOO_MANY_REQUESTS", "message": "try again later", "field": None},
    503: {
        "code": "UPSTREAM_UNAVAILABLE",
        "message": "the service is unavailable; try again shortly",
        "field": None,
    },
}

# The kiosk app's clock calls that the gateway relays to device-sync's clock API as they are
# (it reads their bodies raw, to forward them): their request bodies are device-sync's.
RELAYED_BODIES = {
    ("/kiosk/v1/sync", "post"): ("device-sync", "/clock/v1/sync"),
    ("/kiosk/v1/acks", "post"): ("device-sync", "/clock/v1/acks"),
}

PAGINATION = (
    "Pagination. Lists of things (users, the audit log, workers, clocks, a clock's workers, "
    "the stale-PIN report) take `offset` (the first item, from 0) and `limit` (how many at "
    "most) and answer `{data, count}`, `count` being the whole list's length (workers and "
    "clocks also take `search` and `worker_id` / `clock_id`, repeated: of those only). The "
    "punch ledger (`GET /api/v1/punches`), which grows while it is read, takes `limit` and "
    "`cursor` instead and answers `{data, next_cursor}` (`next_cursor` null on the last "
    "page): pass it back as `cursor` for the next page. The enrolled faces "
    "(`GET /api/v1/face/enrolments`) are paged the same way and answer `{items, next_cursor}` "
    "(`worker_id`, repeated: of those workers only). Other lists are short and whole."
)


def load_upstreams(directory: Path) -> dict[str, dict]:
    """The snapshotted documents, by the service names domain.access routes to."""
    docs = {}
    for service in UPSTREAMS:
        path = directory / f"{service}.json"
        if path.exists():
            docs[service] = json.loads(path.read_text())
        else:
            log.warning("no OpenAPI snapshot; its operations are not documented", path=str(path))
    return docs


def install_openapi(app: FastAPI, directory: Path | None = None) -> None:
    """``app.openapi()`` answers the merged document (built once)."""
    own = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = copy.deepcopy(own())
            merge(doc, load_upstreams(directory or DEFAULT_DIR))
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def merge(doc: dict[str, Any], upstreams: Mapping[str, dict]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    own = set(schemas)
    for service, upstream in upstreams.items():
        renamed = _adopt_schemas(schemas, service, upstream.get("components", {}))
        for path, operations in upstream.get("paths", {}).items():
            if not path.startswith(INTERNAL):
                continue
            public = PUBLIC + path[len(INTERNAL) :]
            for method, operation in operations.items():
                if method not in METHODS:
                    continue
                decision = decide(method, re.sub(r"\{[^}]+\}", "x", public))
                if decision.upstream != service:
                    continue  # not forwarded (e.g. identity's sealing key)
                merged = _rename_refs(copy.deepcopy(operation), renamed)
                merged["operationId"] = _operation_id(merged.get("operationId"), path, method)
                merged["security"] = [{SECURITY_SCHEME: []}]
                roles = sorted(decision.roles, key=ROLE_ORDER.index)
                merged["x-roles"] = [role.value for role in roles]
                merged["x-upstream"] = service
                note = f"Roles: {', '.join(role.value for role in roles)}. Served by {service}."
                merged["description"] = "\n\n".join(
                    part for part in (merged.get("description"), note) if part
                )
                responses = merged.setdefault("responses", {})
                for status in FORWARDED_ERRORS:
                    responses.setdefault(str(status), {})
                doc.setdefault("paths", {}).setdefault(public, {})[method] = merged
        for (path, method), (relayed_by, upstream_path) in RELAYED_BODIES.items():
            body = upstream.get("paths", {}).get(upstream_path, {}).get(method, {})
            own_operation = doc.get("paths", {}).get(path, {}).get(method)
            if relayed_by == service and own_operation is not None and "requestBody" in body:
                own_operation["requestBody"] = _rename_refs(
                    copy.deepcopy(body["requestBody"]), renamed
                )
    _dedupe_operation_ids(doc)
    _error_bodies(doc)
    _drop_unused(schemas, keep=own, roots=doc.get("paths", {}))
    info = doc.setdefault("info", {})
    info["description"] = "\n\n".join(p for p in (info.get("description"), PAGINATION) if p)
    return doc


def _adopt_schemas(schemas: dict, service: str, components: dict) -> dict[str, str]:
    """Adds the upstream's schemas; the name each is known by in the merged document."""
    theirs = components.get("schemas", {})
    prefix = "".join(part.capitalize() for part in service.split("-"))
    renamed = {
        name: name if schemas.get(name) == schema or name not in schemas else prefix + name
        for name, schema in theirs.items()
    }
    for name, schema in theirs.items():
        schemas.setdefault(renamed[name], _rename_refs(copy.deepcopy(schema), renamed))
    return renamed


def _refs(node: Any) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(node)))


def _drop_unused(schemas: dict, keep: set[str], roots: Any) -> None:
    """The upstream schemas no documented operation uses (e.g. a clock's own API's bodies)."""
    used = set(keep) | _refs(roots)
    todo = list(used)
    while todo:
        for name in _refs(schemas.get(todo.pop(), {})) - used:
            used.add(name)
            todo.append(name)
    for name in set(schemas) - used:
        del schemas[name]


def _rename_refs(node: Any, renamed: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            node["$ref"] = f"#/components/schemas/{renamed.get(name, name)}"
        for value in node.values():
            _rename_refs(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rename_refs(value, renamed)
    return node


def _operation_id(operation_id: str | None, path: str, method: str) -> str:
    """FastAPI's default id is ``<function><path>_<method>`` with non-word characters as
    ``_``: the function's name alone."""
    suffix = re.sub(r"\W", "_", path) + f"_{method}"
    if operation_id and operation_id.endswith(suffix) and len(operation_id) > len(suffix):
        return operation_id[: -len(suffix)]
    return operation_id or re.sub(r"\W", "_", f"{method}{path}").strip("_")


def _dedupe_operation_ids(doc: dict) -> None:
    seen: set[str] = set()
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            op_id = operation.get("operationId") or ""
            if "x-upstream" not in operation:
                op_id = _operation_id(op_id, path, method)
            if op_id in seen:
                service = operation.get("x-upstream", "gateway")
                op_id = f"{op_id}_{service.replace('-', '_')}"
            seen.add(op_id)
            operation["operationId"] = op_id


def _error_bodies(doc: dict) -> None:
    """Every 4xx/5xx answer is the one error body (``{code, message, field}``), with an
    example; FastAPI's own validation-error schemas go (the kit never answers them)."""
    schemas = doc["components"]["schemas"]
    schemas.setdefault(
        ERROR,
        {
            "properties": {
                "code": {"title": "Code", "type": "string"},
                "message": {"title": "Message", "type": "string"},
                "field": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Field"},
            },
            "required": ["code", "message"],
            "title": ERROR,
            "type": "object",
        },
    )
    for operations in doc.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            for status, response in operation.get("responses", {}).items():
                if not status.isdigit() or int(status) < 400:
                    continue
                code = int(status)
                example = EXAMPLES.get(code) or {
                    "code": CODES.get(code, "ERROR"),
                    "message": "…",
                    "field": None,
                }
                if code < 500 or code == 503:
                    response["description"] = response.get("description") or CODES.get(
                        code, "error"
                    )
                    if response["description"] in ("Validation Error", ""):
                        response["description"] = CODES.get(code, "error")
                response["content"] = {
                    "application/json": {"schema": {"$ref": ERROR_REF}, "example": example}
                }
    used = json.dumps(doc.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in used:
            schemas.pop(name, None)
