"""Clocks, what a clock holds about a worker, and the commands that change it. Pure Python:
no I/O here."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

CREDENTIAL_PREFIX = "pcc_"

# What a clock may claim, checked before anything reaches the database (a clock's numbers are
# untrusted input): a sequence is at least 1 and at most 2**53 - 1, so the server can still
# number past any sequence a clock claims (a resync after a restore numbers above it) without
# leaving PostgreSQL's bigint, and every client reads it exactly: JSON numbers past 2**53 are
# not (JavaScript's, or any parser's that reads them as doubles: 2**62 went out as
# 4611686018427388000, above the bound); a result code is a 32-bit-safe number; texts are
# short and hold no NUL (PostgreSQL text cannot).
MAX_SEQUENCE = 2**53 - 1  # Number.MAX_SAFE_INTEGER
MAX_RESULT_CODE = 100_000
MAX_ACKS_PER_REQUEST = 1000
MAX_DETAIL_LENGTH = 500
MAX_SOFTWARE_VERSION_LENGTH = 100


class CommandKind(enum.StrEnum):
    UPSERT_WORKER = "UPSERT_WORKER"
    REMOVE_WORKER = "REMOVE_WORKER"
    FULL_RESYNC = "FULL_RESYNC"
    # ZK PUSH clocks only: the worker's biometric templates (expanded at delivery from what is
    # stored then: the queue holds no template), and their deletion.
    UPSERT_TEMPLATES = "UPSERT_TEMPLATES"
    DELETE_TEMPLATES = "DELETE_TEMPLATES"
    # ZK PUSH clocks only: ask the device to upload a range of its records again (a gap).
    QUERY_PUNCHES = "QUERY_PUNCHES"


# What a new command of a worker replaces among that worker's unacknowledged commands on the
# same clock (docs/device-sync.md, "Collapse"): a roster command replaces the roster commands
# and a pending template push (which the roster use cases queue again after it, so templates
# always follow their user); a template push replaces a pending push; a template deletion
# replaces a pending push or deletion. A pending deletion outlives roster commands and pushes.
COLLAPSES: dict[CommandKind, frozenset[CommandKind]] = {
    CommandKind.UPSERT_WORKER: frozenset(
        {CommandKind.UPSERT_WORKER, CommandKind.REMOVE_WORKER, CommandKind.UPSERT_TEMPLATES}
    ),
    CommandKind.REMOVE_WORKER: frozenset(
        {CommandKind.UPSERT_WORKER, CommandKind.REMOVE_WORKER, CommandKind.UPSERT_TEMPLATES}
    ),
    CommandKind.UPSERT_TEMPLATES: frozenset({CommandKind.UPSERT_TEMPLATES}),
    CommandKind.DELETE_TEMPLATES: frozenset(
        {CommandKind.UPSERT_TEMPLATES, CommandKind.DELETE_TEMPLATES}
    ),
}


class ClockStatus(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    NEVER_SEEN = "never_seen"
    REVOKED = "revoked"


class SyncState(enum.StrEnum):
    """Where a worker's latest command on one clock stands (the portal shows it)."""

    SENT = "sent"  # queued; the clock is online and has not acknowledged it yet
    WAITING = "waiting"  # queued; the clock is offline or never seen: it syncs when back
    ACKNOWLEDGED = "acknowledged"  # the clock applied it (result 0)
    FAILED = "failed"  # the clock answered an error code
    REVOKED = "revoked"  # the clock is revoked: nothing will reach it


def sync_state(acked: bool, result_code: int | None, status: ClockStatus) -> SyncState:
    if acked:
        return SyncState.ACKNOWLEDGED if result_code == 0 else SyncState.FAILED
    if status is ClockStatus.REVOKED:
        return SyncState.REVOKED
    return SyncState.SENT if status is ClockStatus.ONLINE else SyncState.WAITING


class WorkerStatus(enum.StrEnum):
    """A worker's status as identity says it (``common_pb2.WorkerStatus``, by name)."""

    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


INACTIVE = WorkerStatus.INACTIVE


class AssignmentSource(enum.StrEnum):
    """Why a worker is on a clock (``device_pb2.AssignmentSource``, by name)."""

    DIRECT = "direct"  # an admin assigned the worker to the clock
    SITE_RULE = "site_rule"  # the site's rule puts its Active workers on its clocks


