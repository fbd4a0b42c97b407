"""The ZK PUSH device edge: a registered device's handshake, time, uploads (ATTLOG punches,
OPERLOG/BIODATA templates), polls (heartbeat and its commands) and command results. The
device is known by its serial alone (cached briefly); every query runs in the clock's
tenant. A poll writes nothing itself (its status goes to the batched buffers) and reads the
queue only when it may hold something to deliver (queue notifications and redelivery
deadlines say when)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from prometheus_client import Counter
from punchcard.v1 import common_pb2, kiosk_pb2
from punchcard_kit.credentials import employee_id_key
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging.envelope import set_timestamp
from punchcard_kit.tracing import continuing, current_span_context

from ..domain import zk
from ..domain.model import Command, CommandKind, Heartbeat
from . import device_pins, events
from .biometrics import Biometrics
from .group_commit import GroupCommit
from .sync import log_failure
from .unit_of_work import (
    Deliverable,
    DevicePinOpener,
    DevicePunch,
    Directory,
    Heartbeats,
    UnitOfWork,
    UnitOfWorkFactory,
)

log = get_logger(__name__)

ZK_PUNCHES = Counter("device_sync_zk_punches_total", "ATTLOG records from ZK devices", ["outcome"])
ZK_REFUSED_LINES = Counter("device_sync_zk_refused_lines_total", "Upload lines refused", ["table"])
ZK_UNKNOWN = Counter("device_sync_zk_unregistered_requests_total", "Requests of unknown serials")
ZK_GAPS = Counter("device_sync_zk_gap_queries_total", "DATA QUERY ATTLOG asked of devices")
ZK_COM_KEY_REFUSED = Counter(
    "device_sync_zk_com_key_refused_total", "Requests refused for a wrong or missing Comm Key"
)
# A device refused for its Comm Key retries every few seconds: one log line per clock per this.
_REFUSAL_LOG_EVERY_S = 60.0

_DIRECTION = {
    zk.Direction.IN: common_pb2.PUNCH_DIRECTION_IN,
    zk.Direction.OUT: common_pb2.PUNCH_DIRECTION_OUT,
    zk.Direction.UNSPECIFIED: common_pb2.PUNCH_DIRECTION_UNSPECIFIED,
}


@dataclass(frozen=True)
class ZkDevice:
    tenant_id: str
    clock_id: str
    serial: str
    time_zone: str
    com_key_digest: bytes | None = None  # the clock has a Comm Key
    keyed_address: str | None = None  # its last handshake with the right key came from here


@dataclass(frozen=True)
class ZkSettings:
    options: zk.Options = zk.Options()
    device_cache_s: float = 300.0  # a revoke or an edit drops it at once (NOTIFY)
    unknown_cache_s: float = 10.0  # an unknown serial is looked up again this often
    gap_after_offline: timedelta = timedelta(minutes=10)
    gap_margin: timedelta = timedelta(minutes=5)
    max_skew_s: float = 120.0
    redeliver_after: timedelta = timedelta(seconds=60)
    # A clean queue is read again at least this often; NOTIFY (every replica) and the
    # redelivery deadline are what make a queue due, this only bounds a lost one.
    recheck_s: float = 600.0
    retell_every_s: float = 300.0  # at most one CHECK per clock this often
    attlog_batch_limit: int = 64  # uploads per transaction (group commit)
    attlog_concurrency: int = 4  # group-commit transactions at once


@dataclass(frozen=True)
class _Upload:
    """An ATTLOG upload, parsed: its punches and each one's UTC time by attempt id."""

    device: ZkDevice
    punches: list[DevicePunch]
    times: dict[str, datetime]
    stamp: str | None
    received_at: datetime
    realtime: bool
    # The device's request's span (tracing on): its verdicts continue it, not the span of
    # whichever upload's request started the group commit that writes them.
    trace: object = None


@dataclass(frozen=True)
class _Recorded:
    new: int
    skew: float | None
    flagged: bool | None


class ZkBuffer(Protocol):
    def poll(
        self,
        tenant_id: str,
        clock_id: str,
        polled_at: datetime,
        push_version: str,
        info: zk.DeviceInfo | None,
    ) -> None: ...

    def unknown(self, serial: str, at: datetime, remote_addr: str, push_version: str) -> None: ...


