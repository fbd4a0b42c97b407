"""The ZKTeco PUSH (ADMS) protocol, as pure rules: what a device's request says (query,
ATTLOG/OPERLOG/BIODATA lines, command results) and what the server answers (the handshake,
the time, command lines). Every value a device sends is untrusted and bounded here; a line
that breaks a rule is refused with its line number and nothing of it is recorded, while the
batch is still answered ``OK`` (an error makes the device resend forever). No I/O here."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from punchcard_kit.credentials import PIN_MAX_LENGTH

from .model import CommandKind
from .zk_records import OperRecord

# --- bounds --------------------------------------------------------------------------------

SERIAL_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
BADGE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # the worker's Employee ID (kit.credentials)
STAMP_PATTERN = re.compile(r"^[0-9]{1,20}$")
TABLE_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,32}$")
WORD_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
MAX_QUERY_VALUE = 500  # characters of one query value (INFO is the longest)
MAX_FIELD = 64  # characters of one ATTLOG field
MAX_ATTLOG_FIELDS = 12  # PIN, time, State, VerifyMode, WorkCode and reserved ones
MIN_ATTLOG_FIELDS = 4
MAX_LINES = 20_000  # lines of one upload
MAX_OPER_LINE = 256 * 1024  # one OPERLOG/BIODATA line (a template or a photo, base64)
MAX_OPER_FIELDS = 64
MAX_DEVICECMD_LINES = 1000
MAX_RESULT_CODE = 100_000
MAX_STATE = 255
MAX_VERIFY_MODE = 9999
# A device's clock reads a year in this range (anything else is a broken clock or junk).
MIN_YEAR, MAX_YEAR = 2000, 2099
NAME_LENGTH = 24  # characters of a user's Name on the device
# A getrequest answer: at most this many command lines and bytes (the protocol's limits).
MAX_COMMANDS_PER_REPLY = 200
MAX_REPLY_BYTES = 40 * 1024
# Ids of commands the edge sends outside the durable queue (``CHECK``: re-handshake, which
# hands the device its time zone again). Queue sequences never reach it in practice.
CHECK_COMMAND_ID = 999_999_999

DEVICE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# The fixed namespace of device punches' attempt ids (uuid5): the same record, however often
# the device sends it, is the same attempt.
ATTEMPT_NAMESPACE = uuid.UUID("6d1f3c2e-8a4b-5f7e-9c0d-1e2f3a4b5c6d")
_ATTEMPT_NAMESPACE_BYTES = ATTEMPT_NAMESPACE.bytes
# A record that reaches the server more than this after its device time was captured offline.
OFFLINE_AFTER = timedelta(seconds=60)


class ZkInvalid(ValueError):
    """A device request the edge refuses (the field named)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


# --- the query ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceQuery:
    serial: str
    table: str | None = None
    stamp: str | None = None
    options: str | None = None
    type: str | None = None
    push_version: str = ""
    language: str = ""
    info: str | None = None
    com_key: str | None = None  # pushcommkey= (the device's Comm Key, where it has one)


def _text(value: str, name: str, limit: int = MAX_QUERY_VALUE) -> str:
    if len(value) > limit or "\x00" in value:
        raise ZkInvalid(name, f"at most {limit} characters, no NUL")
    return value


