"""The PIN verification use case (service_layer.verification) on fakes: it gathers the facts
``decide_pin_attempt`` asks for, does only the I/O the decision calls for (no argon2 check
where none is needed), and answers with one verdict in the consumer's transaction."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from punchcard.v1 import common_pb2, identification_pb2, identity_pb2, kiosk_pb2
from punchcard_identity.domain.model import StoredPin, Worker, WorkerStatus
from punchcard_identity.domain.pin_attempts import PinLimits
from punchcard_identity.service_layer.verification import (
    VERDICTS_TOPIC,
    WORKERS_TOPIC,
    PinVerifier,
    VerifyPinAttempt,
)
from punchcard_kit.messaging import catalogue

from .fakes import FakeCounters, FakeHasher, FakeOpener, FakeUnitOfWork, Pin, Store

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TENANT = "t1"
LIMITS = PinLimits(
    worker_clock_threshold=3,
    worker_total_threshold=5,
    lock_minutes=15,
    clock_failure_limit=6,
    unknown_paced_per_clock=2,
)


class Kiosk:
    """A verifier on fakes, and a way to send it attempts."""

    def __init__(self) -> None:
        self.store = Store()
        self.counters = FakeCounters()
        self.hasher = FakeHasher()
        self.slept: list[float] = []
        self.meanwhile = lambda: None  # what happens elsewhere while the verifier waits

        async def sleep(seconds: float) -> None:
            self.slept.append(seconds)
            self.meanwhile()

        self.verifier = PinVerifier(
            opener=FakeOpener(),
            hasher=self.hasher,
            counters=self.counters,
            limits=LIMITS,
            hash_s=0.05,
            assignment_grace_s=0.03,  # less than a PIN check here: paced as before
            clock=lambda: NOW,
            sleep=sleep,
        )

    def worker(
        self,
        employee_id: str,
        pin: str | None = "8351",
        *,
        status: WorkerStatus = WorkerStatus.ACTIVE,
        clocks: tuple[str, ...] = ("c1", "c2", "c3"),
    ) -> Worker:
        worker = Worker(
            id=str(uuid.uuid4()),
            tenant_id=TENANT,
            employee_id=employee_id,
            name=employee_id,
            job_title="",
            site_id="",
            status=status,
            pin_allowed=True,
            pin_set_at=None,
            pin_locked_until=None,
            created_at=NOW,
            updated_at=NOW,
        )
        self.store.workers[worker.id] = worker
        if pin is not None:
            self.store.pins[worker.id] = Pin(StoredPin(f"h:{pin}", "k1"), NOW)
        for clock in clocks:
            self.store.assignments.add((TENANT, clock, worker.id))
        return worker

    async def punch(
        self,
        employee_id: str,
        pin: str,
        clock_id: str = "c1",
        *,
        attempt_id: str | None = None,
        sealed: bytes | None = None,
    ):
        attempt_id = attempt_id or str(uuid.uuid4())
        context = kiosk_pb2.PunchAttemptContext(
            attempt_id=attempt_id, clock_id=clock_id, claimed_employee_id=employee_id
        )
        attempt = kiosk_pb2.PinPunchAttempted(context=context)
        attempt.sealed_pin.recipient_key_id = "k1"
        attempt.sealed_pin.ciphertext = sealed or f"{attempt_id}:{pin}".encode()
        command = VerifyPinAttempt(TENANT, attempt, correlation_id="corr", causation_id="ev")
        async with FakeUnitOfWork(self.store, TENANT, consumer=True) as uow:
            return await self.verifier.verify(command, uow)

    def verdicts(self):
        return [item for item in self.store.outbox if item[0] == VERDICTS_TOPIC]

    def worker_events(self):
        return [item for item in self.store.outbox if item[0] == WORKERS_TOPIC]


def reason(verdict) -> str:
    if isinstance(verdict, identification_pb2.WorkerIdentified):
        return "IDENTIFIED"
    return common_pb2.RejectReason.Name(verdict.reason).removeprefix("REJECT_REASON_")


@pytest.fixture
def kiosk() -> Kiosk:
    return Kiosk()


async def test_the_right_pin_identifies_the_worker_and_the_verdict_is_keyed_by_it(kiosk):
    ada = kiosk.worker("E1")
    verdict = await kiosk.punch("E1", "8351")
    assert reason(verdict) == "IDENTIFIED" and verdict.worker_id == ada.id
    assert verdict.method == common_pb2.PUNCH_METHOD_PIN
    # identity checked Active and assigned now: punch's lagging copy must not refuse it
    assert verdict.checked_active and verdict.checked_assigned
    [(topic, key, envelope)] = kiosk.verdicts()
    assert key == f"{TENANT}/{ada.id}" == catalogue.verdict_key(TENANT, ada.id, "ignored")
    assert envelope.tenant_id == TENANT and envelope.producer == "identity"
    assert envelope.correlation_id == "corr" and envelope.causation_id == "ev"
    assert kiosk.hasher.checks == 1


async def test_the_employee_id_is_the_workers_in_any_case(kiosk):
    """The kiosk's keypad types capitals: ``JSMITH`` is the worker entered as ``jsmith``."""
    smith = kiosk.worker("jsmith")
    for typed in ("JSMITH", "jSmith", "jsmith"):
        verdict = await kiosk.punch(typed, "8351")
        assert reason(verdict) == "IDENTIFIED" and verdict.worker_id == smith.id


