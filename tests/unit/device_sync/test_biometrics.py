"""Templates from hardware clocks on fakes: an upload is stored sealed and pushed to the
worker's other ZK clocks (expanded only at delivery), templates follow the worker to a new ZK
clock and after every UPSERT_WORKER there, a deactivation forgets them, and the admin's
deletion reaches every ZK clock; who may delete."""

import base64
import json
import uuid

import pytest
import structlog
from punchcard_device_sync.adapters.sealing import AesGcmSealer, SealBroken
from punchcard_device_sync.domain.model import CommandKind, WorkerStatus
from punchcard_device_sync.domain.zk_records import OperRecord
from punchcard_device_sync.service_layer import admin, projection
from punchcard_device_sync.service_layer.biometrics import (
    DeleteBiometrics,
    StoredBiometrics,
    delete_biometrics,
)
from punchcard_kit.errors import Forbidden, NotFound
from punchcard_kit.internal_auth import Caller

from .fakes import FakeUnitOfWork, Store, factory

TENANT = str(uuid.uuid4())
SYSADMIN = Caller(TENANT, "u1", "sysadmin")
MANAGER = Caller(TENANT, "u2", "manager", sites=("north",))
VIEWER = Caller(TENANT, "u3", "viewer")
TMP = base64.b64encode(b"\x02ridge-ending-bifurcation\xfe" * 6).decode()
TMP2 = base64.b64encode(b"another finger" * 5).decode()
KEY = bytes(range(32))


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def bio() -> StoredBiometrics:
    return StoredBiometrics(AesGcmSealer(KEY))


def fp(badge: str, fid: int = 6, tmp: str = TMP, line: int = 1) -> OperRecord:
    fields = {"PIN": badge, "FID": str(fid), "Size": str(len(tmp)), "Valid": "1", "TMP": tmp}
    return OperRecord("FP", fields, line)


def kinds(store: Store, clock_id: str) -> list[CommandKind]:
    return [c.kind for c in store.commands_of(clock_id)]


def queued_body(store: Store, clock_id: str, kind: CommandKind) -> dict:
    [q] = [q for q in store.queue if q.clock_id == clock_id and q.command.kind is kind]
    return json.loads(q.command.body(q.command_id, q.sequence))


async def assign(store, pairs, caller=SYSADMIN):
    cmd = admin.ChangeAssignments(caller, assign=list(pairs))
    return await admin.change_assignments(cmd, factory(store))


async def upload(store, bio, clock_id, records):
    uow = FakeUnitOfWork(store, TENANT)
    async with uow:
        await bio.uploaded(uow, clock_id, records)
        await uow.commit()


async def lines(store, bio, clock_id, kind):
    return await bio.command_lines(
        FakeUnitOfWork(store, TENANT), kind, queued_body(store, clock_id, kind)
    )


async def test_an_upload_is_stored_sealed_and_pushed_to_the_other_zk_clocks(store, bio):
    a, b = store.add_clock(protocol="ZK_PUSH"), store.add_clock(protocol="ZK_PUSH")
    kiosk = store.add_clock()
    worker = store.add_worker(employee_id="1001")
    await assign(store, [(a, worker.id), (b, worker.id), (kiosk, worker.id)])
    store.queue.clear()

    await upload(store, bio, a, [fp("1001"), OperRecord("USER", {"PIN": "1001"}, 2)])

    [(template, sealed, source_clock)] = store.templates.values()
    assert template.data == "" and source_clock == a
    assert TMP.encode() not in sealed and sealed != TMP.encode()
    # Only the other ZK clock gets the push; its body names the worker, never the template.
    assert kinds(store, b) == [CommandKind.UPSERT_TEMPLATES]
    assert kinds(store, a) == [] and kinds(store, kiosk) == []
    body = queued_body(store, b, CommandKind.UPSERT_TEMPLATES)
    assert body["worker"] == {"worker_id": worker.id, "employee_id": "1001"}
    assert TMP not in json.dumps(body)
    # Expanded at delivery, from what is stored then.
    assert await lines(store, bio, b, CommandKind.UPSERT_TEMPLATES) == [
        f"DATA UPDATE FINGERTMP PIN=1001\tFID=6\tSize={len(TMP)}\tValid=1\tTMP={TMP}"
    ]