def parse_query(query: str | Mapping[str, str]) -> DeviceQuery:
    """The device's query string (case of the keys as firmware sends them: ``SN`` (or ``sn``),
    ``table``, ``Stamp`` (or ``OpStamp``), ``options``, ``type``, ``pushver``, ``language``,
    ``INFO``). Unknown keys are ignored; a bad serial, table or stamp is refused."""
    if isinstance(query, str):
        if len(query) > 4096:
            raise ZkInvalid("query", "too long")
        try:
            pairs = dict(parse_qsl(query, keep_blank_values=True, max_num_fields=64))
        except ValueError:
            raise ZkInvalid("query", "at most 64 fields") from None
    else:
        pairs = dict(query)
    # ``SN`` as the protocol spells it; ``sn`` as some rebadged firmware does.
    serial = pairs.get("SN", pairs.get("sn", "")).strip()
    if not SERIAL_PATTERN.match(serial):
        raise ZkInvalid("SN", "a serial number of 1-64 letters, digits, _ . : -")
    table = pairs.get("table")
    if table is not None and not TABLE_PATTERN.match(table):
        raise ZkInvalid("table", "letters, digits and _, at most 32")
    # ``Stamp``; an OPERLOG upload's ``OpStamp`` as many firmware versions name it.
    stamp = pairs.get("Stamp", pairs.get("OpStamp"))
    if stamp is not None and stamp != "" and not STAMP_PATTERN.match(stamp):
        stamp = None  # some firmware sends "None" or junk: as if it sent none
    return DeviceQuery(
        serial=serial,
        table=table.upper() if table else None,
        stamp=stamp or None,
        options=_text(pairs["options"], "options", 32) if "options" in pairs else None,
        type=_text(pairs["type"], "type", 32) if "type" in pairs else None,
        push_version=_text(pairs.get("pushver", ""), "pushver", 32),
        language=_text(pairs.get("language", ""), "language", 32),
        info=_text(pairs["INFO"], "INFO") if "INFO" in pairs else None,
        com_key=_com_key(pairs),
    )


def serial_key(serial: str) -> str:
    """How a registered serial is found: in any case. Firmware sends its serial as the label
    prints it (capitals, e.g. ``CQZ7232360123``); an admin may type it in small letters, and
    a clock registered so would otherwise never be served (serials are ASCII:
    ``SERIAL_PATTERN``). The serial shown and answered (``GET OPTION FROM:``) stays as typed
    or sent."""
    return serial.upper()


def _com_key(pairs: Mapping[str, str]) -> str | None:
    """``pushcommkey`` (or ``PushCommKey``, as firmware spells it), bounded; None if absent."""
    for name, value in pairs.items():
        if name.lower() == "pushcommkey" and value:
            return _text(value, "pushcommkey", COM_KEY_MAX_LENGTH)
    return None


# --- the Comm Key ----------------------------------------------------------------------------

COM_KEY_MAX_LENGTH = 64
COM_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def com_key_digest(clock_id: str, key: str) -> bytes:
    """What is stored of a clock's Comm Key: SHA-256 over a fixed label, the clock's id and the
    key (never the key). It is a shared token the device sends in the clear, not a password:
    this keeps it out of database dumps, and one clock's digest says nothing of another's."""
    return hashlib.sha256(f"punchcard/zk-comkey/v1\0{clock_id}\0{key}".encode()).digest()


class Admission(enum.StrEnum):
    ADMIT = "ADMIT"  # serve it
    ADMIT_AND_BIND = "ADMIT_AND_BIND"  # serve it; later requests from this address are its
    REFUSE = "REFUSE"  # 401, as an unknown serial


def com_key_admission(
    *,
    clock_id: str,
    digest: bytes | None,
    offered: str | None,
    handshake: bool,
    remote_addr: str,
    keyed_address: str | None,
) -> Admission:
    """Whether a request of a clock with a Comm Key (``digest``) is served. Without a key:
    always. With one: a request that carries ``pushcommkey`` is served when it is the right
    key (a handshake with the right key binds the device's address); one that carries none is
    a handshake → refused (firmware with a key sends it there), else served only from the
    address of the last handshake that carried the right key (firmware sends the key on the
    handshake, not on every poll and upload)."""
    if digest is None:
        return Admission.ADMIT
    if offered is not None:
        if not hmac.compare_digest(com_key_digest(clock_id, offered), digest):
            return Admission.REFUSE
        return Admission.ADMIT_AND_BIND if handshake else Admission.ADMIT
    if handshake or not remote_addr or remote_addr != keyed_address:
        return Admission.REFUSE
    return Admission.ADMIT