@pytest.mark.parametrize("case", ["unknown id", "not assigned", "sealed for another attempt"])
async def test_unknown_unassigned_or_unopenable_is_unknown_user_without_a_pin_check(kiosk, case):
    kiosk.worker("E1", clocks=("c2",))
    employee_id = "E404" if case == "unknown id" else "E1"
    sealed = b"another-attempt:8351" if case == "sealed for another attempt" else None
    clock = "c1" if case == "not assigned" else "c2"
    verdict = await kiosk.punch(employee_id, "8351", clock, attempt_id="a-1", sealed=sealed)
    assert reason(verdict) == "UNKNOWN_USER" and verdict.worker_id == ""
    assert kiosk.hasher.checks == 0
    # Counted with the clock's unknown IDs, answered after about a PIN check's time.
    assert await kiosk.counters.clock_counts(TENANT, clock) == (1, 0)
    assert kiosk.slept == [0.05]
    [(_, key, _)] = kiosk.verdicts()
    assert key == f"{TENANT}/a-1"


async def test_a_worker_assigned_a_moment_ago_is_looked_up_again_and_identified(kiosk):
    """identity's copy of the assignments is a moment behind the admin's: the worker is not on
    c1 when the attempt comes, and is by the end of the paced wait. The PIN is checked after
    all; the attempt is not left counted as an unknown ID."""
    ada = kiosk.worker("E1", clocks=())
    kiosk.verifier.assignment_grace_s = 0.2
    kiosk.meanwhile = lambda: kiosk.store.assignments.add((TENANT, "c1", ada.id))
    verdict = await kiosk.punch("E1", "8351", "c1")
    assert reason(verdict) == "IDENTIFIED" and verdict.worker_id == ada.id
    assert verdict.checked_assigned
    assert kiosk.slept == [0.2] and kiosk.hasher.checks == 1
    assert await kiosk.counters.clock_counts(TENANT, "c1") == (0, 0)


async def test_unknown_ids_and_unassigned_workers_wait_alike_for_the_assignment_grace(kiosk):
    kiosk.worker("E1", clocks=("c2",))
    kiosk.verifier.assignment_grace_s = 0.2
    assert reason(await kiosk.punch("E404", "8351", "c1")) == "UNKNOWN_USER"
    assert reason(await kiosk.punch("E1", "8351", "c1")) == "UNKNOWN_USER"  # still not on c1
    assert kiosk.slept == [0.2, 0.2] and kiosk.hasher.checks == 0
    assert await kiosk.counters.clock_counts(TENANT, "c1") == (2, 0)


