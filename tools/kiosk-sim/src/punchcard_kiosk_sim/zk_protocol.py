"""The ZKTeco PUSH (ADMS) wire format, from the device's side: what a device parses (the
handshake's options, `Time=`, `C:<id>:<command>` lines) and what it writes (ATTLOG, OPERLOG and
BIODATA lines, command results). Pure functions, no I/O.

Written from the protocol (docs/hardware-clocks.md, the vendor's PUSH SDK manual): it shares no
code with device-sync, so it checks the server rather than echoing it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Return codes a device posts to /iclock/devicecmd.
RETURN_OK = 0
RETURN_PARAMETER_ERROR = -1
RETURN_READ_WRITE_ERROR = -3
RETURN_NO_DATA = -4
RETURN_NO_SPACE = -5
RETURN_USER_NOT_FOUND = -10
RETURN_UNKNOWN_COMMAND = -22
RETURN_NOT_SUPPORTED = -1002

DEVICE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# The TransFlag words and the tables they let the device upload (a TransFlag without any of a
# table's words turns that upload off; an absent or numeric TransFlag leaves every upload on).
TRANS_FLAG_TABLES = {
    "ATTLOG": ("AttLog", "TransData"),
    "OPERLOG": ("OpLog", "EnrollUser", "ChgUser", "EnrollFP", "ChgFP", "TransData"),
    "BIODATA": ("EnrollFP", "ChgFP", "FACE", "BioData", "TransData"),
}


@dataclass(frozen=True)
class Options:
    """What the handshake told the device. `raw` holds every `key=value` line as sent."""

    serial: str | None
    raw: dict[str, str]

    def int(self, key: str, default: int) -> int:
        try:
            return int(self.raw[key].strip())
        except (KeyError, ValueError):
            return default

    @property
    def delay_s(self) -> int:
        return max(1, self.int("Delay", 30))

    @property
    def error_delay_s(self) -> int:
        return max(1, self.int("ErrorDelay", 30))

    @property
    def timeout_s(self) -> int:
        return max(1, self.int("Timeout", 60))

    @property
    def trans_interval_min(self) -> int:
        return max(0, self.int("TransInterval", 1))

    @property
    def realtime(self) -> bool:
        return self.int("Realtime", 1) == 1

    @property
    def time_zone_minutes(self) -> int | None:
        value = self.raw.get("TimeZone")
        return None if value is None else parse_time_zone(value)

    def stamp(self, table: str) -> str | None:
        """The server's stamp for a table (`ATTLOGStamp=`...), None when absent."""
        value = self.raw.get(f"{table}Stamp")
        if table == "OPERLOG" and value is None:
            value = self.raw.get("OpStamp")  # older firmware's name
        return value

    def uploads(self, table: str) -> bool:
        """Whether TransFlag lets the device upload `table`."""
        flag = self.raw.get("TransFlag")
        if flag is None or not flag.strip() or flag.strip().isdigit():
            return True
        words = {w.lower() for w in re.split(r"[\s,]+", flag.strip()) if w}
        return any(w.lower() in words for w in TRANS_FLAG_TABLES.get(table, ()))


class ProtocolError(ValueError):
    """A server answer the device cannot use."""


def parse_options(text: str) -> Options:
    """The handshake answer: `GET OPTION FROM: <SN>` then `key=value` lines. Raises
    ProtocolError when it is not one (no option line at all): such a device does not work."""
    serial = None
    raw: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        if line.upper().startswith("GET OPTION FROM"):
            serial = line.split(":", 1)[1].strip() if ":" in line else ""
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip():
            raw[key.strip()] = value.strip()
    if serial is None and not raw:
        raise ProtocolError(f"not a handshake answer: {text[:200]!r}")
    return Options(serial, raw)


_TZ = re.compile(r"^([+-]?)(?:(\d{1,2}):(\d{2})|(\d{2})(\d{2}))$")


def parse_time_zone(value: str) -> int:
    """A `TimeZone=` value in minutes east of UTC: `-05:00`, `+0530`, `-5`, `8`, `5.5`, or a
    number of minutes beyond ±14 h (`330`). Raises ProtocolError for anything else."""
    text = value.strip()
    match = _TZ.match(text)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        hours = int(match.group(2) or match.group(4))
        minutes = int(match.group(3) or match.group(5))
        if hours <= 14 and minutes < 60:
            return sign * (hours * 60 + minutes)
        raise ProtocolError(f"bad TimeZone {value!r}")
    try:
        number = float(text)
    except ValueError:
        raise ProtocolError(f"bad TimeZone {value!r}") from None
    if abs(number) <= 14:
        return round(number * 60)
    if abs(number) <= 14 * 60:
        return round(number)
    raise ProtocolError(f"bad TimeZone {value!r}")