@dataclass(frozen=True)
class DeviceInfo:
    """``INFO=<firmware>,<users>,<fingerprints>,<punches>,<ip>,<fp version>,<face version>,
    <faces needed>,<faces>,…`` on the first poll after a handshake (absent values: None)."""

    firmware: str = ""
    users: int | None = None
    fingerprints: int | None = None
    punches: int | None = None
    ip: str = ""
    faces: int | None = None


_DIGITS = re.compile(r"^[0-9]{1,9}$")  # ASCII digits only (str.isdigit takes "²")


def _count(text: str) -> int | None:
    text = text.strip()
    return int(text) if _DIGITS.match(text) else None


def parse_info(info: str) -> DeviceInfo:
    parts = [p.strip() for p in info.split(",")]

    def at(i: int) -> str:
        return parts[i] if i < len(parts) else ""

    ip = at(4)
    return DeviceInfo(
        firmware=at(0)[:100],
        users=_count(at(1)),
        fingerprints=_count(at(2)),
        punches=_count(at(3)),
        ip=ip if re.match(r"^[0-9A-Fa-f.:]{1,45}$", ip) else "",
        faces=_count(at(8)),
    )


# --- ATTLOG ------------------------------------------------------------------------------


class Direction(enum.StrEnum):
    IN = "IN"
    OUT = "OUT"
    UNSPECIFIED = "UNSPECIFIED"  # punch's toggle rule


class Method(enum.StrEnum):
    PIN = "PIN"
    FINGERPRINT = "FINGERPRINT"
    CARD = "CARD"
    FACE = "FACE"


@dataclass(frozen=True)
class AttRecord:
    line_no: int
    badge: str
    device_time: datetime  # naive: the device's local time
    state: int
    verify_mode: int
    work_code: str = ""


@dataclass(frozen=True)
class Refused:
    line_no: int
    reason: str


@dataclass(frozen=True)
class Parsed:
    records: list[AttRecord] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def _lines(body: str) -> list[str]:
    """The body's lines, ended by LF, CRLF or a bare CR (firmware sends each), a leading
    byte-order mark dropped. At most ``MAX_LINES`` of them hold a record: blank lines (the
    newline that ends the last one) do not count."""
    if "\r" in body:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    lines = body.removeprefix("\ufeff").split("\n")
    if len(lines) > MAX_LINES and sum(1 for line in lines if line.strip()) > MAX_LINES:
        raise ZkInvalid("body", f"at most {MAX_LINES} lines")
    return lines


def parse_device_time(text: str) -> datetime | None:
    """``YYYY-MM-DD hh:mm:ss`` (``DEVICE_TIME_FORMAT``) as a naive datetime; None when it is
    not one. The form every firmware sends is read field by field (``strptime`` costs ~10 µs a
    line, most of a batch's parsing); anything else goes through ``strptime``, so both accept
    exactly the same texts (``tests/unit/device_sync/test_zk_protocol.py``)."""
    if (
        len(text) == 19
        and text[4] == "-"
        and text[7] == "-"
        and text[10] == " "
        and text[13] == ":"
        and text[16] == ":"
        and (
            digits := text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:]
        ).isascii()
        and digits.isdigit()
    ):
        try:
            return datetime.fromisoformat(text)  # exactly this shape, checked above
        except ValueError:
            return None
    try:
        return datetime.strptime(text, DEVICE_TIME_FORMAT)
    except ValueError:
        return None


