"""Biometric templates from hardware clocks (ZK PUSH): what a device uploads (``FP``, ``FACE``,
``BIODATA``, ``BIOPHOTO`` records) read into one :class:`Template` value, with bounds, and the
commands that put a stored template on another device or delete a worker's templates there.

A template is pushed in the form it came as (its :class:`Source`): a fingerprint uploaded as
``FP`` goes out as ``DATA UPDATE FINGERTMP``, a legacy ``FACE`` as ``DATA UPDATE FACE``, a
``BIODATA`` record as ``DATA UPDATE BIODATA`` and a ``BIOPHOTO`` as ``DATA UPDATE BIOPHOTO``:
a device family only reads the forms it writes, and the template bytes are never converted.
The deletion of a worker's templates names the tables their templates came as.

Pure Python: no I/O here. The template itself (``data``) is never logged."""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from .zk_records import OperRecord

# Bounds on what a device may upload (every field is untrusted input).
MAX_BADGE_LENGTH = 64
MAX_SLOT = 99  # a finger number / template index (FID, No, Index)
MAX_TEMPLATE_B64 = 64 * 1024  # a fingerprint, face or palm template, base64
MAX_PHOTO_B64 = 512 * 1024  # an enrolment photo (BIOPHOTO), base64
MAX_SMALL_INT = 1_000_000  # Size, Type, MajorVer, MinorVer, Format
MAX_PER_KIND = 30  # templates of one kind per worker (10 fingers x 3; 12 legacy face parts)


class Kind(enum.StrEnum):
    FINGERPRINT = "FINGERPRINT"
    FACE = "FACE"
    PALM = "PALM"
    BIOPHOTO = "BIOPHOTO"


class Source(enum.StrEnum):
    """The record a template came as; it goes out to other devices in the same form."""

    FP = "FP"  # OPERLOG FP       -> DATA UPDATE FINGERTMP (older firmware)
    FACE = "FACE"  # OPERLOG FACE -> DATA UPDATE FACE (older face terminals)
    BIODATA = "BIODATA"  # BIODATA -> DATA UPDATE BIODATA (newer firmware, "unified templates")
    BIOPHOTO = "BIOPHOTO"  # BIOPHOTO -> DATA UPDATE BIOPHOTO (visible-light face from a photo)

    @property
    def table(self) -> str:
        """The device table its templates live in (``DATA DELETE <table>``)."""
        return _TABLES[self]


_TABLES = {
    Source.FP: "FINGERTMP",
    Source.FACE: "FACE",
    Source.BIODATA: "BIODATA",
    Source.BIOPHOTO: "BIOPHOTO",
}
TABLES = tuple(_TABLES.values())

# BIODATA Type (PUSH SDK): 1 fingerprint, 2 face (near infrared), 6 palm print, 8 palm vein,
# 9 visible-light face. Voice, iris, retina and finger vein (3, 4, 5, 7) are not kept.
BIODATA_KINDS = {1: Kind.FINGERPRINT, 2: Kind.FACE, 6: Kind.PALM, 8: Kind.PALM, 9: Kind.FACE}


@dataclass(frozen=True)
class Template:
    """One template of one worker, as a device uploaded it. ``(kind, no, index)`` is its slot:
    a new template in a slot replaces the old one. ``data``: the template, base64, exactly as
    the device sent it (``""`` where only the description is needed)."""

    badge: str  # the device's PIN: the worker's Employee ID
    kind: Kind
    source: Source
    no: int  # FID (FP, FACE), No (BIODATA: the finger), Type (BIOPHOTO)
    index: int = 0  # Index (BIODATA); 0 otherwise
    valid: int = 1
    duress: int = 0
    bio_type: int = 0  # BIODATA / BIOPHOTO Type
    major_ver: int = 0
    minor_ver: int = 0
    format: int = 0
    size: int = 0  # as the device reported it (sent back as is)
    data: str = ""

    @property
    def slot(self) -> tuple[Kind, int, int]:
        return (self.kind, self.no, self.index)

    def describe(self) -> Template:
        """The same template without its data (what may be kept in the clear and logged)."""
        return replace(self, data="")


