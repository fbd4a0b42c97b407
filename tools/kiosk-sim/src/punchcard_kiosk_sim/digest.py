"""The roster digest of docs/device-sync.md, implemented from the contract (no service import)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


def profile_line(profile: Mapping[str, Any]) -> str:
    """One worker's line: the profile as received, as compact JSON with sorted keys and
    non-ASCII characters as themselves."""
    return json.dumps(profile, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of_lines(lines: Iterable[str]) -> str:
    """SHA-256 (hex) of the lines sorted by code point, joined with newlines, UTF-8 encoded."""
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


def roster_digest(profiles: Iterable[Mapping[str, Any]]) -> str:
    """The digest of a roster given its profiles (an empty roster is the SHA-256 of nothing)."""
    return digest_of_lines(profile_line(p) for p in profiles)
