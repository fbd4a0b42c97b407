"""The admin API paths that the gateway forwards: which service each goes to (``ROUTES``) and
who may call what (``RULES``). Two tables, each read top to bottom, first match wins.

Patterns are matched segment by segment: ``{id}`` is exactly one segment, ``**`` (last only)
is zero or more segments, anything else is a shell-style pattern (``pin*`` matches ``pin`` and
``pin-allowed``). A method set of ``None`` means every method.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from .model import ANY_ROLE, MANAGERS, SYSADMIN_ONLY, Role

# The services the gateway forwards to (each has its URL setting: IDENTITY_URL,
# DEVICE_SYNC_URL, PUNCH_URL, FACE_MATCH_URL).
IDENTITY = "identity"
DEVICE_SYNC = "device-sync"
PUNCH = "punch"
FACE_MATCH = "face-match"
UPSTREAMS: tuple[str, ...] = (IDENTITY, DEVICE_SYNC, PUNCH, FACE_MATCH)

# Resources whose next segment is the id of the thing acted on (the audit log's target).
RESOURCES_WITH_IDS = frozenset({"workers", "clocks", "sites", "punches"})
# Below a resource id, ``<collection>/<id>`` names a second thing; the audit template names
# its id too (``/api/v1/clocks/{id}/workers/{worker_id}``), so an action is always a template.
NESTED_IDS = {"workers": "{worker_id}", "clocks": "{clock_id}", "cards": "{number}"}

ALL = None
READS = frozenset({"GET", "HEAD"})
CHANGES_ONE = frozenset({"PUT", "DELETE"})


def _segments(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.strip("/").split("/"))


@dataclass(frozen=True)
class Route:
    pattern: str
    upstream: str

    def matches(self, segments: tuple[str, ...]) -> bool:
        return _match(_segments(self.pattern), segments)


# Where each forwarded path goes (``/api/v1/X`` → ``/internal/v1/X`` on that service).
ROUTES: tuple[Route, ...] = (
    # device-sync: clocks, assignments, the site clock rule, and a worker's clocks (before the
    # rest of /workers, which is identity's).
    Route("/api/v1/workers/{id}/clocks/**", DEVICE_SYNC),
    # device-sync: the biometric templates hardware clocks uploaded (counts, deletion).
    Route("/api/v1/workers/{id}/biometrics", DEVICE_SYNC),
    # face-match: a worker's face enrolment, the tenant's enrolled workers and face settings
    # (before the rest of /workers, which is identity's).
    Route("/api/v1/workers/{id}/face", FACE_MATCH),
    Route("/api/v1/face/**", FACE_MATCH),
    # identity: a clock's PIN failure counters (before the rest of /clocks, device-sync's).
    Route("/api/v1/clocks/{id}/pin-counters/**", IDENTITY),
    Route("/api/v1/clocks/**", DEVICE_SYNC),
    Route("/api/v1/assignments/**", DEVICE_SYNC),
    Route("/api/v1/sites/**", DEVICE_SYNC),
    # device-sync: hardware clocks trying to connect, to adopt (sysadmin; device-sync checks).
    Route("/api/v1/devices/**", DEVICE_SYNC),
    # punch: the ledger (punches, corrections), timesheets, and the one report it owns
    # (before the rest of /reports, which is identity's).
    Route("/api/v1/punches/**", PUNCH),
    Route("/api/v1/timesheets/**", PUNCH),
    Route("/api/v1/reports/suspicious-pin-punches/**", PUNCH),
    # punch: the tenant's punch rules (the evidence policy).
    Route("/api/v1/punch-policy/**", PUNCH),
    # identity: workers, PINs, reports, the PIN policy.
    Route("/api/v1/workers/**", IDENTITY),
    Route("/api/v1/reports/**", IDENTITY),
    Route("/api/v1/pin-policy/**", IDENTITY),
)

# The router forwards every request under these (each path below them has a route above).
PROXIED_PREFIXES: tuple[str, ...] = (
    "/api/v1/workers",
    "/api/v1/reports",
    "/api/v1/pin-policy",
    "/api/v1/clocks",
    "/api/v1/assignments",
    "/api/v1/sites",
    "/api/v1/devices",
    "/api/v1/punches",
    "/api/v1/timesheets",
    "/api/v1/face",
    "/api/v1/punch-policy",
)

# Photo uploads (face enrolment: up to 5 photos of up to 8 MiB) may be larger than the 64 KiB
# every other admin request is held to, and are streamed upstream (entrypoints/proxy.py).
UPLOAD_PATHS: tuple[str, ...] = ("/api/v1/workers/{id}/face",)


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str] | None
    pattern: str
    roles: frozenset[Role]

    def matches(self, method: str, segments: tuple[str, ...]) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        return _match(_segments(self.pattern), segments)


RULES: tuple[Rule, ...] = (
    # PINs: set/change/remove (pin), generate (pin/generate), unlock (pin/unlock), the
    # per-worker switch (pin-allowed) — every method, sysadmins only.
    Rule(ALL, "/api/v1/workers/{id}/pin*/**", SYSADMIN_ONLY),
    Rule(frozenset({"PUT"}), "/api/v1/pin-policy", SYSADMIN_ONLY),
    Rule(frozenset({"PUT"}), "/api/v1/punch-policy", SYSADMIN_ONLY),
    # Hardware clocks no tenant has adopted yet: sysadmins only, reading included.
    Rule(ALL, "/api/v1/devices/**", SYSADMIN_ONLY),
    # A punch's evidence photo is biometric data: the roles that change biometric data (face-match
    # narrows a manager to the workers of their sites); a viewer never sees one.
    Rule(READS, "/api/v1/face/evidence/**", MANAGERS),
    # A clock's PIN failure counters: the roles that may reset them (identity checks it too).
    Rule(READS, "/api/v1/clocks/{id}/pin-counters", MANAGERS),
    # Reading anything else: every role (identity and device-sync narrow a manager to their
    # sites).
    Rule(READS, "/api/v1/**", ANY_ROLE),
    # Registering and editing workers.
    Rule(frozenset({"POST"}), "/api/v1/workers", MANAGERS),
    Rule(frozenset({"POST", "PATCH"}), "/api/v1/workers/{id}", MANAGERS),
    # A worker's badge / proximity cards: adding (POST on the bare path), deleting one
    # (identity narrows a manager to the workers of their sites).
    Rule(frozenset({"POST"}), "/api/v1/workers/{id}/cards", MANAGERS),
    Rule(CHANGES_ONE, "/api/v1/workers/{id}/cards/**", MANAGERS),
    # Who may use which clock (device-sync narrows a manager to the clocks of their sites).
    Rule(CHANGES_ONE, "/api/v1/clocks/{id}/workers/{id}", MANAGERS),
    Rule(frozenset({"POST"}), "/api/v1/assignments", MANAGERS),
    # Resetting a clock's PIN failure counters (someone tried IDs or PINs there).
    Rule(frozenset({"POST"}), "/api/v1/clocks/{id}/pin-counters/reset", MANAGERS),
    Rule(CHANGES_ONE, "/api/v1/workers/{id}/clocks/**", MANAGERS),
    # Face enrolment: uploading a worker's photos, deleting their biometric data.
    Rule(CHANGES_ONE, "/api/v1/workers/{id}/face", MANAGERS),
    # Deleting the templates hardware clocks uploaded (device-sync narrows a manager to the
    # workers of their sites).
    Rule(CHANGES_ONE, "/api/v1/workers/{id}/biometrics", MANAGERS),
    # The ledger: adding a missed punch, voiding or replacing a wrong one (punch narrows a
    # manager to the workers of their sites).
    Rule(frozenset({"POST"}), "/api/v1/punches", MANAGERS),
    Rule(frozenset({"POST"}), "/api/v1/punches/{id}/void", MANAGERS),
    Rule(frozenset({"POST"}), "/api/v1/punches/{id}/replace", MANAGERS),
    # Any other change that is not listed above: sysadmins only (closed by default). Among
    # them: registering, editing, re-keying, revoking and resyncing clocks, the clock rule.
    Rule(ALL, "/api/v1/**", SYSADMIN_ONLY),
)


@dataclass(frozen=True)
class Decision:
    roles: frozenset[Role]
    # The service the request is forwarded to (one of UPSTREAMS); None: not a forwarded path.
    upstream: str | None
    # For the audit log: the path with the target's id replaced by ``{id}``, and that id.
    template: str
    target_id: str | None

    def allows(self, role: Role) -> bool:
        return role in self.roles


class UnsafePath(ValueError):
    """Empty, ``.`` or ``..`` segments: refused rather than normalised, so the path that was
    checked is exactly the path that is forwarded. A control character (``%00``, ``%0A``):
    no id of any service holds one, and the audit log's text cannot store a NUL."""


