"""One simulated clock: it long-polls `POST /clock/v1/sync`, applies the commands it is given in
sequence order, keeps its roster, and acknowledges each command on its next sync
(docs/device-sync.md, "Clock API")."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import aiohttp

from punchcard_kiosk_sim.digest import roster_digest
from punchcard_kiosk_sim.waiting import wait_for_condition

log = logging.getLogger("punchcard_kiosk_sim")

Command = dict[str, Any]
Profile = dict[str, Any]
Ack = dict[str, Any]
OnCommand = Callable[["SimulatedClock", Command, float], None]
# Either {command_id | worker_id | kind: result code} or a function of the command answering a
# result code (0 or None: apply it normally).
FailCodes = Mapping[str, int] | Callable[[Command], int | None]

UPSERT_WORKER = "UPSERT_WORKER"
REMOVE_WORKER = "REMOVE_WORKER"
FULL_RESYNC = "FULL_RESYNC"

# Result codes (ZK PUSH).
RESULT_OK = 0
RESULT_PARAMETER_ERROR = -1
RESULT_READ_WRITE_ERROR = -3
RESULT_NO_SPACE = -5
RESULT_UNKNOWN_COMMAND = -22

DEFAULT_SOFTWARE_VERSION = "punchcard-kiosk-sim 0.1.0"
# Acks per request (device-sync refuses more than 1,000); the rest ride on the next one.
MAX_ACKS_PER_REQUEST = 500
CREDENTIAL_PREFIX = "pcc_"


def clock_id_from_credential(credential: str) -> str | None:
    """The clock id inside a credential `pcc_<clock_id>_<secret>` (None if it is not one)."""
    if not credential.startswith(CREDENTIAL_PREFIX):
        return None
    clock_id, sep, secret = credential[len(CREDENTIAL_PREFIX) :].partition("_")
    return clock_id if sep and clock_id and secret else None


class SyncError(Exception):
    """A sync (or acks) request answered with something other than 200."""

    def __init__(self, status: int, code: str = "", message: str = "") -> None:
        super().__init__(f"HTTP {status} {code}: {message}".rstrip(": "))
        self.status = status
        self.code = code
        self.message = message


class Unauthorized(SyncError):
    """401: the credential is revoked, rotated or wrong; the clock stops."""


class Roster(dict[str, Profile]):
    """worker_id -> profile, as received. It counts its own changes (`version`) so the clock can
    cache its digest: replace a profile (`roster[w] = {...}`) rather than editing it in place, or
    call `SimulatedClock.digest(fresh=True)`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = 0

    def __setitem__(self, key: str, value: Profile) -> None:
        super().__setitem__(key, value)
        self.version += 1

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.version += 1

    def __ior__(self, other: Any) -> Roster:  # type: ignore[override,misc]
        self.update(other)
        return self

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        self.version += 1
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Profile]:
        self.version += 1
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        self.version += 1

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.version += 1

    def setdefault(self, key: str, default: Profile | None = None) -> Profile:  # type: ignore[override]
        self.version += 1
        return super().setdefault(key, default)  # type: ignore[arg-type]