def parse_attlog(body: str) -> Parsed:
    """One record per line; blank lines are skipped; trailing whitespace and the fields past
    the work code are tolerated (real firmware sends them); a line with too few or too many
    fields, a bad time or number, or an overlong value is refused with its (1-based) number."""
    out = Parsed()
    for no, raw in enumerate(_lines(body), start=1):
        line = raw.rstrip("\r\n\t ")
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split("\t")]
        if not MIN_ATTLOG_FIELDS <= len(fields) <= MAX_ATTLOG_FIELDS:
            out.refused.append(Refused(no, f"{len(fields)} fields"))
            continue
        if any(len(f) > MAX_FIELD or "\x00" in f for f in fields):
            out.refused.append(Refused(no, "a field is too long"))
            continue
        badge, when, state, verify = fields[:4]
        if not BADGE_PATTERN.match(badge):
            out.refused.append(Refused(no, "bad PIN"))
            continue
        device_time = parse_device_time(when)
        if device_time is None or not MIN_YEAR <= device_time.year <= MAX_YEAR:
            out.refused.append(Refused(no, "bad time"))
            continue
        if not (_DIGITS.match(state) and int(state) <= MAX_STATE):
            out.refused.append(Refused(no, "bad State"))
            continue
        if not (_DIGITS.match(verify) and int(verify) <= MAX_VERIFY_MODE):
            out.refused.append(Refused(no, "bad VerifyMode"))
            continue
        work_code = fields[4] if len(fields) > 4 else ""
        out.records.append(AttRecord(no, badge, device_time, int(state), int(verify), work_code))
    return out


def direction(state: int) -> Direction:
    """0 check-in, 3 break-in, 4 overtime-in → IN; 1 check-out, 2 break-out, 5 overtime-out →
    OUT; anything else (255 "undefined") → punch's toggle rule."""
    if state in (0, 3, 4):
        return Direction.IN
    if state in (1, 2, 5):
        return Direction.OUT
    return Direction.UNSPECIFIED


def method(verify_mode: int) -> Method:
    """0 PIN, 2 card, 15 face; every other mode (1 fingerprint and the combined modes of
    fingerprint terminals) is a fingerprint. The raw value is kept beside it."""
    if verify_mode == 0:
        return Method.PIN
    if verify_mode == 2:
        return Method.CARD
    if verify_mode == 15:
        return Method.FACE
    return Method.FINGERPRINT


class Refusal(enum.StrEnum):
    """Why a punch a hardware clock decided itself is refused before punch sees it (the names
    of the contract's reject reasons)."""

    UNKNOWN_USER = "UNKNOWN_USER"
    PIN_NOT_ALLOWED = "PIN_NOT_ALLOWED"


def device_punch_refusal(
    *, found: bool, method: Method, pin_allowed: bool, clock_verifies_pins: bool
) -> Refusal | None:
    """A device punch the edge refuses, or None (punch then decides it by its rules: active,
    assigned, double tap, direction). A badge no worker of the tenant has → UNKNOWN_USER. A
    PIN punch → PIN_NOT_ALLOWED when the worker's PIN is not allowed, or when the clock is not
    opted in to verify PINs: Punchcard sent it no PIN, so the PIN was set on the device by
    hand, outside the tenant's PIN policy (its length, its age, its lockout)."""
    if not found:
        return Refusal.UNKNOWN_USER
    if method == Method.PIN and not (pin_allowed and clock_verifies_pins):
        return Refusal.PIN_NOT_ALLOWED
    return None


# How far after an upload's receipt a record of a live upload may lie (the device's clock a
# little ahead), when telling which pass of a repeated hour it was made in.
LIVE_AHEAD = timedelta(minutes=2)


def to_utc(device_time: datetime, time_zone: str, live_at: datetime | None = None) -> datetime:
    """A device's local time in the clock's IANA zone. An hour that repeats (daylight saving's
    fall back: 01:00-01:59 twice in New York) is read as its second pass when the record came
    in a live upload (``live_at``, its receipt; ``uploads_live``) received after that pass had
    begun, else as its first: a punch at 01:30 after the clocks went back, sent as it is made,
    is not an hour early. A backlog says nothing about which pass it was (its first)."""
    zone = ZoneInfo(time_zone)
    first = device_time.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if live_at is None:
        return first
    second = device_time.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return second if first < second <= live_at + LIVE_AHEAD else first


