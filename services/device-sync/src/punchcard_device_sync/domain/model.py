"""Clocks, what a clock holds about a worker, and the commands that change it. Pure Python:
no I/O here."""

from __future__ import annotations

import enum
import hashlib
import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

CREDENTIAL_PREFIX = "pcc_"

# What a clock may claim, checked before anything reaches the database (a clock's numbers are
# untrusted input): a sequence is at least 1 and at most 2**62, so the server can still number
# past any sequence a clock claims (a resync after a restore numbers above it) without leaving
# PostgreSQL's bigint; a result code is a 32-bit-safe number; texts are short and hold no NUL
# (PostgreSQL text cannot).
MAX_SEQUENCE = 2**62
MAX_RESULT_CODE = 100_000
MAX_ACKS_PER_REQUEST = 1000
MAX_DETAIL_LENGTH = 500
MAX_SOFTWARE_VERSION_LENGTH = 100


class CommandKind(enum.StrEnum):
    UPSERT_WORKER = "UPSERT_WORKER"
    REMOVE_WORKER = "REMOVE_WORKER"
    FULL_RESYNC = "FULL_RESYNC"


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


INACTIVE = "Inactive"


@dataclass(frozen=True)
class WorkerFacts:
    """What device-sync knows of a worker (from identity's and face-match's events)."""

    id: str
    employee_id: str
    display_name: str
    status: str  # Pending | Active | Inactive
    site_id: str = ""
    pin_set: bool = False
    pin_allowed: bool = True
    face_enrolled: bool = False

    @property
    def on_clocks(self) -> bool:
        """Whether clocks hold this worker at all (Inactive workers are removed everywhere)."""
        return self.status != INACTIVE

    def profile(self) -> dict:
        """The worker as a clock holds it: no PIN, no PIN hash, no face template."""
        methods = []
        if self.face_enrolled:
            methods.append("FACE")
        if self.pin_set and self.pin_allowed:
            methods.append("PIN")
        return {
            "worker_id": self.id,
            "employee_id": self.employee_id,
            "display_name": self.display_name,
            "status": self.status,
            "allowed_methods": methods,
            "pin_set": self.pin_set,
        }


def canonical(profile: dict) -> str:
    """The line of the roster digest for one worker (docs/device-sync.md)."""
    return json.dumps(profile, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def roster_digest(lines: Iterable[str]) -> str:
    """SHA-256 (hex) of the sorted canonical profiles joined with newlines."""
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


@dataclass(frozen=True)
class Command:
    """One command for one clock, before it has a sequence."""

    kind: CommandKind
    worker_id: str | None = None
    profile_json: str | None = None  # UPSERT_WORKER: canonical(profile)
    employee_id: str | None = None  # REMOVE_WORKER
    reason: str | None = None  # FULL_RESYNC

    @classmethod
    def upsert(cls, profile_json: str, worker_id: str) -> Command:
        return cls(CommandKind.UPSERT_WORKER, worker_id=worker_id, profile_json=profile_json)

    @classmethod
    def remove(cls, worker_id: str, employee_id: str) -> Command:
        return cls(CommandKind.REMOVE_WORKER, worker_id=worker_id, employee_id=employee_id)

    @classmethod
    def resync(cls, reason: str) -> Command:
        return cls(CommandKind.FULL_RESYNC, reason=reason)

    def body(self, command_id: str, sequence: int) -> str:
        """The command's JSON exactly as the clock receives it (stored as is in the queue)."""
        head = f'{{"command_id":"{command_id}","sequence":{sequence},"kind":"{self.kind}"'
        if self.kind is CommandKind.UPSERT_WORKER:
            return f'{head},"worker":{self.profile_json}}}'
        if self.kind is CommandKind.REMOVE_WORKER:
            worker = json.dumps(
                {"worker_id": self.worker_id, "employee_id": self.employee_id},
                separators=(",", ":"),
                ensure_ascii=False,
            )
            return f'{head},"worker":{worker}}}'
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


def worker_commands(
    before: WorkerFacts | None,
    before_profile: str | None,
    after: WorkerFacts | None,
    clocks_before: set[str],
    clocks_after: set[str],
) -> list[tuple[str, Command]]:
    """Every clock's command after a change of one worker (its facts, its clocks, or both):
    a clock that now holds the worker gets the fresh profile if it did not hold it or the
    profile changed; a clock that held it and no longer does gets REMOVE_WORKER."""
    on_before = before is not None and before.on_clocks
    on_after = after is not None and after.on_clocks
    profile = canonical(after.profile()) if after is not None else None
    changed = profile != before_profile
    commands: list[tuple[str, Command]] = []
    for clock_id in sorted(clocks_before | clocks_after):
        had = on_before and clock_id in clocks_before
        has = on_after and clock_id in clocks_after
        if has and (changed or not had):
            assert after is not None and profile is not None
            commands.append((clock_id, Command.upsert(profile, after.id)))
        elif had and not has:
            assert before is not None
            commands.append((clock_id, Command.remove(before.id, before.employee_id)))
    return commands


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