async def test_a_new_template_in_a_slot_replaces_the_old_one(store, bio):
    a = store.add_clock(protocol="ZK_PUSH")
    worker = store.add_worker(employee_id="77")
    await upload(store, bio, a, [fp("77", 1), fp("77", 2)])
    await upload(store, bio, a, [fp("77", 1, TMP2)])
    assert len(store.templates) == 2
    uow = FakeUnitOfWork(store, TENANT)
    got = await bio.command_lines(
        uow, CommandKind.UPSERT_TEMPLATES, {"worker_id": worker.id, "employee_id": "77"}
    )
    assert [line.rsplit("TMP=", 1)[1] for line in got] == [TMP2, TMP]


async def test_unknown_badges_and_refused_records_are_skipped_without_the_template(store, bio):
    a, b = store.add_clock(protocol="ZK_PUSH"), store.add_clock(protocol="ZK_PUSH")
    store.add_worker(employee_id="1001")
    bad = OperRecord("FP", {"PIN": "1001", "FID": "6", "TMP": "%%%"}, 4)
    with structlog.testing.capture_logs() as logs:
        await upload(store, bio, a, [fp("9999", line=3), bad])
    assert store.templates == {} and store.queue == []
    assert any(e.get("lines") == [3] for e in logs)
    assert any(e.get("line") == 4 and e.get("reason") == "TMP is not base64" for e in logs)
    assert TMP not in repr(logs)
    assert b  # (a second clock that got nothing)


async def test_a_templates_badge_in_other_capitals_is_the_workers(store, bio):
    a = store.add_clock(protocol="ZK_PUSH")
    store.add_worker(employee_id="ab9")
    await upload(store, bio, a, [fp("AB9")])
    assert len(store.templates) == 1


async def test_an_inactive_workers_badge_is_not_theirs_any_more(store, bio):
    a = store.add_clock(protocol="ZK_PUSH")
    store.add_worker(employee_id="5", status=WorkerStatus.INACTIVE)
    await upload(store, bio, a, [fp("5")])
    assert store.templates == {}


async def test_templates_follow_the_worker_to_a_new_zk_clock_after_the_user(store, bio):
    a, b = store.add_clock(protocol="ZK_PUSH"), store.add_clock(protocol="ZK_PUSH")
    kiosk = store.add_clock()
    worker = store.add_worker(employee_id="1001")
    await assign(store, [(a, worker.id)])
    await upload(store, bio, a, [fp("1001")])
    await assign(store, [(b, worker.id), (kiosk, worker.id)])
    assert kinds(store, b) == [CommandKind.UPSERT_WORKER, CommandKind.UPSERT_TEMPLATES]
    assert kinds(store, kiosk) == [CommandKind.UPSERT_WORKER]


async def test_a_profile_change_keeps_a_pending_push_after_the_user(store, bio):
    """UPSERT_WORKER replaces the pending push; the push is queued again after it."""
    a, b = store.add_clock(protocol="ZK_PUSH"), store.add_clock(protocol="ZK_PUSH")
    worker = store.add_worker(employee_id="1001")
    await assign(store, [(a, worker.id), (b, worker.id)])
    await upload(store, bio, a, [fp("1001")])
    event = projection.UpdateWorker(
        worker_id=worker.id, event_type="WorkerUpdated", employee_id="1002",
        display_name="Ana P.", site_id="",
    )  # fmt: skip
    await projection.change_worker(event, FakeUnitOfWork(store, TENANT))
    assert kinds(store, b) == [CommandKind.UPSERT_WORKER, CommandKind.UPSERT_TEMPLATES]
    assert queued_body(store, b, CommandKind.UPSERT_TEMPLATES)["worker"]["employee_id"] == "1002"
    # Clock A (where the worker enrolled) gets them too, after its UPSERT_WORKER.
    assert kinds(store, a) == [CommandKind.UPSERT_WORKER, CommandKind.UPSERT_TEMPLATES]