_CONTROLS = frozenset(chr(c) for c in (*range(0x20), 0x7F))


def split_path(path: str) -> tuple[str, ...]:
    if not _CONTROLS.isdisjoint(path):
        raise UnsafePath(path)
    trimmed = path.strip("/")
    segments = tuple(trimmed.split("/")) if trimmed else ()
    if any(s in ("", ".", "..") for s in segments):
        raise UnsafePath(path)
    return segments


def decide(method: str, path: str) -> Decision:
    """The service that serves ``path``, the roles allowed to send ``method`` to it, and how
    the audit log names it."""
    segments = split_path(path)
    method = method.upper()
    roles = next((r.roles for r in RULES if r.matches(method, segments)), SYSADMIN_ONLY)
    upstream = next((r.upstream for r in ROUTES if r.matches(segments)), None)
    template, target = shape(segments)
    return Decision(roles=roles, upstream=upstream, template=template, target_id=target)


def shape(segments: tuple[str, ...]) -> tuple[str, str | None]:
    if len(segments) > 3 and segments[:2] == ("api", "v1") and segments[2] in RESOURCES_WITH_IDS:
        target = segments[3]
        rest = list(segments[4:])
        if len(rest) > 1 and rest[0] in NESTED_IDS:
            rest[1] = NESTED_IDS[rest[0]]
        return "/" + "/".join((*segments[:3], "{id}", *rest)), target
    return "/" + "/".join(segments), None


def is_upload(path: str) -> bool:
    segments = split_path(path)
    return any(_match(_segments(pattern), segments) for pattern in UPLOAD_PATHS)


def _match(pattern: tuple[str, ...], segments: tuple[str, ...]) -> bool:
    for i, part in enumerate(pattern):
        if part == "**":
            return True
        if i >= len(segments):
            return False
        if part == "{id}":
            continue
        if not fnmatchcase(segments[i], part):
            return False
    return len(segments) == len(pattern)