class Refused(ValueError):
    """A record that is not a usable template: why (never the template), and the field."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def _get(fields: Mapping[str, str], name: str) -> str | None:
    """A field by name, any case (firmware families differ: ``Pin`` / ``PIN``, ``SIZE`` /
    ``Size``)."""
    if name in fields:
        return fields[name]
    lowered = name.lower()
    return next((v for k, v in fields.items() if k.lower() == lowered), None)


def _int(
    fields: Mapping[str, str], name: str, default: int | None = None, top: int = MAX_SMALL_INT
):
    raw = _get(fields, name)
    if raw is None or raw.strip() == "":
        if default is None:
            raise Refused(f"{name} is missing", name)
        return default
    raw = raw.strip()
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 9:
        raise Refused(f"{name} is not a number", name)
    value = int(raw)
    if not 0 <= value <= top:
        raise Refused(f"{name} is out of range (0..{top})", name)
    return value


def _badge(fields: Mapping[str, str]) -> str:
    badge = (_get(fields, "PIN") or "").strip()
    if not badge:
        raise Refused("PIN is missing", "PIN")
    if len(badge) > MAX_BADGE_LENGTH or not badge.isprintable():
        raise Refused("PIN is not a badge number", "PIN")
    return badge


def _data(fields: Mapping[str, str], name: str, limit: int) -> str:
    raw = _get(fields, name)
    if raw is None or not raw.strip():
        raise Refused(f"{name} is missing", name)
    data = "".join(raw.split())  # some firmware wraps long base64
    if len(data) > limit:
        raise Refused(f"{name} is larger than {limit} characters", name)
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(f"{name} is not base64", name) from None
    return data


def _valid(fields: Mapping[str, str]) -> int:
    return _int(fields, "Valid", default=1, top=1)


# The older firmware's OPERLOG template lines: same fields, one per kind.
_LEGACY = {"FP": (Kind.FINGERPRINT, Source.FP), "FACE": (Kind.FACE, Source.FACE)}


def read_template(record: OperRecord) -> Template | None:
    """The template a record carries; None for records that are not templates (``USER``,
    ``OPLOG`` …); :class:`Refused` for a template record out of bounds."""
    word, fields = record.word.upper(), record.fields
    if word in _LEGACY:
        kind, source = _LEGACY[word]
        return Template(
            badge=_badge(fields),
            kind=kind,
            source=source,
            no=_int(fields, "FID", top=MAX_SLOT),
            valid=_valid(fields),
            size=_int(fields, "Size", default=0),  # FACE says SIZE (any case is read)
            data=_data(fields, "TMP", MAX_TEMPLATE_B64),
        )
    if word == "BIODATA":
        bio_type = _int(fields, "Type")
        kind = BIODATA_KINDS.get(bio_type)
        if kind is None:
            raise Refused(f"BIODATA Type {bio_type} is not kept", "Type")
        return Template(
            badge=_badge(fields),
            kind=kind,
            source=Source.BIODATA,
            no=_int(fields, "No", default=0, top=MAX_SLOT),
            index=_int(fields, "Index", default=0, top=MAX_SLOT),
            valid=_valid(fields),
            duress=_int(fields, "Duress", default=0, top=1),
            bio_type=bio_type,
            major_ver=_int(fields, "MajorVer", default=0),
            minor_ver=_int(fields, "MinorVer", default=0),
            format=_int(fields, "Format", default=0),
            data=_data(fields, "Tmp", MAX_TEMPLATE_B64),
        )
    if word == "BIOPHOTO":
        bio_type = _int(fields, "Type", default=9, top=MAX_SLOT)
        return Template(
            badge=_badge(fields),
            kind=Kind.BIOPHOTO,
            source=Source.BIOPHOTO,
            no=bio_type,
            bio_type=bio_type,
            size=_int(fields, "Size", default=0),
            data=_data(fields, "Content", MAX_PHOTO_B64),
        )
    return None


def may_store(existing: Iterable[tuple[Kind, int, int]], template: Template) -> bool:
    """Whether a worker holding templates in ``existing`` slots may store ``template``: a slot
    they hold is replaced; a new slot only while the kind has fewer than MAX_PER_KIND."""
    slots = set(existing)
    if template.slot in slots:
        return True
    return sum(1 for kind, _, _ in slots if kind is template.kind) < MAX_PER_KIND


def _clean(value: str) -> str:
    """A field value on a command line: no tab, line break or NUL can end the field."""
    return "".join(ch for ch in value if ch not in "\t\r\n\x00")


def update_line(template: Template, badge: str) -> str:
    """The command that puts ``template`` on a device, for the worker with Employee ID
    ``badge`` (in the form it came as)."""
    t, pin = template, _clean(badge)
    size = t.size or len(t.data)
    if t.source is Source.FP:
        return (
            f"DATA UPDATE FINGERTMP PIN={pin}\tFID={t.no}\tSize={size}\tValid={t.valid}"
            f"\tTMP={t.data}"
        )
    if t.source is Source.FACE:
        return f"DATA UPDATE FACE PIN={pin}\tFID={t.no}\tSIZE={size}\tVALID={t.valid}\tTMP={t.data}"
    if t.source is Source.BIODATA:
        return (
            f"DATA UPDATE BIODATA Pin={pin}\tNo={t.no}\tIndex={t.index}\tValid={t.valid}"
            f"\tDuress={t.duress}\tType={t.bio_type}\tMajorVer={t.major_ver}"
            f"\tMinorVer={t.minor_ver}\tFormat={t.format}\tTmp={t.data}"
        )
    return f"DATA UPDATE BIOPHOTO PIN={pin}\tType={t.bio_type}\tSize={size}\tContent={t.data}"


def delete_lines(badge: str, tables: Iterable[str]) -> list[str]:
    """The commands that delete every template of a worker from a device, one per table their
    templates came as (``Pin=`` for BIODATA, ``PIN=`` otherwise)."""
    pin = _clean(badge)
    lines = []
    for table in sorted(set(tables) & set(TABLES)):
        key = "Pin" if table == "BIODATA" else "PIN"
        lines.append(f"DATA DELETE {table} {key}={pin}")
    return lines


# When nothing of a worker is stored (deleted already, or never uploaded), a deletion still
# names the two tables every fingerprint device has one of.
DEFAULT_DELETE_TABLES = ("BIODATA", "FINGERTMP")


def tables_of(sources: Iterable[Source]) -> tuple[str, ...]:
    """The tables to delete from: those the worker's templates came as (sorted), or the
    defaults when there were none."""
    tables = sorted({Source(s).table for s in sources})
    return tuple(tables) or DEFAULT_DELETE_TABLES


@dataclass(frozen=True)
class Counts:
    fingerprints: int = 0
    faces: int = 0
    palms: int = 0
    photos: int = 0


def counts(kinds: Iterable[Kind]) -> Counts:
    tally = {k: 0 for k in Kind}
    for kind in kinds:
        tally[Kind(kind)] += 1
    return Counts(tally[Kind.FINGERPRINT], tally[Kind.FACE], tally[Kind.PALM], tally[Kind.BIOPHOTO])