async def test_a_flood_of_unknown_ids_is_paced_up_to_the_clocks_limit_then_answered_at_once(
    kiosk,
):
    for _ in range(4):
        assert reason(await kiosk.punch("nobody", "8351")) == "UNKNOWN_USER"
    assert kiosk.slept == [0.05, 0.05]  # LIMITS.unknown_paced_per_clock


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ({"status": WorkerStatus.INACTIVE}, "INACTIVE"),
        ({"status": WorkerStatus.PENDING}, "INACTIVE"),
        ({"pin": None}, "PIN_NOT_SET"),
    ],
)
async def test_workers_who_cannot_punch_with_a_pin_get_no_pin_check(kiosk, setup, expected):
    worker = kiosk.worker("E1", **setup)
    verdict = await kiosk.punch("E1", "8351")
    assert reason(verdict) == expected and verdict.worker_id == worker.id
    assert kiosk.hasher.checks == 0


async def test_wrong_pins_count_down_then_lock_the_worker_at_that_clock_only(kiosk):
    ada = kiosk.worker("E1")
    first = await kiosk.punch("E1", "0000")
    assert reason(first) == "WRONG_PIN" and first.attempts_remaining == 2
    assert (await kiosk.punch("E1", "0000")).attempts_remaining == 1
    locked = await kiosk.punch("E1", "0000")
    until = NOW + timedelta(minutes=15)
    assert reason(locked) == "LOCKED_OUT" and locked.locked_until.ToDatetime(UTC) == until
    assert kiosk.counters.clock_locks == {(TENANT, ada.id, "c1"): until}
    checks = kiosk.hasher.checks
    # While the lock holds: no PIN checked there, the right one neither, nothing counted.
    assert reason(await kiosk.punch("E1", "8351")) == "LOCKED_OUT"
    assert kiosk.hasher.checks == checks
    # Elsewhere the worker punches as usual (and their counts start again).
    assert reason(await kiosk.punch("E1", "8351", "c2")) == "IDENTIFIED"
    assert kiosk.worker_events() == []  # a lock at a clock is no event


async def test_a_correct_pin_forgets_wrong_ones_and_writes_nothing_when_there_are_none(kiosk):
    ada = kiosk.worker("E1")
    assert reason(await kiosk.punch("E1", "8351")) == "IDENTIFIED"
    assert kiosk.counters.resets == 0  # nothing counted: no Redis write on the common path
    assert reason(await kiosk.punch("E1", "0000")) == "WRONG_PIN"
    assert reason(await kiosk.punch("E1", "8351")) == "IDENTIFIED"
    assert kiosk.counters.resets == 1
    assert (TENANT, "worker", ada.id) not in kiosk.counters.sets
    # Three wrong PINs at c1 would lock there; two, a correct one, two more do not.
    for pin in ("0000", "0000", "8351", "0000", "0000"):
        await kiosk.punch("E1", pin)
    assert kiosk.counters.clock_locks == {}


async def test_a_redelivered_attempt_is_not_counted_twice(kiosk):
    kiosk.worker("E1")
    for _ in range(3):
        verdict = await kiosk.punch("E1", "0000", attempt_id="same")
        assert reason(verdict) == "WRONG_PIN" and verdict.attempts_remaining == 2


async def test_wrong_pins_at_many_clocks_lock_the_worker_everywhere_with_an_event(kiosk):
    ada = kiosk.worker("E1")
    for clock in ("c1", "c1", "c2", "c2"):
        assert reason(await kiosk.punch("E1", "0000", clock)) == "WRONG_PIN"
    locked = await kiosk.punch("E1", "0000", "c3")
    until = NOW + timedelta(minutes=15)
    assert reason(locked) == "LOCKED_OUT" and locked.locked_until.ToDatetime(UTC) == until
    assert kiosk.store.pins[ada.id].locked_until == until
    [(topic, key, envelope)] = kiosk.worker_events()
    assert key == f"{TENANT}/{ada.id}"
    event = identity_pb2.PinLockedOut()
    envelope.payload.Unpack(event)
    assert (event.worker_id, event.failed_attempts, event.clock_id) == (ada.id, 5, "c3")
    # The overall count starts again; every clock refuses until the lock ends.
    assert (TENANT, "worker", ada.id) not in kiosk.counters.sets
    checks = kiosk.hasher.checks
    assert reason(await kiosk.punch("E1", "8351", "c2")) == "LOCKED_OUT"
    assert kiosk.hasher.checks == checks


