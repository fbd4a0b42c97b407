"""The ledger's rows as the events of proto/punchcard/v1/punch.proto (one mapping, used for
what is published and for what the attempts table answers later)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from punchcard.v1 import common_pb2, punch_pb2
from punchcard_kit.contract_enums import from_proto, proto_name, to_proto
from punchcard_kit.messaging import catalogue
from punchcard_kit.messaging.envelope import set_timestamp

from ..domain.model import Direction, Method

PUNCHES_TOPIC = catalogue.PUNCH_PUNCHES.name

# The ledger's enums and the contract's, by name (``punchcard_kit.contract_enums``).
DIRECTIONS = {d: to_proto(common_pb2.PunchDirection, d) for d in Direction}
DIRECTION_NAMES = {v: k for k, v in DIRECTIONS.items()}
# MANUAL (an admin's correction) has no value in the contract: unspecified.
METHODS = {m: to_proto(common_pb2.PunchMethod, m) if m != Method.MANUAL else 0 for m in Method}
METHOD_NAMES = {v: k for k, v in METHODS.items() if v}


@cache  # a handful of values; called for every verdict
def method_of(value: int) -> Method | None:
    """The ledger's method for a verdict's ``PunchMethod``, by name (FACE, PIN, FINGERPRINT,
    CARD; ``punchcard_kit.contract_enums``). Unspecified is PIN, as a kiosk app's PIN attempt
    has always been taken; None for a value this build does not know (never guessed: as PIN
    it would count in the suspicious-PIN report)."""
    if not value:
        return Method.PIN
    method = from_proto(common_pb2.PunchMethod, value, Method)
    return None if method == Method.MANUAL else method


REASON_PREFIX = "REJECT_REASON_"


def reason_name(value: int) -> str:
    """``REJECT_REASON_WRONG_PIN`` -> ``"WRONG_PIN"`` (0: ``"UNSPECIFIED"``)."""
    return proto_name(common_pb2.RejectReason, value) if value else "UNSPECIFIED"


def reason_value(name: str) -> int:
    return common_pb2.RejectReason.Value(REASON_PREFIX + name)


def _ts(target, value: datetime | None) -> None:
    if value is not None:
        set_timestamp(target, value)  # FromDatetime's result, at a fraction of its cost


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def recorded_event(row: Mapping[str, Any]) -> punch_pb2.PunchRecorded:
    """A ledger row (RECORDED, or a CORRECTION answering a double tap) as PunchRecorded."""
    event = punch_pb2.PunchRecorded(
        punch_id=_str(row["id"]),
        attempt_id=_str(row.get("attempt_id")),
        worker_id=_str(row["worker_id"]),
        employee_id=row["employee_id"],
        worker_display_name=row["display_name"],
        clock_id=_str(row.get("clock_id")),
        site_id=row.get("site_id") or "",
        direction=DIRECTIONS[row["direction"]],
        direction_inferred=bool(row.get("direction_inferred")),
        method=METHODS[row["method"]],
        captured_offline=bool(row.get("captured_offline")),
        needs_review=bool(row.get("needs_review")),
    )
    if row["method"] == Method.FACE and row.get("face_distance") is not None:
        event.face.model_name = row.get("face_model") or ""
        event.face.distance = row["face_distance"]
        event.face.threshold = row.get("face_threshold") or 0.0
        event.face.one_to_one = bool(row.get("face_one_to_one"))
        if row.get("face_margin") is not None:
            event.face.margin = row["face_margin"]
    if row.get("device_verify_mode") is not None:
        event.device_verify_mode = row["device_verify_mode"]
    if row.get("device_state") is not None:
        event.device_state = row["device_state"]
    _ts(event.captured_at, row["punched_at"])
    _ts(event.received_at, row.get("received_at"))
    return event


def corrected_event(row: Mapping[str, Any]) -> punch_pb2.PunchCorrected:
    event = punch_pb2.PunchCorrected(
        punch_id=_str(row["id"]),
        replaces_punch_id=_str(row.get("refers_to")),
        worker_id=_str(row["worker_id"]),
        employee_id=row["employee_id"],
        worker_display_name=row["display_name"],
        clock_id=_str(row.get("clock_id")),
        site_id=row.get("site_id") or "",
        direction=DIRECTIONS[row["direction"]],
        reason=row["reason"],
        admin_id=_str(row["admin_id"]),
    )
    _ts(event.punched_at, row["punched_at"])
    return event


def voided_event(row: Mapping[str, Any]) -> punch_pb2.PunchVoided:
    return punch_pb2.PunchVoided(
        voided_punch_id=_str(row["refers_to"]),
        worker_id=_str(row["worker_id"]),
        reason=row["reason"],
        admin_id=_str(row["admin_id"]),
    )
