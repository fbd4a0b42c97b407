"""One record of a ZK PUSH upload (``OPERLOG``/``BIODATA`` tables), as the device edge parses
it: ``FP PIN=1\tFID=6\tSize=..\tValid=1\tTMP=...`` is word ``FP`` with its fields, and the
line's number in the request body (for the logs). Pure Python: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperRecord:
    word: str
    fields: dict[str, str]
    line_no: int
