"""The ledger's vocabulary: which way a punch goes and how the worker was identified. Stored
as these values in the ledger (``punches.direction``, ``punches.method``) and named after the
contract's enums (``common.proto`` ``PunchDirection``, ``PunchMethod``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Direction(StrEnum):
    IN = "IN"
    OUT = "OUT"


class Method(StrEnum):
    FACE = "FACE"
    PIN = "PIN"
    # A hardware clock (ZK PUSH) identified the worker by fingerprint or by badge card.
    FINGERPRINT = "FINGERPRINT"
    CARD = "CARD"
    # An admin's correction: no kiosk identified anyone (no value in the contract).
    MANUAL = "MANUAL"


def ledger_order(at: datetime, direction: str, punch_id: str) -> tuple[datetime, bool, str]:
    """The order a worker's punches are read in, by pairing (``timesheet``) and by the IN/OUT
    toggle (``decisions.neighbours``): by time; at one instant an OUT before an IN (an OUT and
    an IN typed at the same minute, a transfer between sites, close one shift and open the
    next, whichever was entered first), then by id. ``adapters/ledger.py``'s ``_NEARBY`` orders
    its SQL the same way."""
    return (at, direction == Direction.IN, punch_id)
