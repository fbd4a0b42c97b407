"""Who may call what on the admin API paths that the gateway forwards to identity: one table,
read top to bottom, first match wins.

Patterns are matched segment by segment: ``{id}`` is exactly one segment, ``**`` (last only)
is zero or more segments, anything else is a shell-style pattern (``pin*`` matches ``pin`` and
``pin-allowed``). A method set of ``None`` means every method.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from .model import ANY_ROLE, MANAGERS, SYSADMIN_ONLY, Role

# Every request under these is forwarded to identity (``/api/v1/X`` → ``/internal/v1/X``).
PROXIED_PREFIXES: tuple[str, ...] = ("/api/v1/workers", "/api/v1/reports", "/api/v1/pin-policy")
# Resources whose next segment is the id of the thing acted on (the audit log's target).
RESOURCES_WITH_IDS = frozenset({"workers"})

ALL = None
READS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str] | None
    pattern: str
    roles: frozenset[Role]

    def matches(self, method: str, segments: tuple[str, ...]) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        return _match(tuple(self.pattern.strip("/").split("/")), segments)


RULES: tuple[Rule, ...] = (
    # PINs: set/change/remove (pin), generate (pin/generate), unlock (pin/unlock), the
    # per-worker switch (pin-allowed) — every method, sysadmins only.
    Rule(ALL, "/api/v1/workers/{id}/pin*/**", SYSADMIN_ONLY),
    Rule(frozenset({"PUT"}), "/api/v1/pin-policy", SYSADMIN_ONLY),
    # Reading anything else: every role (identity narrows a manager to their sites).
    Rule(READS, "/api/v1/**", ANY_ROLE),
    # Registering and editing workers.
    Rule(frozenset({"POST"}), "/api/v1/workers", MANAGERS),
    Rule(frozenset({"POST", "PATCH"}), "/api/v1/workers/{id}", MANAGERS),
    # Any other change that is not listed above: sysadmins only (closed by default).
    Rule(ALL, "/api/v1/**", SYSADMIN_ONLY),
)


@dataclass(frozen=True)
class Decision:
    roles: frozenset[Role]
    # For the audit log: the path with the target's id replaced by ``{id}``, and that id.
    template: str
    target_id: str | None

    def allows(self, role: Role) -> bool:
        return role in self.roles


class UnsafePath(ValueError):
    """Empty, ``.`` or ``..`` segments: refused rather than normalised, so the path that was
    checked is exactly the path that is forwarded."""


def split_path(path: str) -> tuple[str, ...]:
    trimmed = path.strip("/")
    segments = tuple(trimmed.split("/")) if trimmed else ()
    if any(s in ("", ".", "..") for s in segments):
        raise UnsafePath(path)
    return segments


def decide(method: str, path: str) -> Decision:
    """The roles allowed to send ``method`` to ``path``, and how the audit log names it."""
    segments = split_path(path)
    method = method.upper()
    roles = next((r.roles for r in RULES if r.matches(method, segments)), SYSADMIN_ONLY)
    template, target = shape(segments)
    return Decision(roles=roles, template=template, target_id=target)


def shape(segments: tuple[str, ...]) -> tuple[str, str | None]:
    if len(segments) > 3 and segments[:2] == ("api", "v1") and segments[2] in RESOURCES_WITH_IDS:
        target = segments[3]
        return "/" + "/".join((*segments[:3], "{id}", *segments[4:])), target
    return "/" + "/".join(segments), None


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
