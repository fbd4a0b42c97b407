"""A correction sent twice is made once.

An admin's "Add punch", "Replace" or "Void" can reach punch twice: a double click, the portal
retrying after an answer that was lost (a proxy's timeout, a dropped connection) although the
punch was recorded. Without more, the ledger would count the worker's missed punch twice. So a
client names each correction it means with an ``Idempotency-Key`` (the portal: one per dialog
opened), and punch keeps the key with a fingerprint of the request and the punch it made:

- the same key with the same request answers with **the punch made (or voided) the first
  time** (nothing is written again, no second event);
- the same key with another request (another worker, time, reason, admin...) is **refused**
  (``IDEMPOTENCY_KEY_REUSED``): a client bug, never silently one of the two;
- no key: every request is a new correction, as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping


def fingerprint(kind: str, fields: Mapping[str, object]) -> str:
    """What a keyed request asked for, as a digest: ``kind`` ("add", "replace", "void") and its
    fields (the admin's id among them), in a canonical form (sorted keys; dates and the like as
    text), so the same request always gives the same digest."""
    canonical = json.dumps(
        {"kind": kind, **fields}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def answer_to_repeat(first: tuple[str, str], asked: str) -> str | None:
    """A request repeated with a key already used: ``first`` is (its fingerprint, the punch it
    made), ``asked`` this request's fingerprint. The punch to answer with, or None when the key
    named another request (refused)."""
    first_fingerprint, punch_id = first
    return punch_id if first_fingerprint == asked else None