class SimulatedClock:
    """A kiosk that speaks the clock API.

    State (read it freely): `roster` (worker_id -> profile), `applied_sequence`, `applied`
    [(sequence, kind, worker_id)] in application order, `failed` [(sequence, kind, worker_id,
    result_code)], `received` [(monotonic time, command)] for every command received (duplicates
    included), `duplicates`, `last_sequence` (the server's, from the last answer), `clock_id`,
    `unauthorized` / `error`, and the counters of `stats()`. With `history=False` the lists
    `received`, `applied` and `failed` stay empty (counters only), for long runs.

    `on_command(clock, command, received_at)` is called (synchronously) for every command
    received, duplicates included, after the clock applied it. `fail_codes` makes the clock
    answer commands with a failure code instead of applying them: a mapping looked up by
    command_id, then worker_id, then kind (e.g. `{"UPSERT_WORKER": -5}`), or a function of the
    command returning a code (0 or None: apply normally).

    `run()` loops until `stop()` (or a 401); `offline = True` pauses it (an in-flight long-poll is
    dropped, as a clock losing its network would), `offline = False` resumes it.
    """

    def __init__(
        self,
        base_url: str,
        credential: str,
        session: aiohttp.ClientSession,
        *,
        wait_s: float = 25,
        on_command: OnCommand | None = None,
        fail_codes: FailCodes | None = None,
        software_version: str = DEFAULT_SOFTWARE_VERSION,
        applied_sequence: int = 0,
        limit: int | None = None,
        history: bool = True,
        backoff_base_s: float = 0.2,
        backoff_cap_s: float = 5.0,
        request_margin_s: float = 15.0,
        idle_delay_s: float | None = None,
        flush_acks_on_stop: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.session = session
        self.wait_s = wait_s
        self.on_command = on_command
        self.fail_codes = fail_codes
        self.software_version = software_version
        self.limit = limit
        self.history = history
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.request_margin_s = request_margin_s
        # With wait_s == 0 (short polling) an empty answer comes back at once: pace the loop.
        self.idle_delay_s = idle_delay_s if idle_delay_s is not None else (1.0 if not wait_s else 0)
        self.flush_acks_on_stop = flush_acks_on_stop
        self._rng = rng or random.Random()

        self.clock_id: str | None = clock_id_from_credential(credential)
        self._roster = Roster()
        self._digest_cache: tuple[int, str] | None = None
        self.applied_sequence = applied_sequence
        self.last_sequence: int | None = None
        self.applied: list[tuple[int, str, str | None]] = []
        self.failed: list[tuple[int, str, str | None, int]] = []
        self.received: list[tuple[float, Command]] = []
        self._pending_acks: list[Ack] = []
        self._unconfirmed_acks: list[Ack] = []

        self.unauthorized = False
        self.error: str | None = None
        self.last_error: str | None = None
        self.hook_errors: list[BaseException] = []
        self.requests = 0
        self.responses = 0
        self.errors = 0
        self.consecutive_errors = 0
        self.commands_received = 0
        self.commands_applied = 0
        self.commands_failed = 0
        self.duplicates = 0
        self.malformed = 0
        self.acks_sent = 0
        self.rejected_acks = 0
        self.went_offline = 0
        self.last_response_at: float | None = None

        self._offline = False
        self._stopping = False
        self._running = False
        self._online = asyncio.Event()
        self._online.set()
        self._stop_event = asyncio.Event()
        self._inflight: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return (
            f"<SimulatedClock {self.clock_id} applied={self.applied_sequence} "
            f"last={self.last_sequence} roster={len(self._roster)} state={self.state}>"
        )

    # -- roster ------------------------------------------------------------------------------

    @property
    def roster(self) -> Roster:
        return self._roster

    @roster.setter
    def roster(self, value: Mapping[str, Profile]) -> None:
        self._roster = Roster(value)
        self._digest_cache = None

    def digest(self, *, fresh: bool = False) -> str:
        """The roster digest of docs/device-sync.md (cached until the roster changes)."""
        version = self._roster.version
        if not fresh and self._digest_cache is not None and self._digest_cache[0] == version:
            return self._digest_cache[1]
        value = roster_digest(self._roster.values())
        self._digest_cache = (version, value)
        return value

    def corrupt_roster(self, how: str = "drop", worker_id: str | None = None) -> str:
        """Change the roster behind the server's back, so that its digest no longer matches
        what device-sync believes the clock holds. `how`: "drop" (remove a worker), "rename"
        (edit a display name) or "add" (a worker nobody assigned). With an empty roster "drop"
        and "rename" add instead. Returns the worker_id it touched."""
        if how not in ("drop", "rename", "add"):
            raise ValueError(f"unknown corruption {how!r}: drop, rename or add")
        if how != "add" and not self._roster:
            how = "add"
        if how == "add":
            wid = worker_id or str(uuid.uuid4())
            self._roster[wid] = {
                "worker_id": wid,
                "employee_id": "PHANTOM",
                "display_name": "Phantom Worker",
                "status": "Active",
                "allowed_methods": ["PIN"],
                "pin_set": True,
            }
            return wid
        wid = worker_id if worker_id is not None else self._rng.choice(sorted(self._roster))
        if wid not in self._roster:
            raise KeyError(wid)
        if how == "drop":
            del self._roster[wid]
        else:
            old = self._roster[wid]
            self._roster[wid] = {**old, "display_name": f"{old.get('display_name', '')} (edited)"}
        return wid

    # -- commands ----------------------------------------------------------------------------

    @property
    def pending_acks(self) -> list[Ack]:
        """Acknowledgements not sent yet (they ride on the next sync)."""
        return list(self._pending_acks)

    @property
    def unconfirmed_acks(self) -> list[Ack]:
        """Acknowledgements sent on the sync in flight: the server records them when the request
        arrives, the clock counts them delivered when it is answered. If it is not (error,
        offline, stop), they are sent again: acknowledging twice is harmless."""
        return list(self._unconfirmed_acks)

    @property
    def caught_up(self) -> bool:
        """Whether the last answer left nothing queued beyond what the clock applied."""
        return self.last_sequence is not None and self.applied_sequence >= self.last_sequence

    def apply_commands(
        self, commands: Iterable[Command], received_at: float | None = None
    ) -> list[Ack]:
        """Apply a batch in the order given, skipping sequences already applied (counted in
        `duplicates`, not acknowledged again); queue and return one ack per command applied."""
        now = time.monotonic() if received_at is None else received_at
        acks: list[Ack] = []
        for command in commands:
            self.commands_received += 1
            if self.history:
                self.received.append((now, command))
            sequence = command.get("sequence") if isinstance(command, dict) else None
            if not isinstance(sequence, int) or isinstance(sequence, bool):
                self.malformed += 1
                log.warning("clock %s: command without a sequence: %r", self.clock_id, command)
            elif sequence <= self.applied_sequence:
                self.duplicates += 1
            else:
                code, detail = self._apply_one(command, sequence)
                self.applied_sequence = sequence
                command_id = command.get("command_id")
                if isinstance(command_id, str):
                    ack = {
                        "command_id": command_id,
                        "sequence": sequence,
                        "result_code": code,
                        "detail": detail,
                    }
                    acks.append(ack)
                    self._pending_acks.append(ack)
                else:  # applied, but there is nothing to acknowledge it by
                    self.malformed += 1
                    log.warning("clock %s: command without command_id: %r", self.clock_id, command)
            if self.on_command is not None:
                try:
                    self.on_command(self, command, now)
                except Exception as exc:  # a hook's bug must not stop the clock
                    self.hook_errors.append(exc)
                    log.exception("clock %s: on_command hook failed", self.clock_id)
        return acks

    def _fail_code(self, command: Command) -> int:
        rule = self.fail_codes
        if rule is None:
            return RESULT_OK
        if callable(rule):
            return rule(command) or RESULT_OK
        worker = command.get("worker")
        worker_id = worker.get("worker_id") if isinstance(worker, dict) else None
        for key in (command.get("command_id"), worker_id, command.get("kind")):
            if isinstance(key, str) and key in rule:
                return rule[key]
        return RESULT_OK

    def _apply_one(self, command: Command, sequence: int) -> tuple[int, str]:
        kind = command.get("kind")
        worker = command.get("worker")
        worker_id = worker.get("worker_id") if isinstance(worker, dict) else None
        if not isinstance(worker_id, str):
            worker_id = None
        code, detail = self._fail_code(command), "simulated failure"
        if code == RESULT_OK:
            code, detail = self._mutate(kind, worker, worker_id)
        if code == RESULT_OK:
            self.commands_applied += 1
            if self.history:
                self.applied.append((sequence, str(kind), worker_id))
        else:
            self.commands_failed += 1
            if self.history:
                self.failed.append((sequence, str(kind), worker_id, code))
        return code, detail

    def _mutate(self, kind: Any, worker: Any, worker_id: str | None) -> tuple[int, str]:
        if kind == UPSERT_WORKER:
            if worker_id is None:
                return RESULT_PARAMETER_ERROR, "worker.worker_id missing"
            self._roster[worker_id] = worker
        elif kind == REMOVE_WORKER:
            if worker_id is None:
                return RESULT_PARAMETER_ERROR, "worker.worker_id missing"
            self._roster.pop(worker_id, None)  # removing one that is not there is success
        elif kind == FULL_RESYNC:
            self._roster.clear()
        else:
            return RESULT_UNKNOWN_COMMAND, f"unknown command kind {kind!r}"
        return RESULT_OK, ""

    # -- requests ----------------------------------------------------------------------------

    def build_sync_request(self, wait_s: float | None = None) -> dict[str, Any]:
        """The body of the next `POST /clock/v1/sync`."""
        wait = self.wait_s if wait_s is None else wait_s
        body: dict[str, Any] = {
            "applied_sequence": self.applied_sequence,
            "roster_digest": self.digest(),
            "software_version": self.software_version,
            "acks": self._pending_acks[:MAX_ACKS_PER_REQUEST],
            "wait_s": int(wait) if float(wait).is_integer() else wait,
        }
        if self.limit is not None:
            body["limit"] = self.limit
        return body

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential}"}

    async def _post(self, path: str, body: dict[str, Any], timeout_s: float) -> Any:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        url = f"{self.base_url}{path}"
        async with self.session.post(url, json=body, headers=self._headers, timeout=timeout) as r:
            if 200 <= r.status < 300:
                if r.status == 204:
                    return None
                return await r.json(content_type=None)
            text = await r.text()
        code, message = "", text[:500]
        try:
            payload = json.loads(text)
            if isinstance(payload, dict):
                code = str(payload.get("code", ""))
                message = str(payload.get("message", message))
        except ValueError:
            pass
        error = Unauthorized if r.status == 401 else SyncError
        raise error(r.status, code, message)

    async def sync_once(self, *, wait_s: float | None = None) -> dict[str, Any]:
        """One sync: send the heartbeat and pending acks, apply what comes back, return the
        answer. Raises `Unauthorized`, `SyncError`, or aiohttp's / timeout errors (no retry)."""
        body = self.build_sync_request(wait_s)
        sent = self._unconfirmed_acks = body["acks"]
        del self._pending_acks[: len(sent)]
        self.requests += 1
        try:
            answer = await self._post(
                "/clock/v1/sync", body, body["wait_s"] + self.request_margin_s
            )
            if not isinstance(answer, dict):
                raise SyncError(200, "bad_answer", f"not a JSON object: {answer!r:.200}")
        except SyncError as exc:
            if 400 <= exc.status < 500 and exc.status not in (401, 408, 429):
                # The request was refused as malformed: sending the same acks again would
                # refuse every sync from now on. They are dropped (and counted).
                self.rejected_acks += len(sent)
            else:
                self._pending_acks[:0] = sent
            raise
        except BaseException:
            self._pending_acks[:0] = sent  # not known to be delivered: send them again
            raise
        finally:
            self._unconfirmed_acks = []
        received_at = time.monotonic()
        self.responses += 1
        self.last_response_at = received_at
        self.acks_sent += len(sent)
        if isinstance(answer.get("clock_id"), str):
            self.clock_id = answer["clock_id"]
        if isinstance(answer.get("last_sequence"), int):
            self.last_sequence = answer["last_sequence"]
        self.apply_commands(answer.get("commands") or [], received_at)
        return answer

    async def flush_acks(self, timeout_s: float = 5.0) -> bool:
        """Deliver the pending acks alone (`POST /clock/v1/acks`); False if that failed."""
        if not self._pending_acks:
            return True
        acks = self._pending_acks[:MAX_ACKS_PER_REQUEST]
        try:
            await self._post("/clock/v1/acks", {"acks": acks}, timeout_s)
        except (aiohttp.ClientError, TimeoutError, SyncError) as exc:
            log.info("clock %s: acks not delivered: %r", self.clock_id, exc)
            return False
        del self._pending_acks[: len(acks)]
        self.acks_sent += len(acks)
        return True

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: uniform in [d/2, d], d = base * 2^(attempt-1) ≤ cap."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2 ** max(attempt - 1, 0))
        return self._rng.uniform(ceiling / 2, ceiling)

    async def _sleep(self, delay_s: float) -> None:
        """Sleep, cut short by stop()."""
        if delay_s <= 0 or self._stopping:
            return
        try:
            await asyncio.wait_for(self._stop_event.wait(), delay_s)
        except TimeoutError:
            pass

    async def _poll(self) -> None:
        """One iteration of the loop: a sync, or an error and its backoff."""
        try:
            answer = await self.sync_once()
        except Unauthorized as exc:
            self.unauthorized = True
            self.error = self.last_error = f"unauthorized: {exc}"
            self._stopping = True
            log.warning("clock %s stops: %s", self.clock_id, self.error)
            return
        except (aiohttp.ClientError, TimeoutError, SyncError, ValueError) as exc:
            self.errors += 1
            self.consecutive_errors += 1
            self.last_error = repr(exc)
            delay = self.backoff_delay(self.consecutive_errors)
            log.debug("clock %s: %r; retrying in %.2f s", self.clock_id, exc, delay)
            await self._sleep(delay)
            return
        self.consecutive_errors = 0
        if not answer.get("commands") and self.idle_delay_s:
            await self._sleep(self.idle_delay_s)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def state(self) -> str:
        if self.unauthorized:
            return "unauthorized"
        if self._offline:
            return "offline"
        if self._running and not self._stopping:
            return "running"
        return "stopped" if self._stopping else "idle"

    @property
    def offline(self) -> bool:
        return self._offline

    @offline.setter
    def offline(self, value: bool) -> None:
        """True: stop talking to the server (dropping any in-flight request); False: resume."""
        value = bool(value)
        if value == self._offline:
            return
        self._offline = value
        if value:
            self.went_offline += 1
            self._online.clear()
            self._cancel_inflight()
        else:
            self._online.set()

    def _cancel_inflight(self) -> None:
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()

    async def run(self) -> None:
        """Poll until stop() or a 401. Connection errors, timeouts and 5xx are retried with
        backoff; on stop the pending acks are flushed (best effort)."""
        if self._running:
            raise RuntimeError("this clock is already running")
        self._running = True
        try:
            while not self._stopping:
                if self._offline:
                    await self._online.wait()
                    continue
                self._inflight = asyncio.ensure_future(self._poll())
                try:
                    await self._inflight
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # run() itself is being cancelled
                    # else: offline or stop() dropped the request
                finally:
                    self._inflight = None
            if self.flush_acks_on_stop and not self.unauthorized and not self._offline:
                await self.flush_acks(timeout_s=2.0)
        finally:
            self._running = False

    def start(self, delay_s: float = 0.0) -> asyncio.Task[None]:
        """run() in a task (after delay_s, cut short by stop()); the task is also `self.task`."""

        async def _run() -> None:
            await self._sleep(delay_s)
            await self.run()

        self.task = asyncio.get_running_loop().create_task(_run(), name=f"clock-{self.clock_id}")
        return self.task

    def stop(self) -> None:
        """Ask run() to end: the in-flight long-poll is dropped, pending acks flushed."""
        self._stopping = True
        self._stop_event.set()
        self._online.set()
        self._cancel_inflight()

    async def wait_stopped(self, timeout: float | None = None) -> None:
        """stop() and wait for the task started by start()."""
        self.stop()
        if self.task is not None:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)

    async def wait_until(
        self,
        predicate: Callable[[SimulatedClock], bool],
        timeout: float = 10.0,
        *,
        interval: float = 0.01,
        what: str = "",
    ) -> None:
        """Wait until predicate(self) is true; TimeoutError (with this clock's state) if not."""
        await wait_for_condition(
            lambda: predicate(self), timeout, interval, lambda: f"{what or predicate!r}: {self!r}"
        )

    def stats(self) -> dict[str, Any]:
        return {
            "clock_id": self.clock_id,
            "state": self.state,
            "applied_sequence": self.applied_sequence,
            "last_sequence": self.last_sequence,
            "roster_size": len(self._roster),
            "requests": self.requests,
            "responses": self.responses,
            "errors": self.errors,
            "commands_received": self.commands_received,
            "commands_applied": self.commands_applied,
            "commands_failed": self.commands_failed,
            "duplicates": self.duplicates,
            "acks_sent": self.acks_sent,
            "rejected_acks": self.rejected_acks,
            "pending_acks": len(self._pending_acks),
            "unconfirmed_acks": len(self._unconfirmed_acks),
            "last_error": self.last_error,
        }
