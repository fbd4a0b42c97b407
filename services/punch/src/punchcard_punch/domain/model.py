"""The ledger's vocabulary: which way a punch goes and how the worker was identified. Stored
as these values in the ledger (``punches.direction``, ``punches.method``) and named after the
contract's enums (``common.proto`` ``PunchDirection``, ``PunchMethod``)."""

from __future__ import annotations

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