class ZkEdge:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        directory: Directory,
        heartbeats: Heartbeats,
        buffers: ZkBuffer,
        biometrics: Biometrics,
        settings: ZkSettings | None = None,
        device_pin_opener: DevicePinOpener | None = None,
    ) -> None:
        self._uow = uow
        self._directory = directory
        self._heartbeats = heartbeats
        self._buffers = buffers
        self._biometrics = biometrics
        self._device_pins = device_pin_opener
        self._settings = settings or ZkSettings()
        # ATTLOG uploads arriving together: one transaction (docs/device-sync.md).
        self._group: GroupCommit[_Upload, _Recorded] = GroupCommit(
            uow,
            self._record_attlogs,
            self._settings.attlog_batch_limit,
            self._settings.attlog_concurrency,
            name="zk_attlog",
        )
        # serial -> (device or None, valid until)
        self._devices: dict[str, tuple[ZkDevice | None, float]] = {}
        self._last_poll: dict[str, datetime] = {}
        # clock -> when its unbroken run of polls began (zk.online_since)
        self._online_since: dict[str, datetime] = {}
        # clock -> monotonic time until which its queue holds nothing to deliver
        self._clean: dict[str, float] = {}
        self._told: dict[str, str | None] = {}
        self._skewed: set[str] = set()
        self._checked: dict[str, float] = {}
        self._refusals_logged: dict[str, float] = {}  # clock -> when its refusal was logged

    # --- who calls -----------------------------------------------------------------------

    def forget(self, clock_id: str | None) -> None:
        """A clock was revoked or its queue changed (None: anything may have changed)."""
        if clock_id is None:
            self._clean.clear()
            return
        self._clean.pop(clock_id, None)

    def forget_device(self, clock_id: str) -> None:
        for serial, (device, _) in list(self._devices.items()):
            if device is not None and device.clock_id == clock_id:
                del self._devices[serial]
        self._clean.pop(clock_id, None)

    async def device(
        self, serial: str, remote_addr: str = "", push_version: str = ""
    ) -> ZkDevice | None:
        """The registered, live ZK clock with this serial; None (and the call recorded as an
        unregistered device) otherwise."""
        now = time.monotonic()
        cached = self._devices.get(serial)
        if cached is not None and cached[1] > now:
            device = cached[0]
        else:
            device = None
            found = await self._directory.zk_device(zk.serial_key(serial))
            if found is not None:
                tenant_id, clock_id = found
                async with self._uow(tenant_id) as uow:
                    state = await uow.zk.state(clock_id)
                if state is not None and not state.revoked:
                    device = ZkDevice(
                        tenant_id,
                        clock_id,
                        serial,
                        state.time_zone,
                        state.com_key_digest,
                        state.keyed_address,
                    )
                    self._told.setdefault(clock_id, state.tz_offset_told)
                    if state.last_poll_at is not None:
                        self._last_poll.setdefault(clock_id, state.last_poll_at)
                        self._online_since.setdefault(clock_id, state.last_poll_at)
                    if state.skew_flagged:
                        self._skewed.add(clock_id)
            if len(self._devices) > 100_000:
                self._devices.clear()
            ttl = self._settings.device_cache_s if device else self._settings.unknown_cache_s
            self._devices[serial] = (device, now + min(ttl, self._settings.device_cache_s))
        if device is None:
            ZK_UNKNOWN.inc()
            self._buffers.unknown(serial, datetime.now(UTC), remote_addr, push_version)
        return device

    async def admit(
        self, device: ZkDevice, offered: str | None, remote_addr: str, handshake: bool
    ) -> ZkDevice | None:
        """The device if its request may be served under its clock's Comm Key
        (``zk.com_key_admission``), else None (answered as an unknown serial, logged once a
        minute per clock, counted). A handshake with the right key from a new address binds
        the clock to it, on every replica (their cached device is dropped)."""
        admission = zk.com_key_admission(
            clock_id=device.clock_id,
            digest=device.com_key_digest,
            offered=offered,
            handshake=handshake,
            remote_addr=remote_addr,
            keyed_address=device.keyed_address,
        )
        if admission == zk.Admission.REFUSE:
            ZK_COM_KEY_REFUSED.inc()
            now = time.monotonic()
            if now - self._refusals_logged.get(device.clock_id, -1e9) >= _REFUSAL_LOG_EVERY_S:
                self._refusals_logged[device.clock_id] = now
                log.warning(
                    "ZK request refused: wrong or missing Comm Key",
                    clock_id=device.clock_id,
                    serial=device.serial,
                    remote_addr=remote_addr,
                    handshake=handshake,
                    key_sent=offered is not None,
                )
            return None
        if admission == zk.Admission.ADMIT_AND_BIND and remote_addr != device.keyed_address:
            async with self._uow(device.tenant_id) as uow:
                await uow.zk.keyed_from(device.clock_id, remote_addr)
                await uow.clocks.credentials_changed([device.clock_id])
                await uow.commit()
            device = replace(device, keyed_address=remote_addr)
            self._devices[device.serial] = (
                device,
                time.monotonic() + self._settings.device_cache_s,
            )
            log.info("ZK clock keyed", clock_id=device.clock_id, remote_addr=remote_addr)
        return device

    # --- cdata GET ----------------------------------------------------------------------

    async def handshake(self, device: ZkDevice, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        offset = zk.tz_offset(device.time_zone, now)
        async with self._uow(device.tenant_id) as uow:
            state = await uow.zk.state(device.clock_id)
            # A device handshakes again after every reboot, network loss or CHECK: only an
            # offset it was not told yet is written (a read, not a write, for a whole fleet
            # coming back after an outage).
            if state is None or state.tz_offset_told != offset:
                await uow.zk.told_offset(device.clock_id, offset)
                await uow.commit()
        self._told[device.clock_id] = offset
        stamps = state.stamps if state is not None else {}
        return zk.handshake(device.serial, stamps, self._settings.options, device.time_zone, now)

    def time(self, device: ZkDevice, now: datetime | None = None) -> str:
        self._skewed.discard(device.clock_id)  # it asked: it sets its clock by the answer
        return zk.time_reply(device.time_zone, now or datetime.now(UTC))

    # --- cdata POST ---------------------------------------------------------------------

    async def attlog(
        self,
        device: ZkDevice,
        body: str,
        stamp: str | None,
        received_at: datetime | None = None,
    ) -> int:
        """Record the batch's new records and their verdicts in one transaction (the dedup
        rows and the outbox commit together; with a ``GroupCommit``, in the same transaction
        as other devices' uploads arriving meanwhile); the caller answers OK only after the
        commit. Returns how many were new."""
        upload = self._parse_attlog(device, body, stamp, received_at or datetime.now(UTC))
        recorded = await self._group.run(device.tenant_id, device.clock_id, upload)
        if recorded.flagged:
            self._skewed.add(device.clock_id)
            log.warning(
                "ZK clock skew exceeds the limit", clock_id=device.clock_id, skew_s=recorded.skew
            )
        elif recorded.flagged is False:
            self._skewed.discard(device.clock_id)
        ZK_PUNCHES.labels("recorded").inc(recorded.new)
        ZK_PUNCHES.labels("duplicate").inc(len(upload.punches) - recorded.new)
        return recorded.new

    def _parse_attlog(
        self, device: ZkDevice, body: str, stamp: str | None, received_at: datetime
    ) -> _Upload:
        parsed = zk.parse_attlog(body)
        for refused in parsed.refused:
            log.warning(
                "ZK ATTLOG line refused",
                clock_id=device.clock_id,
                line=refused.line_no,
                reason=refused.reason,
            )
        ZK_REFUSED_LINES.labels("ATTLOG").inc(len(parsed.refused))
        realtime = zk.uploads_live(
            self._last_poll.get(device.clock_id),
            self._online_since.get(device.clock_id),
            received_at,
            self._settings.options.delay_s,
        )
        live_at = received_at if realtime else None
        punches = []
        times: dict[str, datetime] = {}
        for record in parsed.records:
            attempt = zk.attempt_id(device.clock_id, record.badge, record.device_time, record.state)
            punches.append(
                DevicePunch(
                    record.badge, record.device_time, record.state, record.verify_mode, attempt
                )
            )
            times[attempt] = zk.to_utc(record.device_time, device.time_zone, live_at)
        return _Upload(device, punches, times, stamp, received_at, realtime, current_span_context())

    async def _record_attlogs(self, uow: UnitOfWork, uploads: list[_Upload]) -> list[_Recorded]:
        """Uploads' writes in ``uow``, a few statements for all of them (not committed here;
        no side effect outside it): their new dedup rows, the verdicts of those, the clocks'
        stamps and skew."""
        states = await uow.zk.states(sorted({u.device.clock_id for u in uploads}))
        recorded_ids = await uow.zk.record_attlogs(
            [(u.device.clock_id, u.punches, u.received_at) for u in uploads]
        )
        seen: set[str] = set()
        news: list[list[DevicePunch]] = []
        for upload in uploads:
            # A record twice in the batch (a resend) is new once, in its first upload.
            new = [
                p
                for p in upload.punches
                if p.attempt_id in recorded_ids and p.attempt_id not in seen
            ]
            seen.update(p.attempt_id for p in new)
            news.append(new)
        # A badge is its worker's Employee ID in any case (``employee_id_key``).
        keys = sorted({employee_id_key(p.badge) for new in news for p in new})
        workers = await uow.zk.workers_by_badge(keys) if keys else {}
        verdicts = []
        results: list[_Recorded] = []
        saves: list[zk.AttlogSave] = []
        for upload, new in zip(uploads, news, strict=True):
            device, times, received_at = upload.device, upload.times, upload.received_at
            state = states.get(device.clock_id)
            verifies_pins = state is not None and state.verifies_pins
            verdicts += [
                self._verdict(device, p, times[p.attempt_id], received_at, workers, verifies_pins)
                for p in new
            ]
            # Only records sent for the first time say anything of the device's clock (a
            # resend arrives late by nature).
            skew = zk.skew_sample([times[p.attempt_id] for p in new], received_at, upload.realtime)
            flagged = zk.skew_flagged(skew, self._settings.max_skew_s) if skew is not None else None
            newest = max(times.values(), default=None)
            saves.append(zk.AttlogSave(device.clock_id, upload.stamp, newest, skew, flagged))
            results.append(_Recorded(len(new), skew, flagged))
        if verdicts:
            # A verdict's correlation id is its punch's attempt id.
            traces = {
                p.attempt_id: u.trace for u, new in zip(uploads, news, strict=True) for p in new
            }
            with continuing(traces):
                await events.publish_verdicts(uow, verdicts)
        await uow.zk.save_attlogs(saves)
        for upload in uploads:
            state = states.get(upload.device.clock_id)
            if state is not None and zk.stamp_regressed(state.stamps.get("ATTLOG"), upload.stamp):
                since = state.last_record_at or state.last_poll_at or upload.received_at
                await self._query_punches(
                    uow, upload.device, since, upload.received_at, "stamp went back"
                )
        return results

    def _verdict(
        self, device, punch: DevicePunch, at_utc, received_at, workers, verifies_pins: bool
    ):
        context = kiosk_pb2.PunchAttemptContext(
            attempt_id=punch.attempt_id,
            clock_id=device.clock_id,
            captured_offline=zk.captured_offline(at_utc, received_at),
            requested_direction=_DIRECTION[zk.direction(punch.state)],
            claimed_employee_id=punch.badge,
            device_verify_mode=punch.verify_mode,
            device_state=punch.state,
        )
        set_timestamp(context.captured_at, at_utc)
        set_timestamp(context.received_at, received_at)
        method = zk.method(punch.verify_mode)
        worker = workers.get(employee_id_key(punch.badge))
        return events.device_punch_verdict(context, worker, method, verifies_pins)

    async def operlog(self, device: ZkDevice, table: str, body: str, stamp: str | None) -> int:
        records, refused = zk.parse_operlog(body)
        for r in refused:
            log.warning(
                "ZK upload line refused",
                clock_id=device.clock_id,
                table=table,
                line=r.line_no,
                reason=r.reason,
            )
        ZK_REFUSED_LINES.labels(table).inc(len(refused))
        async with self._uow(device.tenant_id) as uow:
            if records:
                await self._biometrics.uploaded(uow, device.clock_id, records)
            await uow.zk.save_upload(device.clock_id, table, stamp)
            await uow.commit()
        return len(records)

    async def attphoto(self, device: ZkDevice, stamp: str | None) -> None:
        """An attendance photo: not kept (docs/hardware-clocks.md), but its Stamp is, which the
        next handshake hands back: without it the device sends every photo again."""
        if stamp is None:
            return
        async with self._uow(device.tenant_id) as uow:
            await uow.zk.save_upload(device.clock_id, "ATTPHOTO", stamp)
            await uow.commit()

    def unknown_table(self, device: ZkDevice, table: str) -> None:
        log.info(
            "ZK upload of a table not kept; answered OK", clock_id=device.clock_id, table=table
        )

    # --- getrequest ---------------------------------------------------------------------

    def known(self, serial: str) -> ZkDevice | None:
        """The registered device with this serial if memory holds it and it may be served
        without a check (no lookup, nothing recorded); None when it must go the full way
        (``device``, then ``admit``: not cached, or a clock with a Comm Key to check)."""
        cached = self._devices.get(serial)
        if cached is not None and cached[1] > time.monotonic():
            device = cached[0]
            return device if device is not None and device.com_key_digest is None else None
        return None

    def poll_at_once(
        self, device: ZkDevice, info: str | None, push_version: str, now: datetime | None = None
    ) -> str | None:
        """The common poll, answered from memory: nothing can be due for the clock (its queue
        was read clean and no NOTIFY or redelivery deadline since) and it was not offline.
        Its status goes to the batched buffers as ``poll`` does. None (and nothing recorded)
        when the queue must be read: call ``poll``."""
        now = now or datetime.now(UTC)
        clock_id = device.clock_id
        if self._clean.get(clock_id, 0.0) <= time.monotonic() or zk.gap_after_offline(
            self._last_poll.get(clock_id), now, self._settings.gap_after_offline
        ):
            return None
        self._record_poll(device, info, push_version, now)
        return self._check_line(device, now) or "OK"

    def _record_poll(
        self, device: ZkDevice, info: str | None, push_version: str, now: datetime
    ) -> None:
        clock_id = device.clock_id
        self._online_since[clock_id] = zk.online_since(
            self._last_poll.get(clock_id),
            self._online_since.get(clock_id),
            now,
            self._settings.options.delay_s,
        )
        self._last_poll[clock_id] = now
        parsed_info = zk.parse_info(info) if info else None
        self._buffers.poll(device.tenant_id, clock_id, now, push_version, parsed_info)
        self._heartbeats.record(
            Heartbeat(
                device.tenant_id,
                clock_id,
                now,
                (parsed_info.firmware if parsed_info else "") or f"ZK push {push_version}"[:100],
                0,
                "",
            )
        )

    async def poll(
        self, device: ZkDevice, info: str | None, push_version: str, now: datetime | None = None
    ) -> str:
        now = now or datetime.now(UTC)
        quick = self.poll_at_once(device, info, push_version, now)
        if quick is not None:
            return quick
        clock_id = device.clock_id
        previous = self._last_poll.get(clock_id)
        self._record_poll(device, info, push_version, now)
        if zk.gap_after_offline(previous, now, self._settings.gap_after_offline):
            assert previous is not None
            async with self._uow(device.tenant_id) as uow:
                await self._query_punches(uow, device, previous, now, "back after offline")
                await uow.commit()
            self._clean.pop(clock_id, None)
        reply = "OK"
        if self._clean.get(clock_id, 0.0) <= time.monotonic():
            reply = await self._deliver(device, now)
        check = self._check_line(device, now)
        if check:
            reply = check if reply == "OK" else reply + check
        return reply

    def _check_line(self, device: ZkDevice, now: datetime) -> str:
        """``CHECK`` (re-handshake: the device takes its TimeZone again and asks the time)
        when the zone's offset changed since it was told, or its clock is skewed."""
        clock_id = device.clock_id
        retell = zk.must_retell_time(self._told.get(clock_id), device.time_zone, now)
        if not (retell or clock_id in self._skewed):
            return ""
        mono = time.monotonic()
        if self._checked.get(clock_id, -1e18) + self._settings.retell_every_s > mono:
            return ""
        self._checked[clock_id] = mono
        log.info("ZK clock told to handshake again", clock_id=clock_id, offset_changed=retell)
        return f"C:{zk.CHECK_COMMAND_ID}:CHECK\n"

    async def _deliver(self, device: ZkDevice, now: datetime) -> str:
        clock_id = device.clock_id
        async with self._uow(device.tenant_id) as uow:
            rows, due = await uow.zk.deliverable(
                clock_id, now - self._settings.redeliver_after, zk.MAX_COMMANDS_PER_REPLY
            )
            commands, done = await self._lines(uow, clock_id, rows)
            reply, ids = zk.pack_reply(commands)
            if ids:
                await uow.zk.mark_delivered(clock_id, ids)
            if done:
                await uow.zk.record_results(clock_id, done)
            await uow.commit()
        if not rows:
            wait = self._settings.recheck_s
            if due is not None:
                redeliver_at = due + self._settings.redeliver_after
                wait = min(wait, max((redeliver_at - now).total_seconds(), 0.0))
            self._clean[clock_id] = time.monotonic() + wait
        return reply

    async def _lines(
        self, uow: UnitOfWork, clock_id: str, rows: Sequence[Deliverable]
    ) -> tuple[list[tuple[int, list[str]]], list[tuple[int, int, str]]]:
        """Each queued command's device lines; commands with none (FULL_RESYNC: its roster
        follows in the queue) are acknowledged at once, unknown kinds refused (-1002). On a
        clock that verifies PINs an UPSERT_WORKER's PIN is opened here, in memory, for the
        reply only (the queue holds the profile alone)."""
        commands: list[tuple[int, list[str]]] = []
        done: list[tuple[int, int, str]] = []
        parsed: list[tuple[Deliverable, object]] = []
        for row in rows:
            try:
                parsed.append((row, json.loads(row.body)))
            except ValueError:
                parsed.append((row, None))
        pins = await device_pins.passwords(
            uow,
            self._device_pins,
            clock_id,
            device_pins.upserted_workers([(r.kind, b) for r, b in parsed if isinstance(b, dict)]),
        )
        for row, body in parsed:
            try:
                kind = CommandKind(row.kind)
                if not isinstance(body, dict):
                    raise ValueError("not a JSON object")
                worker = body.get("worker")
                pin = pins.get(str(worker.get("worker_id"))) if isinstance(worker, dict) else None
                lines = zk.roster_lines(kind, body, pin)
                if lines is None:
                    lines = await self._biometrics.command_lines(uow, kind, body)
            except (ValueError, KeyError, TypeError):
                done.append((row.sequence, -1002, "not supported on ZK PUSH clocks"))
                continue
            if lines:
                commands.append((row.sequence, lines))
            else:
                done.append((row.sequence, 0, "nothing to send to a ZK PUSH clock"))
        return commands, done

    async def _query_punches(
        self, uow: UnitOfWork, device: ZkDevice, since: datetime, now: datetime, why: str
    ) -> None:
        start, end = zk.gap_range(since, now, device.time_zone, self._settings.gap_margin)
        fmt = zk.DEVICE_TIME_FORMAT
        await uow.queue.enqueue(
            [(device.clock_id, Command.query_punches(start.strftime(fmt), end.strftime(fmt)))]
        )
        ZK_GAPS.inc()
        log.info("ZK gap: asking the device again", clock_id=device.clock_id, reason=why)

    # --- devicecmd ----------------------------------------------------------------------

    async def results(self, device: ZkDevice, body: str) -> int:
        results, refused = zk.parse_devicecmd(body)
        for r in refused:
            log.warning(
                "ZK command result refused",
                clock_id=device.clock_id,
                line=r.line_no,
                reason=r.reason,
            )
        queued = [
            (r.command_id, r.return_code, r.command)
            for r in results
            if r.command_id != zk.CHECK_COMMAND_ID
        ]
        if not queued:
            return 0
        async with self._uow(device.tenant_id) as uow:
            recorded = await uow.zk.record_results(device.clock_id, queued)
            await uow.commit()
        for row in recorded:
            log_failure(row)
        return len(recorded)