def format_offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_server_time(text: str) -> datetime:
    """The `type=time` answer `Time=YYYY-MM-DDThh:mm:ss±hh:mm` as an aware datetime (a time
    without an offset is taken as UTC)."""
    for line in text.replace("\r\n", "\n").split("\n"):
        key, sep, value = line.strip().partition("=")
        if sep and key.strip().lower() == "time":
            try:
                when = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
            except ValueError:
                raise ProtocolError(f"bad Time {value!r}") from None
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    raise ProtocolError(f"no Time= in {text[:200]!r}")


def parse_stamp(value: str | None) -> int | None:
    """A stamp handed back by the server, as Unix seconds: an integer, or a device time
    `YYYY-MM-DD hh:mm:ss` (taken as UTC). None, empty, `None`, `0` or garbage: no stamp."""
    if value is None:
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        number = int(text)
        return number if number > 0 else None
    try:
        when = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


@dataclass(frozen=True)
class Command:
    """One `C:<id>:<command>` line: `text` is the command as sent, `word` its first word
    (what the result's `CMD=` carries)."""

    id: str
    text: str

    @property
    def word(self) -> str:
        return self.text.split(" ", 1)[0].split("\t", 1)[0].upper()


def parse_commands(text: str) -> list[Command]:
    """The getrequest answer: `OK` (nothing queued) or `C:<id>:<command>` lines. Lines that are
    not commands are ignored (a device skips what it does not understand)."""
    commands = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.rstrip("\r")
        if not line.startswith("C:"):
            continue
        command_id, sep, body = line[2:].partition(":")
        if sep and command_id.strip():
            commands.append(Command(command_id.strip(), body.strip(" ")))
    return commands


def parse_fields(text: str) -> dict[str, str]:
    """`key=value` fields separated by tabs (base64 values may hold `=`: split on the first)."""
    fields: dict[str, str] = {}
    for part in text.split("\t"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            fields[key.strip()] = value
    return fields


def get_field(fields: dict[str, str], name: str) -> str | None:
    """A field by name, case-insensitively (`PIN=` in USERINFO, `Pin=` in BIODATA)."""
    if name in fields:
        return fields[name]
    lowered = name.lower()
    for key, value in fields.items():
        if key.lower() == lowered:
            return value
    return None


def result_line(command_id: str, code: int, word: str) -> str:
    return f"ID={command_id}&Return={code}&CMD={word}"


def device_time(value: datetime) -> str:
    return value.strftime(DEVICE_TIME_FORMAT)


def parse_device_time(value: str) -> datetime:
    """`YYYY-MM-DD hh:mm:ss` (the device's local wall time, naive)."""
    try:
        return datetime.strptime(value.strip(), DEVICE_TIME_FORMAT)
    except ValueError:
        raise ProtocolError(f"bad device time {value!r}") from None


def attlog_line(
    pin: str, at: datetime, state: int, verify_mode: int, work_code: int | str = 0
) -> str:
    """`PIN\\tYYYY-MM-DD hh:mm:ss\\tState\\tVerifyMode\\tWorkCode\\tReserved1\\tReserved2`."""
    return f"{pin}\t{device_time(at)}\t{state}\t{verify_mode}\t{work_code}\t0\t0"


def user_line(
    pin: str, name: str, *, pri: int = 0, passwd: str = "", card: str = "", grp: int = 1
) -> str:
    return (
        f"USER PIN={pin}\tName={name}\tPri={pri}\tPasswd={passwd}\tCard={card}\tGrp={grp}"
        "\tTZ=0000000000000000\tVerify=0"
    )


def fp_line(pin: str, fid: int, template_b64: str, *, valid: int = 1) -> str:
    return f"FP PIN={pin}\tFID={fid}\tSize={len(template_b64)}\tValid={valid}\tTMP={template_b64}"


def biodata_line(
    pin: str,
    template_b64: str,
    *,
    bio_type: int = 1,
    no: int = 0,
    index: int = 0,
    major: int = 12,
    minor: int = 0,
    valid: int = 1,
    duress: int = 0,
    fmt: int = 0,
) -> str:
    return (
        f"BIODATA Pin={pin}\tNo={no}\tIndex={index}\tValid={valid}\tDuress={duress}"
        f"\tType={bio_type}\tMajorVer={major}\tMinorVer={minor}\tFormat={fmt}\tTmp={template_b64}"
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def is_base64(value: str) -> bool:
    try:
        base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return bool(value)


def local_time(utc: datetime, offset_minutes: int) -> datetime:
    """The naive wall time of an aware instant at a fixed offset."""
    return (utc.astimezone(UTC) + timedelta(minutes=offset_minutes)).replace(tzinfo=None)