async def test_a_deactivated_workers_templates_are_forgotten(store, bio):
    a, b = store.add_clock(protocol="ZK_PUSH"), store.add_clock(protocol="ZK_PUSH")
    worker = store.add_worker(employee_id="1001")
    await assign(store, [(a, worker.id), (b, worker.id)])
    await upload(store, bio, a, [fp("1001")])
    event = projection.ChangeWorkerStatus(
        worker_id=worker.id, event_type="WorkerStatusChanged", status=WorkerStatus.INACTIVE
    )
    await projection.change_worker(event, FakeUnitOfWork(store, TENANT))
    assert store.templates == {}
    # REMOVE_WORKER (the device deletes the user with their templates) replaced the push.
    assert kinds(store, b) == [CommandKind.REMOVE_WORKER]
    assert kinds(store, a) == [CommandKind.REMOVE_WORKER]


async def test_the_admins_deletion_reaches_every_zk_clock(store, bio):
    a, b = store.add_clock(protocol="ZK_PUSH"), store.add_clock(protocol="ZK_PUSH")
    kiosk = store.add_clock()
    worker = store.add_worker(employee_id="1001")
    await assign(store, [(a, worker.id), (b, worker.id), (kiosk, worker.id)])
    await upload(store, bio, a, [fp("1001")])
    deleted = await delete_biometrics(DeleteBiometrics(SYSADMIN, worker.id), factory(store))
    assert (deleted.templates_deleted, deleted.clocks) == (1, 2)
    assert store.templates == {}
    # The deletion replaced the pending push on B; the kiosk app never gets template kinds.
    assert kinds(store, b) == [CommandKind.UPSERT_WORKER, CommandKind.DELETE_TEMPLATES]
    assert kinds(store, kiosk) == [CommandKind.UPSERT_WORKER]
    assert await lines(store, bio, b, CommandKind.DELETE_TEMPLATES) == [
        "DATA DELETE FINGERTMP PIN=1001"
    ]


async def test_who_may_delete_biometric_data(store):
    north = store.add_worker(site_id="north")
    south = store.add_worker(site_id="south")
    with pytest.raises(Forbidden):
        await delete_biometrics(DeleteBiometrics(VIEWER, north.id), factory(store))
    with pytest.raises(NotFound):
        await delete_biometrics(DeleteBiometrics(MANAGER, south.id), factory(store))
    with pytest.raises(NotFound):
        await delete_biometrics(DeleteBiometrics(SYSADMIN, str(uuid.uuid4())), factory(store))
    assert store.commits == 0
    done = await delete_biometrics(DeleteBiometrics(MANAGER, north.id), factory(store))
    assert done.templates_deleted == 0 and store.commits == 1


def test_a_sealed_template_opens_only_for_its_owner():
    sealer = AesGcmSealer(KEY)
    sealed = sealer.seal(b"template", b"tenant/worker-a/FINGERPRINT/6/0")
    assert sealer.open(sealed, b"tenant/worker-a/FINGERPRINT/6/0") == b"template"
    with pytest.raises(SealBroken):
        sealer.open(sealed, b"tenant/worker-b/FINGERPRINT/6/0")
    with pytest.raises(SealBroken):
        AesGcmSealer(bytes(32)).open(sealed, b"tenant/worker-a/FINGERPRINT/6/0")
    assert sealer.seal(b"template", b"x") != sealer.seal(b"template", b"x")  # fresh nonces