def captured_offline(device_time_utc: datetime, received_at: datetime) -> bool:
    return received_at - device_time_utc > OFFLINE_AFTER


def attempt_id(clock_id: str, badge: str, device_time: datetime, state: int) -> str:
    """The same record of the same clock is always the same attempt (punch's idempotency)."""
    key = f"{clock_id}/{badge}/{device_time.isoformat()}/{state}"
    # str(uuid.uuid5(ATTEMPT_NAMESPACE, key)), spelled out: a third of the cost, one per line
    # of every upload (tests/unit/device_sync/test_zk_protocol.py holds them equal).
    digest = bytearray(hashlib.sha1(_ATTEMPT_NAMESPACE_BYTES + key.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# --- OPERLOG / BIODATA -----------------------------------------------------------------------


def parse_operlog(body: str) -> tuple[list[OperRecord], list[Refused]]:
    records: list[OperRecord] = []
    refused: list[Refused] = []
    for no, raw in enumerate(_lines(body), start=1):
        line = raw.rstrip("\r\n\t ")
        if not line.strip():
            continue
        if len(line) > MAX_OPER_LINE or "\x00" in line:
            refused.append(Refused(no, "line too long"))
            continue
        word, _, rest = line.partition(" ")
        if not WORD_PATTERN.match(word):
            refused.append(Refused(no, "bad word"))
            continue
        parts = rest.split("\t") if rest else []
        if len(parts) > MAX_OPER_FIELDS:
            refused.append(Refused(no, f"{len(parts)} fields"))
            continue
        fields: dict[str, str] = {}
        for i, part in enumerate(parts):
            key, sep, value = part.partition("=")
            if sep and re.match(r"^[A-Za-z][A-Za-z0-9_]{0,31}$", key.strip()):
                fields[key.strip()] = value
            else:
                fields[str(i)] = part
        records.append(OperRecord(word, fields, no))
    return records, refused


# --- command results -----------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResult:
    command_id: int
    return_code: int
    command: str


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_devicecmd(body: str) -> tuple[list[CommandResult], list[Refused]]:
    """``ID=<id>&Return=<code>&CMD=<word>`` per line (several per POST)."""
    results: list[CommandResult] = []
    refused: list[Refused] = []
    lines = body.split("\n")
    if len(lines) > MAX_DEVICECMD_LINES:
        raise ZkInvalid("body", f"at most {MAX_DEVICECMD_LINES} lines")
    for no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            pairs = dict(parse_qsl(line, keep_blank_values=True, max_num_fields=16))
        except ValueError:
            refused.append(Refused(no, "not ID=..&Return=.."))
            continue
        ident, code = pairs.get("ID", ""), pairs.get("Return", "")
        if not re.match(r"^[0-9]{1,18}$", ident):
            refused.append(Refused(no, "bad ID"))
            continue
        if not re.match(r"^-?[0-9]{1,6}$", code) or abs(int(code)) > MAX_RESULT_CODE:
            refused.append(Refused(no, "bad Return"))
            continue
        # CMD only names the command (the ID says which); kept without control characters
        # (PostgreSQL's text holds no NUL), so a garbled word never costs the result.
        command = _CONTROL.sub("", pairs.get("CMD", ""))[:32]
        results.append(CommandResult(int(ident), int(code), command))
    return results, refused


# --- what the server says ------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What the handshake hands a device (``settings``)."""

    delay_s: int = 10
    error_delay_s: int = 30
    trans_interval_min: int = 1
    trans_times: str = "00:00;14:05"
    server_version: str = "punchcard-1"


def tz_offset(time_zone: str, now: datetime) -> str:
    """The zone's UTC offset at ``now`` as ``±hh:mm``, rounded to the half hour (devices take
    whole and half hours: +05:45 becomes +05:30)."""
    offset = now.astimezone(ZoneInfo(time_zone)).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    halves = int(minutes / 30)  # toward zero: +05:45 → +05:30
    sign = "-" if halves < 0 else "+"
    total = abs(halves) * 30
    return f"{sign}{total // 60:02d}:{total % 60:02d}"


def handshake(
    serial: str,
    stamps: Mapping[str, str | None],
    options: Options,
    time_zone: str,
    now: datetime,
) -> str:
    """The reply to ``GET /iclock/cdata?SN=…&options=all`` (without it the device does not
    work). ``stamps``: the per-table stamps the server stored (ATTLOG, OPERLOG, ATTPHOTO)."""

    def stamp(table: str) -> str:
        return stamps.get(table) or "0"

    lines = [
        f"GET OPTION FROM: {serial}",
        f"ATTLOGStamp={stamp('ATTLOG')}",
        f"OPERLOGStamp={stamp('OPERLOG')}",
        f"ATTPHOTOStamp={stamp('ATTPHOTO')}",
        f"ErrorDelay={options.error_delay_s}",
        f"Delay={options.delay_s}",
        f"TransTimes={options.trans_times}",
        f"TransInterval={options.trans_interval_min}",
        "TransFlag=TransData AttLog OpLog AttPhoto EnrollUser ChgUser EnrollFP ChgFP",
        f"TimeZone={tz_offset(time_zone, now)}",
        "Realtime=1",
        "Encrypt=0",
        f"ServerVer={options.server_version}",
    ]
    return "\n".join(lines) + "\n"


def time_reply(time_zone: str, now: datetime) -> str:
    """``Time=YYYY-MM-DDThh:mm:ss±hh:mm``: the clock's local time and its real offset."""
    local = now.astimezone(ZoneInfo(time_zone)).replace(microsecond=0)
    return f"Time={local.isoformat()}"


# --- roster commands -----------------------------------------------------------------------

PRI = {"USER": 0, "MANAGER": 2, "ADMINISTRATOR": 14}
#: identity's PINs (ZK firmware keeps a password of at most 8 characters).
MAX_PASSWORD_LENGTH = PIN_MAX_LENGTH


def _clean(value: object, limit: int) -> str:
    """A value inside a tab-separated command: no tab, newline or NUL, bounded."""
    text = re.sub(r"[\t\r\n\x00]", " ", str(value or ""))
    return text[:limit]


def device_password(profile: Mapping, pin: str | None) -> str:
    """What goes in ``Passwd=``: the worker's PIN only when one was given (the clock verifies
    PINs and holds the worker's sealed PIN) and the profile allows PIN punches; digits only,
    else nothing. Empty otherwise: the device then takes no PIN from the worker."""
    if not pin or "PIN" not in (profile.get("allowed_methods") or ()):
        return ""
    ok = pin.isascii() and pin.isdigit() and len(pin) <= MAX_PASSWORD_LENGTH
    return pin if ok else ""


def userinfo_update(profile: Mapping, pin: str | None = None) -> str:
    """``DATA UPDATE USERINFO`` from a clock profile (``WorkerFacts.profile``): PIN = the
    Employee ID, Pri from ``clock_role`` (default USER), Card = the first card (or none),
    Passwd = the worker's PIN only on a clock opted in to verify PINs (``device_password``;
    the caller opens it at delivery: the queue never holds it), empty otherwise."""
    cards = sorted(profile.get("cards") or [])
    role = str(profile.get("clock_role") or "USER")
    return (
        f"DATA UPDATE USERINFO PIN={_clean(profile['employee_id'], 32)}"
        f"\tName={_clean(profile.get('display_name'), NAME_LENGTH)}"
        f"\tPri={PRI.get(role, 0)}\tPasswd={device_password(profile, pin)}"
        f"\tCard={_clean(cards[0] if cards else '', 32)}"
        "\tGrp=1\tTZ=0000000000000000\tVerifyMode=-1"
    )


def userinfo_delete(employee_id: str) -> str:
    return f"DATA DELETE USERINFO PIN={_clean(employee_id, 32)}"


def query_attlog(start: datetime, end: datetime) -> str:
    """Ask the device to upload its records between two local times again."""
    return (
        f"DATA QUERY ATTLOG StartTime={start.strftime(DEVICE_TIME_FORMAT)}"
        f"\tEndTime={end.strftime(DEVICE_TIME_FORMAT)}"
    )


def roster_lines(kind: CommandKind, body: Mapping, pin: str | None = None) -> list[str] | None:
    """The device lines of a queued command (its stored JSON body); None for kinds the
    edge does not translate itself (templates: ``Biometrics.command_lines``). FULL_RESYNC
    is no line of its own: the roster's ``UPSERT_WORKER``s follow it in the queue, so the
    device gets every USERINFO update (``resync_lines`` is the same expansion at once).
    ``pin``: an UPSERT_WORKER's worker's PIN on a clock that verifies PINs (``Passwd=``)."""
    if kind is CommandKind.UPSERT_WORKER:
        return [userinfo_update(body["worker"], pin)]
    if kind is CommandKind.REMOVE_WORKER:
        return [userinfo_delete(body["worker"]["employee_id"])]
    if kind is CommandKind.FULL_RESYNC:
        return []
    if kind is CommandKind.QUERY_PUNCHES:
        return [
            query_attlog(
                datetime.strptime(body["start"], DEVICE_TIME_FORMAT),
                datetime.strptime(body["end"], DEVICE_TIME_FORMAT),
            )
        ]
    return None


def resync_lines(profiles: Sequence[Mapping]) -> list[str]:
    """A full resync on a device: the whole roster's USERINFO updates."""
    return [userinfo_update(p) for p in sorted(profiles, key=lambda p: p["employee_id"])]


def pack_reply(
    commands: Sequence[tuple[int, Sequence[str]]],
    max_commands: int = MAX_COMMANDS_PER_REPLY,
    max_bytes: int = MAX_REPLY_BYTES,
) -> tuple[str, list[int]]:
    """``C:<id>:<cmd>`` lines for the commands in order, a queue command's lines together,
    within ``max_commands`` lines and ``max_bytes`` (one command larger than that goes alone).
    Returns the reply (``OK`` when empty) and the ids it carries."""
    lines: list[str] = []
    ids: list[int] = []
    size = 0
    for ident, cmds in commands:
        chunk = [f"C:{ident}:{c}" for c in cmds]
        chunk_size = sum(len(c.encode()) + 1 for c in chunk)
        if lines and (len(lines) + len(chunk) > max_commands or size + chunk_size > max_bytes):
            break
        lines.extend(chunk)
        ids.append(ident)
        size += chunk_size
        if len(lines) >= max_commands or size >= max_bytes:
            break
    if not lines:
        return "OK", ids
    return "\n".join(lines) + "\n", ids


# --- gaps, skew, time zone -------------------------------------------------------------------


def stamp_regressed(stored: str | None, device: str | None) -> bool:
    """The device's ATTLOG Stamp is below what the server stored: its log was renumbered
    (cleared, restored) or the server's copy is ahead — records may be missing."""
    if not stored or not device:
        return False
    return int(device) < int(stored)


def gap_after_offline(last_seen: datetime | None, now: datetime, offline_after: timedelta) -> bool:
    """The device was not heard from for longer than ``offline_after``."""
    return last_seen is not None and now - last_seen > offline_after


def gap_range(
    since_utc: datetime, now: datetime, time_zone: str, margin: timedelta
) -> tuple[datetime, datetime]:
    """The device-local range to ask again: from ``since`` (the last time the server heard
    from it, or its newest record) less a margin, to now."""
    zone = ZoneInfo(time_zone)
    start = (since_utc - margin).astimezone(zone).replace(tzinfo=None, microsecond=0)
    end = now.astimezone(zone).replace(tzinfo=None, microsecond=0)
    return start, end


# Realtime uploads carry few records; a bigger batch is a backlog and says nothing about skew.
SKEW_SAMPLE_MAX_LINES = 5
# A clock back from a break in its polls (an outage, a restart) first sends what it stored
# meanwhile: its uploads are taken as live only once it has polled without a break this long.
BACKLOG_SETTLE = timedelta(minutes=5)


def live_poll_gap(delay_s: float) -> timedelta:
    """The longest wait between two polls of a clock that polls without a break (its Delay,
    three times over, and a margin)."""
    return timedelta(seconds=3 * delay_s + 5)


def online_since(
    previous_poll: datetime | None, since: datetime | None, now: datetime, delay_s: float
) -> datetime:
    """When the clock's unbroken run of polls began, given a poll at ``now`` (``since``: what
    it was before this poll)."""
    if previous_poll is None or since is None or now - previous_poll > live_poll_gap(delay_s):
        return now
    return since


def uploads_live(
    last_poll: datetime | None, since: datetime | None, received_at: datetime, delay_s: float
) -> bool:
    """Whether an upload is sent as its records are made (its records' device times against
    its receipt tell the clock's skew and a repeated hour's pass): the clock polls without a
    break, and has for ``BACKLOG_SETTLE``. A clock that has just come back polls, then uploads
    punches hours old: no skew, nor any sign of which pass of a repeated hour they were."""
    return (
        last_poll is not None
        and since is not None
        and received_at - last_poll <= live_poll_gap(delay_s)
        and received_at - since >= BACKLOG_SETTLE
    )


def skew_sample(
    device_times_utc: Sequence[datetime], received_at: datetime, realtime: bool
) -> float | None:
    """Seconds the device is behind (positive) or ahead (negative) of the server, from a
    realtime upload: the newest record's device time against its receive time. None when the
    batch is a backlog (large, or the device had been offline)."""
    if not realtime or not device_times_utc or len(device_times_utc) > SKEW_SAMPLE_MAX_LINES:
        return None
    return (received_at - max(device_times_utc)).total_seconds()


def skew_flagged(skew_s: float | None, max_skew_s: float) -> bool:
    return skew_s is not None and abs(skew_s) > max_skew_s


def must_retell_time(told_offset: str | None, time_zone: str, now: datetime) -> bool:
    """The zone's offset now differs from what the device was told (DST changed it): tell it
    again (``CHECK``: the device handshakes and takes ``TimeZone``, then asks the time)."""
    return told_offset is not None and told_offset != tz_offset(time_zone, now)


# --- group commit of ATTLOG uploads --------------------------------------------------------


@dataclass(frozen=True)
class AttlogSave:
    """What an ATTLOG upload stores of its clock: the stamp, its newest record, the skew."""

    clock_id: str
    stamp: str | None
    last_record_at: datetime | None = None
    skew_s: float | None = None
    skew_flagged: bool | None = None


def merge_saves(saves: Sequence[AttlogSave]) -> list[AttlogSave]:
    """One save per clock, as the saves done one after the other would leave it: the last
    stamp, skew and flag given, the newest record."""
    merged: dict[str, AttlogSave] = {}
    for save in saves:
        before = merged.get(save.clock_id)
        if before is None:
            merged[save.clock_id] = save
            continue
        newest = max(
            (t for t in (before.last_record_at, save.last_record_at) if t is not None),
            default=None,
        )
        merged[save.clock_id] = AttlogSave(
            save.clock_id,
            save.stamp if save.stamp is not None else before.stamp,
            newest,
            save.skew_s if save.skew_s is not None else before.skew_s,
            save.skew_flagged if save.skew_flagged is not None else before.skew_flagged,
        )
    return list(merged.values())