async def test_no_lock_everywhere_when_the_pin_changed_while_it_was_checked(kiosk):
    ada = kiosk.worker("E1")
    for clock in ("c1", "c1", "c2", "c2"):
        await kiosk.punch("E1", "0000", clock)
    real = kiosk.hasher.verify

    def verify_while_an_admin_sets_a_new_pin(pin, stored):
        kiosk.store.pins[ada.id] = Pin(StoredPin("h:4711", "k1"), NOW)
        return real(pin, stored)

    kiosk.hasher.verify = verify_while_an_admin_sets_a_new_pin
    assert reason(await kiosk.punch("E1", "0000", "c3")) == "LOCKED_OUT"
    assert kiosk.store.pins[ada.id].locked_until is None
    assert kiosk.worker_events() == []


async def test_many_wrong_pins_at_one_clock_stop_pin_checks_there_for_everyone(kiosk):
    for n in range(3):
        kiosk.worker(f"E{n}")
    for n in range(3):
        await kiosk.punch(f"E{n}", "0000")
        await kiosk.punch(f"E{n}", "0001")
    assert await kiosk.counters.clock_counts(TENANT, "c1") == (0, 6)
    kiosk.worker("E9")
    checks = kiosk.hasher.checks
    verdict = await kiosk.punch("E9", "8351")
    assert reason(verdict) == "LOCKED_OUT" and not verdict.HasField("locked_until")
    assert kiosk.hasher.checks == checks
    assert reason(await kiosk.punch("E9", "8351", "c2")) == "IDENTIFIED"


# --- kiosk sign-in (Manager / Administrator at the kiosk app) -------------------------------


async def sign_in(kiosk: Kiosk, employee_id: str, pin: str, clock_id: str = "c1"):
    from punchcard_identity.service_layer.verification import SignInAtKiosk

    attempt_id = str(uuid.uuid4())
    sealed = common_pb2.SealedBox(recipient_key_id="k1", ciphertext=f"{attempt_id}:{pin}".encode())
    command = SignInAtKiosk(TENANT, clock_id, attempt_id, employee_id, sealed)
    async with FakeUnitOfWork(kiosk.store, TENANT) as uow:
        result = await kiosk.verifier.sign_in(command, uow)
        await uow.commit()
    return result


async def test_a_sign_in_answers_the_role_on_that_clock_and_publishes_no_verdict(kiosk):
    ada = kiosk.worker("E1")
    kiosk.store.roles[(TENANT, "c1", ada.id)] = "ADMINISTRATOR"
    result = await sign_in(kiosk, "E1", "8351")
    assert result.signed_in and result.worker.id == ada.id
    assert result.clock_role == "ADMINISTRATOR"
    # On another clock the same worker is a USER (the role is per clock).
    assert (await sign_in(kiosk, "E1", "8351", "c2")).clock_role == "USER"
    assert kiosk.verdicts() == [] and kiosk.hasher.checks == 2


async def test_a_wrong_pin_at_sign_in_is_counted_like_a_punch_and_locks_alike(kiosk):
    kiosk.worker("E1")
    first = await sign_in(kiosk, "E1", "0000")
    assert not first.signed_in and first.reason == "WRONG_PIN"
    assert first.attempts_remaining == LIMITS.worker_clock_threshold - 1
    # A punch after it sees the same count: one counter for both paths.
    wrong = await kiosk.punch("E1", "0000")
    assert reason(wrong) == "WRONG_PIN"
    assert wrong.attempts_remaining == LIMITS.worker_clock_threshold - 2
    locked = await sign_in(kiosk, "E1", "0000")
    assert locked.reason == "LOCKED_OUT" and locked.locked_until is not None
    assert (await sign_in(kiosk, "E1", "8351")).reason == "LOCKED_OUT"