class ClockRole(enum.StrEnum):
    """A worker's role on one clock (``device_pb2.ClockRole``, by name): a ZK clock's
    privilege (``Pri``: USER 0, MANAGER 2 = enroller, ADMINISTRATOR 14 = the device's menu);
    the kiosk app's Administrator may open its settings. Granting ADMINISTRATOR is for
    sysadmins (it opens a clock's settings); a manager grants USER and MANAGER."""

    USER = "USER"
    MANAGER = "MANAGER"
    ADMINISTRATOR = "ADMINISTRATOR"

    @property
    def sysadmin_only(self) -> bool:
        return self is ClockRole.ADMINISTRATOR


def opens_clock_settings(role: ClockRole | None) -> bool:
    """Whether a worker of this role on a clock may act on the clock's own settings from the
    clock itself (the kiosk app's settings: "Sync roster now"): its Administrator only (a
    worker not on the clock, None, never)."""
    return role is ClockRole.ADMINISTRATOR


DEFAULT_CLOCK_ROLE = ClockRole.USER


def may_set_clock_role(sysadmin: bool, before: ClockRole | None, after: ClockRole) -> bool:
    """Whether an admin may give a worker ``after`` on a clock where they have ``before``
    (None: not assigned yet). ADMINISTRATOR opens a clock's settings: only a sysadmin grants
    it or takes it away; a manager sets USER and MANAGER (and keeps what is there)."""
    if sysadmin or before == after:
        return True
    return not after.sysadmin_only and (before is None or not before.sysadmin_only)


@dataclass(frozen=True)
class WorkerFacts:
    """What device-sync knows of a worker (from identity's and face-match's events)."""

    id: str
    employee_id: str
    display_name: str
    status: WorkerStatus
    site_id: str = ""
    pin_set: bool = False
    pin_allowed: bool = True
    face_enrolled: bool = False
    # The worker's badge / proximity card numbers (identity's full sorted list).
    cards: tuple[str, ...] = ()

    @property
    def on_clocks(self) -> bool:
        """Whether clocks hold this worker at all (Inactive workers are removed everywhere)."""
        return self.status != INACTIVE

    def profile(self) -> dict:
        """The worker as every clock holds it, before the clock's own ``clock_role`` is added
        (``clock_profile``): no PIN, no PIN hash, no face template."""
        methods = []
        if self.face_enrolled:
            methods.append("FACE")
        if self.pin_set and self.pin_allowed:
            methods.append("PIN")
        return {
            "worker_id": self.id,
            "employee_id": self.employee_id,
            "display_name": self.display_name,
            "status": str(self.status),
            "allowed_methods": methods,
            "pin_set": self.pin_set,
            "cards": list(self.cards),
        }


