"""One simulated ZKTeco clock speaking PUSH (ADMS) from the device's side, as firmware does:
handshake, time sync, polls (the heartbeat) that bring commands, command results, ATTLOG punch
batches with their Stamp (resent until answered OK: at-least-once), OPERLOG / BIODATA uploads of
users and templates, going offline and coming back.

The device is stepped: `step()` does what firmware does in one cycle (handshake if needed, flush
what is pending, one poll, apply its commands, upload what they asked for, post the results) and
says when it wants the next one. `run()` loops on it for one device; `ZkFleet` schedules
thousands of devices on one heap without a task per device.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from punchcard_kiosk_sim.http1 import Http1Pool
from punchcard_kiosk_sim.waiting import wait_for_condition
from punchcard_kiosk_sim.zk_protocol import (
    RETURN_NO_SPACE,
    RETURN_NOT_SUPPORTED,
    RETURN_OK,
    RETURN_PARAMETER_ERROR,
    RETURN_UNKNOWN_COMMAND,
    RETURN_USER_NOT_FOUND,
    Command,
    Options,
    ProtocolError,
    attlog_line,
    b64,
    biodata_line,
    fp_line,
    get_field,
    is_base64,
    local_time,
    parse_commands,
    parse_device_time,
    parse_fields,
    parse_options,
    parse_server_time,
    parse_stamp,
    parse_time_zone,
    result_line,
    user_line,
)

log = logging.getLogger("punchcard_kiosk_sim.zk")

DEFAULT_FIRMWARE = "Ver 8.0.4.2-20190116"
DEFAULT_PUSH_VERSION = "2.4.1"
MAX_RESULTS_PER_POST = 200
MAX_UPLOAD_LINES = 100

# (device, request kind, milliseconds, HTTP status or 0 for no answer)
OnRequest = Callable[["ZkDevice", str, float, int], None]
# (device, command, return code) after the device applied it
OnCommand = Callable[["ZkDevice", Command, int], None]
# (device, command, return code, monotonic time) once the server answered the result's POST
OnResult = Callable[["ZkDevice", Command, int, float], None]
# (device, punch, milliseconds from the punch to the OK of the batch that carried it)
OnPunchOk = Callable[["ZkDevice", "Punch", float], None]
# {command id | first word | "DATA UPDATE USERINFO"-style prefix: code} or a function
FailCodes = Mapping[str, int] | Callable[[Command], int | None]

_DATA = re.compile(r"^DATA\s+(\w+)\s+(\w+)\s*(.*)$", re.DOTALL)


class RequestFailed(Exception):
    """A request answered with an HTTP status the device cannot use."""

    def __init__(self, kind: str, status: int, body: str) -> None:
        super().__init__(f"{kind}: HTTP {status}: {body[:200]}")
        self.kind = kind
        self.status = status
        self.body = body


class HandshakeRefused(RequestFailed):
    """The server did not answer the handshake with options: the device cannot work."""


class DeviceOffline(Exception):
    """The device has no network."""


@dataclass(eq=False)
class Punch:
    """One attendance record in the device's log. `at` is the device's local wall time (whole
    seconds); `stamp` the same moment as Unix seconds (the device's view of UTC)."""

    pin: str
    at: datetime
    state: int
    verify_mode: int
    work_code: int
    stamp: int
    created: float = field(default_factory=time.monotonic)
    sends: int = 0
    acked_at: float | None = None

    def line(self) -> str:
        return attlog_line(self.pin, self.at, self.state, self.verify_mode, self.work_code)


@dataclass
class _Result:
    command: Command
    code: int

    @property
    def line(self) -> str:
        return result_line(self.command.id, self.code, self.command.word)


class ZkDevice:
    """A ZKTeco-style clock. State (read freely): `users` {pin: fields}, `fingerprints`
    {(pin, fid): fields}, `faces` {(pin, fid): fields}, `biodata` {(pin, type, no, index):
    fields}, `biophotos` {pin: fields}, `attlog` [Punch] (the device's log), `pending_punches`
    (not yet answered OK), `options` (the last handshake), `time_zone_minutes`, `skew_s`,
    `commands` [(command, code)] and `delivered` [(command, code, monotonic time)] with
    history, and the counters of `stats()`.

    Fault injection: `lose_ok` (the next N ATTLOG answers are dropped after the server got the
    batch: the batch is resent), `duplicate_rate` (each line of a batch is repeated in that batch
    with this probability), `fail_codes` (answer commands with a code instead of applying them),
    `offline = True` (no network; punches accumulate), `skew_s` (a drifting clock).
    """

    def __init__(
        self,
        base_url: str,
        serial: str,
        session: aiohttp.ClientSession | Http1Pool | None = None,
        *,
        firmware: str = DEFAULT_FIRMWARE,
        ip: str | None = None,
        push_version: str = DEFAULT_PUSH_VERSION,
        language: int = 69,
        com_key: str | None = None,
        batch_size: int = MAX_UPLOAD_LINES,
        request_timeout_s: float = 20.0,
        poll_s: float | None = None,
        default_delay_s: float = 10.0,
        error_delay_s: float | None = None,
        time_zone_minutes: int = 0,
        clock_skew_s: float = 0.0,
        sync_time: bool = True,
        max_users: int = 10_000,
        fail_codes: FailCodes | None = None,
        duplicate_rate: float = 0.0,
        history: bool = True,
        on_request: OnRequest | None = None,
        on_command: OnCommand | None = None,
        on_result: OnResult | None = None,
        on_punch_ok: OnPunchOk | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.serial = serial
        self.session = session
        self._own_session = session is None
        self.firmware = firmware
        self._rng = rng or random.Random()
        octets = (self._rng.randrange(256), self._rng.randrange(256), self._rng.randrange(1, 255))
        self.ip = ip or "10.{}.{}.{}".format(*octets)
        self.push_version = push_version
        self.language = language
        self.com_key = com_key
        self.batch_size = max(1, batch_size)
        self.request_timeout_s = request_timeout_s
        self.poll_s = poll_s
        self.default_delay_s = default_delay_s
        self.error_delay_s = error_delay_s
        self.time_zone_minutes = time_zone_minutes
        self.skew_s = clock_skew_s
        self.sync_time_on_handshake = sync_time
        self.max_users = max_users
        self.fail_codes = fail_codes
        self.duplicate_rate = duplicate_rate
        self.lose_ok = 0
        self.history = history
        self.on_request = on_request
        self.on_command = on_command
        self.on_result = on_result
        self.on_punch_ok = on_punch_ok

        # what the device holds
        self.users: dict[str, dict[str, str]] = {}
        self.fingerprints: dict[tuple[str, int], dict[str, str]] = {}
        self.faces: dict[tuple[str, int], dict[str, str]] = {}
        self.biodata: dict[tuple[str, int, int, int], dict[str, str]] = {}
        self.biophotos: dict[str, dict[str, str]] = {}
        self.attlog: list[Punch] = []
        self.option_overrides: dict[str, str] = {}

        # protocol state
        self.options: Options | None = None
        self.handshaken = False
        self.registered: bool | None = None
        self.server_attlog_stamp: int | None = None
        self._pending: list[Punch] = []
        self._operlog: list[str] = []
        self._biodata_lines: list[str] = []
        self._results: list[_Result] = []
        self._queries: list[tuple[datetime, datetime]] = []
        self._user_queries: list[str | None] = []
        self._info_due = True
        self._rehandshake = False
        self._lock = asyncio.Lock()
        self._offline = False
        self._stopping = False
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

        # history and counters
        self.commands: list[tuple[Command, int]] = []
        self.delivered: list[tuple[Command, int, float]] = []
        self.latencies: dict[str, list[float]] = {}
        self.requests = 0
        self.errors = 0
        self.consecutive_errors = 0
        self.last_error: str | None = None
        self.handshakes = 0
        self.refusals = 0
        self.time_syncs = 0
        self.polls = 0
        self.commands_received = 0
        self.commands_failed = 0
        self.results_delivered = 0
        self.punches = 0
        self.punches_acked = 0
        self.attlog_batches = 0
        self.attlog_lines_sent = 0
        self.attlog_resent_lines = 0
        self.attlog_failures = 0
        self.lost_oks = 0
        self.duplicate_lines_sent = 0
        self.query_uploads = 0
        self.operlog_lines_sent = 0
        self.biodata_lines_sent = 0
        self.last_poll_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"<ZkDevice {self.serial} {self.state} users={len(self.users)} "
            f"punches={len(self.attlog)} pending={len(self._pending)}>"
        )

    # -- the device's clock ------------------------------------------------------------------

    def now_utc(self) -> datetime:
        """What the device believes UTC is (its clock may drift: `skew_s`)."""
        return datetime.now(UTC) + timedelta(seconds=self.skew_s)

    def now_local(self) -> datetime:
        """The device's local wall time (naive, whole seconds), at the offset it was told."""
        return local_time(self.now_utc(), self.time_zone_minutes).replace(microsecond=0)

    def _stamp_of(self, local: datetime) -> int:
        utc = local - timedelta(minutes=self.time_zone_minutes)
        return int(utc.replace(tzinfo=UTC).timestamp())

    # -- what happens on the device ----------------------------------------------------------

    def punch(
        self,
        pin: str,
        state: int = 0,
        verify_mode: int = 1,
        work_code: int = 0,
        at: datetime | None = None,
    ) -> Punch:
        """A worker punches: the record goes into the device's log and waits for upload (at once
        when the server asked for Realtime=1 and the device runs, else with the next cycle).
        `at`: the device's local wall time (default: now on the device's clock)."""
        local = (at or self.now_local()).replace(microsecond=0, tzinfo=None)
        record = Punch(str(pin), local, state, verify_mode, work_code, self._stamp_of(local))
        self.attlog.append(record)
        self._pending.append(record)
        self.punches += 1
        if self.realtime:
            self._wake.set()
        return record

    def enroll_user(
        self, pin: str, name: str, *, pri: int = 0, card: str = "", passwd: str = ""
    ) -> None:
        """A user enrolled at the device's keypad: stored, and uploaded as an OPERLOG `USER`."""
        fields = {"PIN": pin, "Name": name, "Pri": str(pri), "Card": card, "Passwd": passwd}
        self.users[pin] = fields
        self._operlog.append(user_line(pin, name, pri=pri, passwd=passwd, card=card))

    def enroll_fingerprint(self, pin: str, fid: int, template: bytes) -> str:
        """A finger enrolled on the device: stored, uploaded as an OPERLOG `FP` line (returned)."""
        tmp = b64(template)
        self.fingerprints[(pin, fid)] = {
            "PIN": pin,
            "FID": str(fid),
            "Size": str(len(tmp)),
            "Valid": "1",
            "TMP": tmp,
        }
        line = fp_line(pin, fid, tmp)
        self._operlog.append(line)
        return line

    def enroll_biodata(
        self,
        pin: str,
        template: bytes,
        *,
        bio_type: int = 1,
        no: int = 0,
        index: int = 0,
        major: int = 12,
        minor: int = 0,
    ) -> str:
        """A template in the newer unified form (Type 1 finger, 2 face, 9 visible-light face):
        stored, uploaded as a `BIODATA` line on table=BIODATA (returned)."""
        tmp = b64(template)
        line = biodata_line(
            pin, tmp, bio_type=bio_type, no=no, index=index, major=major, minor=minor
        )
        self.biodata[(pin, bio_type, no, index)] = parse_fields(line.split(" ", 1)[1])
        self._biodata_lines.append(line)
        return line

    @property
    def pending_punches(self) -> list[Punch]:
        """Punches not answered OK yet."""
        return list(self._pending)

    @property
    def pending_uploads(self) -> int:
        return len(self._pending) + len(self._operlog) + len(self._biodata_lines)

    @property
    def pending_results(self) -> list[str]:
        return [r.line for r in self._results]

    @property
    def realtime(self) -> bool:
        return self.options.realtime if self.options is not None else True

    def option(self, key: str) -> str | None:
        if key in self.option_overrides:
            return self.option_overrides[key]
        return self.options.raw.get(key) if self.options is not None else None

    def poll_interval(self) -> float:
        """Seconds between polls: `poll_s` if given, else the handshake's (or SET OPTION's)
        Delay, else `default_delay_s`."""
        if self.poll_s is not None:
            return self.poll_s
        value = self.option("Delay")
        try:
            return max(1.0, float(value)) if value is not None else self.default_delay_s
        except ValueError:
            return self.default_delay_s

    def retry_interval(self) -> float:
        if self.error_delay_s is not None:
            return self.error_delay_s
        return float(self.options.error_delay_s) if self.options is not None else 30.0

    def info(self) -> str:
        """`INFO=` of the first poll: firmware, users, fingerprints, punches, ip, fp algorithm,
        face algorithm, face templates needed, faces, function flags."""
        faces = (
            len(self.faces) + sum(1 for key in self.biodata if key[1] != 1) + len(self.biophotos)
        )
        return (
            f"{self.firmware},{len(self.users)},{len(self.fingerprints)},{len(self.attlog)},"
            f"{self.ip},10,7,12,{faces},111"
        )

    # -- commands ----------------------------------------------------------------------------

    def apply(self, command: Command) -> int:
        """Apply one command to the device's state; its return code."""
        code = self._fail_code(command)
        if code:
            return code
        text = command.text.strip()
        match = _DATA.match(text)
        if match:
            action, table, rest = match.group(1).upper(), match.group(2).upper(), match.group(3)
            return self._apply_data(action, table, parse_fields(rest))
        upper = text.upper()
        if upper == "CHECK":
            self._rehandshake = True
            return RETURN_OK
        if upper == "INFO":
            self._info_due = True
            return RETURN_OK
        if upper == "REBOOT":
            self._rehandshake = True
            return RETURN_OK
        if upper == "CLEAR LOG":
            self.attlog.clear()
            self._pending.clear()
            return RETURN_OK
        if upper == "CLEAR DATA":
            for store in (self.users, self.fingerprints, self.faces, self.biodata, self.biophotos):
                store.clear()
            self.attlog.clear()
            self._pending.clear()
            return RETURN_OK
        if upper.startswith("SET OPTION"):
            pairs = parse_fields(re.sub(r"[,\s]+(?=\w+=)", "\t", text[len("SET OPTION") :]))
            if not pairs:
                return RETURN_PARAMETER_ERROR
            for key, value in pairs.items():
                if key == "TimeZone":
                    try:
                        self.time_zone_minutes = parse_time_zone(value)
                    except ProtocolError:
                        return RETURN_PARAMETER_ERROR
                self.option_overrides[key] = value
            return RETURN_OK
        if upper.startswith(("USER ADD", "USER DEL", "USER ")):
            return RETURN_NOT_SUPPORTED  # legacy forms: use DATA UPDATE / DELETE USERINFO
        return RETURN_UNKNOWN_COMMAND

    def _fail_code(self, command: Command) -> int:
        rule = self.fail_codes
        if rule is None:
            return RETURN_OK
        if callable(rule):
            return rule(command) or RETURN_OK
        if command.id in rule:
            return rule[command.id]
        for key, code in rule.items():
            if key and command.text.upper().startswith(key.upper()):
                return code
        return RETURN_OK

    def _apply_data(self, action: str, table: str, fields: dict[str, str]) -> int:
        pin = get_field(fields, "PIN")
        if action == "QUERY":
            return self._query(table, fields)
        if action not in ("UPDATE", "DELETE"):
            return RETURN_UNKNOWN_COMMAND
        if table == "USERINFO":
            if not pin:
                return RETURN_PARAMETER_ERROR
            if action == "DELETE":
                self._delete_user(pin)  # a user who is not there: nothing to do
                return RETURN_OK
            pri = fields.get("Pri", "0") or "0"
            if not pri.lstrip("-").isdigit():
                return RETURN_PARAMETER_ERROR
            if pin not in self.users and len(self.users) >= self.max_users:
                return RETURN_NO_SPACE
            self.users[pin] = fields
            return RETURN_OK
        if table in ("FINGERTMP", "FACE"):
            store = self.fingerprints if table == "FINGERTMP" else self.faces
            fid = get_field(fields, "FID")
            if not pin or (fid is not None and not fid.strip().isdigit()):
                return RETURN_PARAMETER_ERROR
            if action == "DELETE":
                for key in [k for k in store if k[0] == pin and (fid is None or k[1] == int(fid))]:
                    del store[key]
                return RETURN_OK
            tmp = get_field(fields, "TMP")
            if fid is None or tmp is None or not is_base64(tmp):
                return RETURN_PARAMETER_ERROR
            if pin not in self.users:
                return RETURN_USER_NOT_FOUND
            store[(pin, int(fid))] = fields
            return RETURN_OK
        if table == "BIODATA":
            numbers = {}
            for name in ("Type", "No", "Index"):
                value = get_field(fields, name)
                if value is not None and not value.strip().isdigit():
                    return RETURN_PARAMETER_ERROR
                numbers[name] = None if value is None else int(value)
            if not pin:
                return RETURN_PARAMETER_ERROR
            if action == "DELETE":
                doomed = [
                    k
                    for k in self.biodata
                    if k[0] == pin
                    and all(
                        want is None or have == want
                        for have, want in zip(
                            k[1:], (numbers["Type"], numbers["No"], numbers["Index"]), strict=True
                        )
                    )
                ]
                for key in doomed:
                    del self.biodata[key]
                return RETURN_OK
            tmp = get_field(fields, "Tmp")
            if numbers["Type"] is None or tmp is None or not is_base64(tmp):
                return RETURN_PARAMETER_ERROR
            if pin not in self.users:
                return RETURN_USER_NOT_FOUND
            key = (pin, numbers["Type"], numbers["No"] or 0, numbers["Index"] or 0)
            self.biodata[key] = fields
            return RETURN_OK
        if table == "BIOPHOTO":
            if not pin:
                return RETURN_PARAMETER_ERROR
            if action == "DELETE":
                self.biophotos.pop(pin, None)
                return RETURN_OK
            content = get_field(fields, "Content")
            if content is None or not is_base64(content):
                return RETURN_PARAMETER_ERROR
            if pin not in self.users:
                return RETURN_USER_NOT_FOUND
            self.biophotos[pin] = fields
            return RETURN_OK
        return RETURN_UNKNOWN_COMMAND

    def _delete_user(self, pin: str) -> None:
        """A user goes with all their templates."""
        self.users.pop(pin, None)
        self.biophotos.pop(pin, None)
        for store in (self.fingerprints, self.faces, self.biodata):
            for key in [k for k in store if k[0] == pin]:
                del store[key]

    def _query(self, table: str, fields: dict[str, str]) -> int:
        if table == "ATTLOG":
            start, end = get_field(fields, "StartTime"), get_field(fields, "EndTime")
            try:
                first = parse_device_time(start) if start else datetime.min
                last = parse_device_time(end) if end else datetime.max
            except ProtocolError:
                return RETURN_PARAMETER_ERROR
            if first > last:
                return RETURN_PARAMETER_ERROR
            self._queries.append((first, last))
            return RETURN_OK
        if table == "USERINFO":
            self._user_queries.append(get_field(fields, "PIN") or None)
            return RETURN_OK
        return RETURN_UNKNOWN_COMMAND

    def apply_commands(self, commands: Iterable[Command]) -> list[str]:
        """Apply a getrequest answer's commands in order; queue their results (returned as
        the lines the next devicecmd POST carries)."""
        lines = []
        for command in commands:
            self.commands_received += 1
            code = self.apply(command)
            if code != RETURN_OK:
                self.commands_failed += 1
            if self.history:
                self.commands.append((command, code))
            result = _Result(command, code)
            self._results.append(result)
            lines.append(result.line)
            if self.on_command is not None:
                try:
                    self.on_command(self, command, code)
                except Exception:  # a hook's bug must not stop the device
                    log.exception("device %s: on_command hook failed", self.serial)
        return lines

    # -- HTTP ----------------------------------------------------------------------------------

    def _params(self, **extra: str) -> dict[str, str]:
        params = {"SN": self.serial}
        params.update(extra)
        return params

    async def _request(
        self,
        kind: str,
        method: str,
        path: str,
        params: dict[str, str],
        body: str | bytes | None = None,
    ) -> tuple[int, str]:
        if self._offline:
            raise DeviceOffline(self.serial)
        if self.session is None:
            self.session = Http1Pool()
            self._own_session = True
        if self.com_key:
            params = {**params, "pushcommkey": self.com_key}
        self.requests += 1
        started = time.perf_counter()
        status = 0
        data = body.encode("utf-8") if isinstance(body, str) else body
        try:
            if isinstance(self.session, Http1Pool):
                status, text = await self.session.request(
                    method, self.base_url + path, params, data, timeout=self.request_timeout_s
                )
            else:
                async with self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=data,
                    headers={"Content-Type": "text/plain; charset=utf-8"}
                    if data is not None
                    else None,
                    timeout=aiohttp.ClientTimeout(total=self.request_timeout_s),
                ) as response:
                    status = response.status
                    text = await response.text(errors="replace")
        finally:
            ms = 1000 * (time.perf_counter() - started)
            if self.history:
                self.latencies.setdefault(kind, []).append(ms)
            if self.on_request is not None:
                self.on_request(self, kind, ms, status)
        return status, text

    async def handshake(self) -> Options:
        """`GET /iclock/cdata?SN=..&options=all&pushver=..&language=..`; then `type=time`.
        Resumes the punch upload after the server's ATTLOGStamp."""
        status, text = await self._request(
            "handshake",
            "GET",
            "/iclock/cdata",
            self._params(options="all", pushver=self.push_version, language=str(self.language)),
        )
        try:
            if status != 200:
                raise ProtocolError(f"HTTP {status}")
            options = parse_options(text)
        except ProtocolError:
            self.registered = False
            self.handshaken = False
            self.refusals += 1
            raise HandshakeRefused("handshake", status, text) from None
        self.options = options
        self.option_overrides.clear()
        self.registered = True
        self.handshaken = True
        self.handshakes += 1
        self._info_due = True
        try:
            zone = options.time_zone_minutes
        except ProtocolError:
            zone = None
            log.warning("device %s: bad TimeZone %r", self.serial, options.raw.get("TimeZone"))
        if zone is not None:
            self.time_zone_minutes = zone
        self.server_attlog_stamp = parse_stamp(options.stamp("ATTLOG"))
        self._resume_after(self.server_attlog_stamp)
        if self.sync_time_on_handshake:
            await self.sync_time()
        return options

    def _resume_after(self, stamp: int | None) -> None:
        """What is still to upload: every record newer than the server's stamp (everything when
        the server has none), whatever the device believed it had sent; and those of the
        stamp's own second never answered OK (a stamp has whole seconds)."""
        self._pending = [
            p
            for p in self.attlog
            if stamp is None or p.stamp > stamp or (p.stamp == stamp and p.acked_at is None)
        ]

    async def sync_time(self) -> datetime:
        """`GET /iclock/cdata?SN=..&type=time`: the device sets its clock to the answer."""
        status, text = await self._request(
            "time", "GET", "/iclock/cdata", self._params(type="time")
        )
        if status != 200:
            raise RequestFailed("time", status, text)
        when = parse_server_time(text)
        self.skew_s = (when - datetime.now(UTC)).total_seconds()
        self.time_syncs += 1
        return when

    async def poll(self) -> list[Command]:
        """`GET /iclock/getrequest?SN=..` (with `INFO=` on the first after a handshake or an
        INFO command); applies the commands, queues their results."""
        params = self._params(INFO=self.info()) if self._info_due else self._params()
        status, text = await self._request("poll", "GET", "/iclock/getrequest", params)
        if status != 200:
            if 400 <= status < 500:
                self.handshaken = False  # the server no longer knows us: handshake again
            raise RequestFailed("poll", status, text)
        self._info_due = False
        self.polls += 1
        self.last_poll_at = time.monotonic()
        commands = parse_commands(text)
        self.apply_commands(commands)
        return commands

    async def post_results(self) -> bool:
        """`POST /iclock/devicecmd?SN=..`, one `ID=..&Return=..&CMD=..` line per command;
        kept and sent again when not answered 200."""
        while self._results:
            batch = self._results[:MAX_RESULTS_PER_POST]
            body = "\n".join(r.line for r in batch)
            status, text = await self._request(
                "devicecmd", "POST", "/iclock/devicecmd", self._params(), body
            )
            if status != 200:
                raise RequestFailed("devicecmd", status, text)
            at = time.monotonic()
            del self._results[: len(batch)]
            self.results_delivered += len(batch)
            for r in batch:
                if self.history:
                    self.delivered.append((r.command, r.code, at))
                if self.on_result is not None:
                    try:
                        self.on_result(self, r.command, r.code, at)
                    except Exception:
                        log.exception("device %s: on_result hook failed", self.serial)
        return True

    async def _post_attlog(self, batch: list[Punch], kind: str) -> bool:
        lines = []
        for p in batch:
            lines.append(p.line())
            if self.duplicate_rate and self._rng.random() < self.duplicate_rate:
                lines.append(p.line())
                self.duplicate_lines_sent += 1
        for p in batch:
            if p.sends:
                self.attlog_resent_lines += 1
            p.sends += 1
        self.attlog_batches += 1
        self.attlog_lines_sent += len(lines)
        stamp = max(p.stamp for p in batch)
        try:
            status, text = await self._request(
                kind,
                "POST",
                "/iclock/cdata",
                self._params(table="ATTLOG", Stamp=str(stamp)),
                "\n".join(lines),
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.attlog_failures += 1
            self.last_error = f"{kind}: {exc!r}"
            return False
        if self.lose_ok > 0:  # the server got it; the answer never arrives
            self.lose_ok -= 1
            self.lost_oks += 1
            self.attlog_failures += 1
            return False
        if status != 200 or not text.strip().upper().startswith("OK"):
            self.attlog_failures += 1
            self.last_error = f"{kind}: HTTP {status}: {text[:200]}"
            return False
        at = time.monotonic()
        for p in batch:
            if p.acked_at is None:
                p.acked_at = at
                self.punches_acked += 1
                if self.on_punch_ok is not None:
                    self.on_punch_ok(self, p, 1000 * (at - p.created))
        return True

    async def upload_attlog(self) -> int:
        """Upload the pending punches in batches; stops at the first batch not answered OK (it
        is resent next time: at-least-once). Returns how many were answered OK."""
        done = 0
        while self._pending and self._uploads("ATTLOG"):
            batch = self._pending[: self.batch_size]
            if not await self._post_attlog(batch, "attlog"):
                break
            sent = set(map(id, batch))
            self._pending = [p for p in self._pending if id(p) not in sent]
            done += len(batch)
        return done

    async def _upload_queries(self) -> None:
        while self._queries:
            first, last = self._queries[0]
            records = [p for p in self.attlog if first <= p.at <= last]
            for start in range(0, len(records), self.batch_size):
                batch = records[start : start + self.batch_size]
                if not await self._post_attlog(batch, "attlog_query"):
                    raise RequestFailed("attlog_query", 0, self.last_error or "")
                sent = set(map(id, batch))
                self._pending = [p for p in self._pending if id(p) not in sent]
            self._queries.pop(0)
            self.query_uploads += 1
        while self._user_queries:
            pin = self._user_queries[0]
            for user_pin, fields in self.users.items():
                if pin is None or user_pin == pin:
                    self._operlog.append(
                        user_line(
                            user_pin,
                            fields.get("Name", ""),
                            pri=int(fields.get("Pri") or 0),
                            card=fields.get("Card", ""),
                        )
                    )
            self._user_queries.pop(0)

    async def post_table(self, table: str, body: str | bytes, **params: str) -> tuple[int, str]:
        """`POST /iclock/cdata?SN=..&table=<table>` with any body, as it is (malformed lines,
        huge bodies, unknown tables: for testing the server's refusals). (status, answer)."""
        return await self._request(
            f"raw_{table.lower()}",
            "POST",
            "/iclock/cdata",
            self._params(table=table, **params),
            body,
        )

    async def upload_photo(self, pin: str, jpeg: bytes, at: datetime | None = None) -> bool:
        """`POST table=ATTPHOTO`: `PIN=<YYYYMMDDhhmmss>-<pin>.jpg`, `SN=`, `size=`,
        `CMD=uploadphoto` lines, a NUL, then the JPEG; True when answered OK."""
        when = (at or self.now_local()).strftime("%Y%m%d%H%M%S")
        head = f"PIN={when}-{pin}.jpg\nSN={self.serial}\nsize={len(jpeg)}\nCMD=uploadphoto\0"
        status, text = await self.post_table(
            "ATTPHOTO", head.encode() + jpeg, Stamp=str(int(self.now_utc().timestamp()))
        )
        return status == 200 and text.strip().upper().startswith("OK")

    async def _upload_lines(self, table: str, queue: list[str]) -> int:
        done = 0
        while queue and self._uploads(table):
            batch = queue[:MAX_UPLOAD_LINES]
            stamp = str(int(self.now_utc().timestamp()))
            status, text = await self._request(
                table.lower(),
                "POST",
                "/iclock/cdata",
                self._params(table=table, Stamp=stamp),
                "\n".join(batch),
            )
            if status != 200 or not text.strip().upper().startswith("OK"):
                raise RequestFailed(table.lower(), status, text)
            del queue[: len(batch)]
            done += len(batch)
        return done

    async def upload_operlog(self) -> int:
        """`POST table=OPERLOG` of the USER / FP lines enrolled on the device."""
        done = await self._upload_lines("OPERLOG", self._operlog)
        self.operlog_lines_sent += done
        return done

    async def upload_biodata(self) -> int:
        """`POST table=BIODATA` of the BIODATA lines enrolled on the device."""
        done = await self._upload_lines("BIODATA", self._biodata_lines)
        self.biodata_lines_sent += done
        return done

    def _uploads(self, table: str) -> bool:
        return self.options.uploads(table) if self.options is not None else True

    async def flush(self) -> None:
        """Everything pending: what DATA QUERY asked for, then the command results (so the
        server has the data before the acknowledgement), punches, users and templates."""
        await self._upload_queries()
        await self.post_results()
        await self.upload_attlog()
        await self.upload_operlog()
        await self.upload_biodata()

    # -- the cycle -----------------------------------------------------------------------------

    async def step(self) -> float:
        """One firmware cycle: handshake if needed, flush, poll, apply, upload what the commands
        asked for, post the results (re-handshake at once after CHECK / REBOOT). Returns the
        seconds until the next cycle is due (Delay, or ErrorDelay after a failure)."""
        async with self._lock:
            if self._offline or self._stopping:
                return self.poll_interval()
            try:
                if not self.handshaken or self._rehandshake:
                    self._rehandshake = False
                    await self.handshake()
                await self.flush()
                await self.poll()
                await self.flush()
                if self._rehandshake:  # CHECK or REBOOT: results posted, handshake again now
                    self._rehandshake = False
                    await self.handshake()
                    await self.flush()
            except (
                aiohttp.ClientError,
                TimeoutError,
                RequestFailed,
                ProtocolError,
                DeviceOffline,
            ) as exc:
                self.errors += 1
                self.consecutive_errors += 1
                self.last_error = repr(exc)
                log.debug("device %s: %r", self.serial, exc)
                return self.retry_interval()
            self.consecutive_errors = 0
            return self.poll_interval()

    async def upload_now(self) -> int:
        """Upload pending punches now (Realtime=1), if the device is online and handshaken."""
        async with self._lock:
            if self._offline or not self.handshaken or self._stopping:
                return 0
            try:
                return await self.upload_attlog()
            except DeviceOffline:
                return 0

    @property
    def offline(self) -> bool:
        return self._offline

    @offline.setter
    def offline(self, value: bool) -> None:
        """True: no network (punches accumulate); False: back, and the next cycle handshakes
        again and resumes after the server's stamp."""
        value = bool(value)
        if value == self._offline:
            return
        self._offline = value
        if not value:
            self.handshaken = False
        self._wake.set()

    @property
    def state(self) -> str:
        if self._stopping:
            return "stopped"
        if self._offline:
            return "offline"
        if self.registered is False:
            return "refused"
        return "online" if self.handshaken else "idle"

    # -- running alone -------------------------------------------------------------------------

    async def run(self) -> None:
        """Cycle until stop(): a poll every Delay seconds, punches uploaded as they happen when
        the server asked for Realtime=1."""
        while not self._stopping:
            delay = await self.step()
            due = time.monotonic() + delay
            while not self._stopping:
                left = due - time.monotonic()
                if left <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), left)
                except TimeoutError:
                    break
                if self._stopping:
                    break
                if not self._offline and not self.handshaken:
                    break  # back online: handshake now
                if self._pending and self.realtime:
                    await self.upload_now()

    def start(self) -> asyncio.Task[None]:
        self._stopping = False
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"zk-{self.serial}")
        return self.task

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def close(self) -> None:
        """stop(), wait for run(), close the session if it is the device's own."""
        self.stop()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        if self._own_session and self.session is not None:
            await self.session.close()
            self.session = None

    async def __aenter__(self) -> ZkDevice:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_until(
        self, predicate: Callable[[ZkDevice], bool], timeout: float = 10.0, *, what: str = ""
    ) -> None:
        await wait_for_condition(
            lambda: predicate(self), timeout, 0.01, lambda: f"{what or predicate!r}: {self!r}"
        )

    def stats(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "state": self.state,
            "users": len(self.users),
            "fingerprints": len(self.fingerprints),
            "faces": len(self.faces),
            "biodata": len(self.biodata),
            "biophotos": len(self.biophotos),
            "punches": self.punches,
            "punches_acked": self.punches_acked,
            "pending_punches": len(self._pending),
            "pending_results": len(self._results),
            "requests": self.requests,
            "errors": self.errors,
            "handshakes": self.handshakes,
            "refusals": self.refusals,
            "polls": self.polls,
            "commands_received": self.commands_received,
            "commands_failed": self.commands_failed,
            "results_delivered": self.results_delivered,
            "attlog_batches": self.attlog_batches,
            "attlog_lines_sent": self.attlog_lines_sent,
            "attlog_resent_lines": self.attlog_resent_lines,
            "lost_oks": self.lost_oks,
            "duplicate_lines_sent": self.duplicate_lines_sent,
            "query_uploads": self.query_uploads,
            "operlog_lines_sent": self.operlog_lines_sent,
            "biodata_lines_sent": self.biodata_lines_sent,
            "time_zone": self.time_zone_minutes,
            "skew_s": round(self.skew_s, 3),
            "server_attlog_stamp": self.server_attlog_stamp,
            "last_error": self.last_error,
        }

    def snapshot(self) -> dict[str, Any]:
        """What the device holds, as JSON-friendly data (the CLI's `zk state`)."""
        return {
            "serial": self.serial,
            "users": self.users,
            "fingerprints": [
                {"pin": pin, "fid": fid, "size": len(f.get("TMP", ""))}
                for (pin, fid), f in sorted(self.fingerprints.items())
            ],
            "faces": [{"pin": pin, "fid": fid} for (pin, fid) in sorted(self.faces)],
            "biodata": [
                {"pin": p, "type": t, "no": n, "index": i} for (p, t, n, i) in sorted(self.biodata)
            ],
            "biophotos": sorted(self.biophotos),
            "attlog": [
                {"line": p.line(), "stamp": p.stamp, "acked": p.acked_at is not None}
                for p in self.attlog
            ],
            "options": dict(self.options.raw) if self.options else None,
            "stats": self.stats(),
        }