async def test_sign_in_at_a_clock_the_worker_is_not_on_is_unknown_user(kiosk):
    kiosk.worker("E1", clocks=("c2",))
    result = await sign_in(kiosk, "E1", "8351", "c1")
    assert result.reason == "UNKNOWN_USER" and kiosk.hasher.checks == 0


async def test_only_the_clock_itself_may_ask_for_a_sign_in(kiosk):
    from punchcard_identity.service_layer.verification import SignInAtKiosk, sign_in_at_kiosk
    from punchcard_kit.caller import Caller
    from punchcard_kit.errors import Forbidden

    kiosk.worker("E1")
    sealed = common_pb2.SealedBox(recipient_key_id="k1", ciphertext=b"a:8351")
    command = SignInAtKiosk(TENANT, "c1", "a", "E1", sealed)

    def uow(tenant: str) -> FakeUnitOfWork:
        return FakeUnitOfWork(kiosk.store, tenant)

    for caller in (Caller(TENANT, "admin", "sysadmin"), Caller(TENANT, "c2", "clock")):
        with pytest.raises(Forbidden):
            await sign_in_at_kiosk(uow, kiosk.verifier, caller, command)
    result = await sign_in_at_kiosk(uow, kiosk.verifier, Caller(TENANT, "c1", "clock"), command)
    assert result.signed_in and result.clock_role == "USER"


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_verdicts_and_lockouts_are_counted_for_metrics_with_bounded_labels(kiosk):
    kiosk.worker("E1")
    wrong = metric("identity_verdicts_total", kind="pin", outcome="rejected", reason="WRONG_PIN")
    locked = metric("identity_verdicts_total", kind="pin", outcome="rejected", reason="LOCKED_OUT")
    ok = metric("identity_verdicts_total", kind="pin", outcome="identified", reason="")
    at_clock = metric("identity_pin_lockouts_total", scope="clock")
    everywhere = metric("identity_pin_lockouts_total", scope="worker")
    for _ in range(3):
        await kiosk.punch("E1", "0000")
    assert reason(await kiosk.punch("E1", "8351", "c2")) == "IDENTIFIED"
    assert (
        metric("identity_verdicts_total", kind="pin", outcome="rejected", reason="WRONG_PIN")
        == wrong + 2
    )
    assert (
        metric("identity_verdicts_total", kind="pin", outcome="rejected", reason="LOCKED_OUT")
        == locked + 1
    )
    assert metric("identity_verdicts_total", kind="pin", outcome="identified", reason="") == ok + 1
    assert metric("identity_pin_lockouts_total", scope="clock") == at_clock + 1
    assert metric("identity_pin_lockouts_total", scope="worker") == everywhere


class GatedHasher(FakeHasher):
    """Each check waits for ``gate``: shows how many checks run at once, and on which threads."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.inside = 0
        self.most = 0
        self.threads: set[str] = set()

    def verify(self, pin: str, stored: StoredPin | None) -> bool:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.threads.add(threading.current_thread().name)
        self.gate.wait(10)
        with self.lock:
            self.inside -= 1
        return super().verify(pin, stored)


async def test_pin_checks_of_every_lane_share_the_hashing_threads_first_come_first_served(kiosk):
    kiosk.hasher = kiosk.verifier.hasher = GatedHasher()
    kiosk.verifier.hashing = ThreadPoolExecutor(2, thread_name_prefix="pin-check")
    for n in range(4):
        kiosk.worker(f"E{n}")
    # Four attempts at once, as four lanes would hand them over: two are checked, two wait.
    punches = [asyncio.create_task(kiosk.punch(f"E{n}", "8351")) for n in range(4)]
    for _ in range(500):
        if kiosk.hasher.inside == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # time for a third check to start, were the threads not bounded
    assert kiosk.hasher.inside == 2
    kiosk.hasher.gate.set()
    verdicts = await asyncio.gather(*punches)
    assert [reason(v) for v in verdicts] == ["IDENTIFIED"] * 4
    assert kiosk.hasher.most == 2 and kiosk.hasher.checks == 4
    assert all(name.startswith("pin-check") for name in kiosk.hasher.threads)
    kiosk.verifier.hashing.shutdown()