def canonical(profile: dict) -> str:
    """The line of the roster digest for one worker (docs/device-sync.md)."""
    return json.dumps(profile, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


#: Where a clock's role goes in a canonical profile: the keys are sorted, and "clock_role"
#: sorts just before "display_name", which every profile has. Before it come only
#: "allowed_methods" and "cards", whose values (method names, digits) never hold it, and in
#: any string value a quote is escaped, so this is the key. The expected roster digest is
#: computed in SQL with the same insertion (adapters/postgres.py, ``expected_rosters``).
CLOCK_ROLE_BEFORE = '"display_name":'


def clock_profile(profile: str, role: ClockRole) -> str:
    """The profile one clock receives: the worker's canonical profile with that clock's
    ``clock_role`` — exactly ``canonical({**profile, "clock_role": role})``, without parsing
    (a fan-out to a thousand clocks inserts a role a thousand times)."""
    return profile.replace(CLOCK_ROLE_BEFORE, f'"clock_role":"{role}",{CLOCK_ROLE_BEFORE}', 1)


def roster_digest(lines: Iterable[str]) -> str:
    """SHA-256 (hex) of the sorted canonical profiles joined with newlines."""
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


@dataclass(frozen=True)
class Command:
    """One command for one clock, before it has a sequence."""

    kind: CommandKind
    worker_id: str | None = None
    profile_json: str | None = None  # UPSERT_WORKER: canonical(profile)
    employee_id: str | None = None  # REMOVE_WORKER, UPSERT_TEMPLATES, DELETE_TEMPLATES
    reason: str | None = None  # FULL_RESYNC
    tables: tuple[str, ...] = ()  # DELETE_TEMPLATES: the device tables to delete from
    punches_range: tuple[str, str] | None = None  # QUERY_PUNCHES: device-local start, end

    @classmethod
    def upsert(cls, profile_json: str, worker_id: str) -> Command:
        return cls(CommandKind.UPSERT_WORKER, worker_id=worker_id, profile_json=profile_json)

    @classmethod
    def remove(cls, worker_id: str, employee_id: str) -> Command:
        return cls(CommandKind.REMOVE_WORKER, worker_id=worker_id, employee_id=employee_id)

    @classmethod
    def resync(cls, reason: str) -> Command:
        return cls(CommandKind.FULL_RESYNC, reason=reason)

    @classmethod
    def push_templates(cls, worker_id: str, employee_id: str) -> Command:
        return cls(CommandKind.UPSERT_TEMPLATES, worker_id=worker_id, employee_id=employee_id)

    @classmethod
    def delete_templates(cls, worker_id: str, employee_id: str, tables: tuple[str, ...]) -> Command:
        return cls(
            CommandKind.DELETE_TEMPLATES,
            worker_id=worker_id,
            employee_id=employee_id,
            tables=tuple(tables),
        )

    @property
    def collapses(self) -> frozenset[CommandKind]:
        """The kinds of the worker's unacknowledged commands on the clock this one replaces."""
        return COLLAPSES.get(self.kind, frozenset())

    @classmethod
    def query_punches(cls, start: str, end: str) -> Command:
        return cls(CommandKind.QUERY_PUNCHES, punches_range=(start, end))

    def body(self, command_id: str, sequence: int) -> str:
        """The command's JSON exactly as the clock receives it (stored as is in the queue)."""
        head = f'{{"command_id":"{command_id}","sequence":{sequence},"kind":"{self.kind}"'
        if self.kind is CommandKind.UPSERT_WORKER:
            return f'{head},"worker":{self.profile_json}}}'
        if self.kind in (
            CommandKind.REMOVE_WORKER,
            CommandKind.UPSERT_TEMPLATES,
            CommandKind.DELETE_TEMPLATES,
        ):
            worker = json.dumps(
                {"worker_id": self.worker_id, "employee_id": self.employee_id},
                separators=(",", ":"),
                ensure_ascii=False,
            )
            if self.kind is CommandKind.DELETE_TEMPLATES:
                tables = json.dumps(list(self.tables), separators=(",", ":"))
                return f'{head},"worker":{worker},"tables":{tables}}}'
            return f'{head},"worker":{worker}}}'
        if self.kind is CommandKind.QUERY_PUNCHES:
            assert self.punches_range is not None
            start, end = (json.dumps(t) for t in self.punches_range)
            return f'{head},"start":{start},"end":{end}}}'
        return f'{head},"reason":{json.dumps(self.reason, ensure_ascii=False)}}}'


# --- clock credentials -------------------------------------------------------------------


def new_credential(clock_id: str) -> str:
    """``pcc_<clock id>_<256 random bits>``: shown once, stored as its SHA-256."""
    return f"{CREDENTIAL_PREFIX}{clock_id}_{secrets.token_urlsafe(32)}"


def credential_hash(credential: str) -> bytes:
    return hashlib.sha256(credential.encode()).digest()


def credential_clock_id(credential: str) -> str | None:
    """The clock a credential claims to be, or None when it is not shaped like one."""
    if not credential.startswith(CREDENTIAL_PREFIX):
        return None
    clock_id, sep, secret = credential[len(CREDENTIAL_PREFIX) :].partition("_")
    if not sep or not secret:
        return None
    try:
        return str(uuid.UUID(clock_id))
    except ValueError:
        return None


def clock_status(
    revoked: bool, last_seen_at: datetime | None, now: datetime, offline_after: timedelta
) -> ClockStatus:
    if revoked:
        return ClockStatus.REVOKED
    if last_seen_at is None:
        return ClockStatus.NEVER_SEEN
    return ClockStatus.ONLINE if now - last_seen_at <= offline_after else ClockStatus.OFFLINE


# What the fleet's gauge counts: clocks in service (a revoked clock is no longer the fleet's).
FLEET_STATUSES = (ClockStatus.ONLINE, ClockStatus.OFFLINE, ClockStatus.NEVER_SEEN)


def fleet_tally(
    clocks: Iterable[tuple[str, bool, datetime | None]], now: datetime, offline_after: timedelta
) -> dict[tuple[str, ClockStatus], int]:
    """How many clocks in service of each protocol are online, offline or never seen
    (``clock_status``), every (protocol seen, status) pair present (0 when none); revoked
    clocks are not counted. ``clocks`` are (protocol, revoked, last seen)."""
    clocks = [c for c in clocks if not c[1]]
    tally = {(p, s): 0 for p in {c[0] for c in clocks} for s in FLEET_STATUSES}
    for protocol, revoked, last_seen_at in clocks:
        tally[(protocol, clock_status(revoked, last_seen_at, now, offline_after))] += 1
    return tally


@dataclass(frozen=True)
class Heartbeat:
    """What a clock said about itself in one request (kept in memory, written in batches)."""

    tenant_id: str
    clock_id: str
    seen_at: datetime
    software_version: str
    applied_sequence: int
    roster_digest: str


def status_write_every(write_every: timedelta, offline_after: timedelta) -> timedelta:
    """How stale a clock's stored last-seen time may grow while the clock keeps calling:
    the setting, but at most a third of ``offline_after``, so a clock calling on time is never
    shown offline because its calls were not all written."""
    return min(write_every, offline_after / 3)


def status_write_due(
    last_written_at: datetime | None, seen_at: datetime, changed: bool, every: timedelta
) -> bool:
    """Whether what a clock said in its latest call is written: always when it said something
    new (its version, roster, counts) or was never written, else once ``every`` — a fleet's
    polls cost the database one row per clock per ``every``, not one per call."""
    return changed or last_written_at is None or seen_at - last_written_at >= every


@dataclass(frozen=True)
class PollLimits:
    """Long-polls (``/clock/v1/sync`` with ``wait_s`` > 0) one replica holds at once: per clock
    (a clock needs one; two let a reconnect overlap the poll it abandoned) and per tenant, so
    that one credential's thousands of polls never hold what other clocks and tenants need."""

    per_clock: int = 2
    per_tenant: int = 1000


def may_hold_poll(held_by_clock: int, held_by_tenant: int, limits: PollLimits) -> bool:
    """Whether one more long-poll of a clock may be held, given what its clock and its tenant
    hold already (a refused one is a 429 with Retry-After: the clock polls again later)."""
    return held_by_clock < limits.per_clock and held_by_tenant < limits.per_tenant


@dataclass(frozen=True)
class Clock:
    """A registered clock, as the admin use cases see it."""

    id: str
    name: str
    site_id: str
    time_zone: str
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class Queued:
    """A command queued for a clock, with its sequence."""

    clock_id: str
    sequence: int
    command_id: str
    command: Command


@dataclass(frozen=True)
class Ack:
    """A clock's result for one of its commands."""

    command_id: str
    sequence: int
    result_code: int
    detail: str


@dataclass(frozen=True)
class AckRecorded:
    """An acknowledgement that counted (the first result of a command of that clock)."""

    clock_id: str
    sequence: int
    kind: str
    worker_id: str | None
    result_code: int
    detail: str | None


class RosterCheck(enum.StrEnum):
    """What a clock's roster digest says, compared with what it should hold."""

    CATCHING_UP = "catching up"  # it has not applied everything queued yet: compare later
    IN_SYNC = "in sync"
    DIGEST_MISMATCH = "roster digest mismatch"  # applied everything, holds something else
    AHEAD = "clock is ahead of the server's queue"  # claims a sequence never issued

    @property
    def needs_resync(self) -> bool:
        return self in (RosterCheck.DIGEST_MISMATCH, RosterCheck.AHEAD)


def check_roster(
    applied: int, digest: str, last_sequence: int, expected_digest: str
) -> RosterCheck:
    """A clock is resynced when it applied everything queued and still holds something else
    than it should, or claims a sequence never issued (the value is the resync's reason)."""
    if applied < last_sequence:
        return RosterCheck.CATCHING_UP
    if applied > last_sequence:
        return RosterCheck.AHEAD
    if hmac.compare_digest(digest, expected_digest):
        return RosterCheck.IN_SYNC
    return RosterCheck.DIGEST_MISMATCH


def may_auto_resync(last: datetime | None, now: datetime, every: timedelta) -> bool:
    """At most one automatic resync per clock per ``every`` (a clock that keeps drifting is
    logged instead of being resynced in a loop)."""
    return last is None or now - last >= every
