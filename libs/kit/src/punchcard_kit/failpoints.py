"""Named failure points for crash tests: ``PUNCHCARD_FAILPOINTS="relay.after_publish=kill"``
makes the process SIGKILL itself there (``=kill@3``: the third time it gets there;
``=kill-if:TEXT``: whenever the ``subject`` passed there contains TEXT, e.g. one poison frame),
so a test can prove nothing is lost when a process dies at exactly that point. Unset (always,
outside tests) it costs one truth test."""

from __future__ import annotations

import os
import signal

_ACTIVE: dict[str, str] = {}
_HITS: dict[str, int] = {}


def _load() -> None:
    spec = os.environ.get("PUNCHCARD_FAILPOINTS", "")
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition("=")
        _ACTIVE[name] = action or "kill"


_load()


def failpoint(name: str, subject: bytes | None = None) -> None:
    if not _ACTIVE:
        return
    action = _ACTIVE.get(name)
    if action is None:
        return
    if action.startswith("kill-if:"):
        if subject is not None and action.removeprefix("kill-if:").encode() in subject:
            os.kill(os.getpid(), signal.SIGKILL)
        return
    kind, _, nth = action.partition("@")
    _HITS[name] = _HITS.get(name, 0) + 1
    if kind == "kill" and _HITS[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
