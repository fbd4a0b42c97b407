"""Protobuf enum <-> domain enum, by name: one rule instead of a map per service.

A proto enum value ``WORKER_STATUS_ACTIVE`` (prefix ``WORKER_STATUS_``) is the domain member
named ``ACTIVE``; ``*_UNSPECIFIED`` (0) is ``None`` — "not said" (e.g. an update that keeps
the status)."""

from __future__ import annotations

import enum
from typing import Any, TypeVar

E = TypeVar("E", bound=enum.Enum)


def _prefix(proto_enum: Any) -> str:
    # e.g. WorkerStatus -> every value name starts with "WORKER_STATUS_"; found from value 0.
    zero = proto_enum.Name(0)
    return zero.removesuffix("UNSPECIFIED")


def from_proto(proto_enum: Any, value: int, domain_enum: type[E]) -> E | None:
    """The domain member for a proto enum value; ``None`` for 0 (unspecified) or a value
    this build does not know (newer producers may add values within v1)."""
    if not value:
        return None
    try:
        name = proto_enum.Name(value)
    except ValueError:
        return None
    return domain_enum.__members__.get(name.removeprefix(_prefix(proto_enum)))


def to_proto(proto_enum: Any, member: enum.Enum | None) -> int:
    """The proto enum value for a domain member (0 for ``None``)."""
    if member is None:
        return 0
    return proto_enum.Value(_prefix(proto_enum) + member.name)


def proto_name(proto_enum: Any, value: int) -> str:
    """``REJECT_REASON_NOT_ASSIGNED`` -> ``"NOT_ASSIGNED"`` ("" for unspecified/unknown)."""
    if not value:
        return ""
    try:
        return proto_enum.Name(value).removeprefix(_prefix(proto_enum))
    except ValueError:
        return ""


def message_type(message_class: Any) -> str:
    """The envelope type name of a payload class (``punchcard.v1.WorkerRegistered``)."""
    return message_class.DESCRIPTOR.full_name


__all__ = ["from_proto", "message_type", "proto_name", "to_proto"]
