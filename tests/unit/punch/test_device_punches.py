"""Punches a hardware clock identified (ZK PUSH ATTLOG through device-sync): the verdict's
method (FINGERPRINT, CARD, FACE, PIN) mapped by name, the device's raw VerifyMode and State
kept on the ledger row and in PunchRecorded, its direction as the device said or toggled for
State 255. (The decisions with a device's explicit direction: test_decisions.py.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from punchcard.v1 import common_pb2, identification_pb2, kiosk_pb2, punch_pb2
from punchcard_kit.messaging import Message, catalogue, new_envelope
from punchcard_kit.messaging.consumer import Unprocessable
from punchcard_punch.domain.decisions import Policy
from punchcard_punch.domain.model import Method
from punchcard_punch.service_layer.events import METHODS, method_of, recorded_event
from punchcard_punch.service_layer.ingest import Ingest

from .fakes import Store, assigned_store, decide_verdicts

TENANT = str(uuid.uuid4())
WORKER = str(uuid.uuid4())
CLOCK = str(uuid.uuid4())
IN, OUT = common_pb2.PUNCH_DIRECTION_IN, common_pb2.PUNCH_DIRECTION_OUT
UNSPECIFIED = common_pb2.PUNCH_DIRECTION_UNSPECIFIED


# -- the method, by name ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "method"),
    [
        (common_pb2.PUNCH_METHOD_FACE, Method.FACE),
        (common_pb2.PUNCH_METHOD_PIN, Method.PIN),
        (common_pb2.PUNCH_METHOD_FINGERPRINT, Method.FINGERPRINT),
        (common_pb2.PUNCH_METHOD_CARD, Method.CARD),
        (common_pb2.PUNCH_METHOD_UNSPECIFIED, Method.PIN),  # a kiosk PIN attempt, as ever
        (99, None),  # a newer producer's method: never guessed
    ],
)
def test_a_verdicts_method_maps_by_name(value, method):
    assert method_of(value) == method


def test_every_method_but_manual_has_its_contract_value():
    assert METHODS[Method.FINGERPRINT] == common_pb2.PUNCH_METHOD_FINGERPRINT
    assert METHODS[Method.CARD] == common_pb2.PUNCH_METHOD_CARD
    assert METHODS[Method.MANUAL] == 0
    assert len(set(METHODS.values())) == len(Method)


# -- ingest: the ledger row and the event ---------------------------------------------------


def device_verdict(method, direction, *, verify_mode, state, offline=False) -> Message:
    now = datetime.now(UTC)
    context = kiosk_pb2.PunchAttemptContext(
        attempt_id=str(uuid.uuid4()),
        clock_id=CLOCK,
        requested_direction=direction,
        captured_offline=offline,
        device_verify_mode=verify_mode,
        device_state=state,
    )
    context.captured_at.FromDatetime(now - timedelta(seconds=5))
    context.received_at.FromDatetime(now)
    payload = identification_pb2.WorkerIdentified(context=context, worker_id=WORKER, method=method)
    envelope = new_envelope(payload, tenant_id=TENANT, producer="device-sync")
    return Message(catalogue.IDENTIFICATION_VERDICTS.name, 0, 0, None, envelope)


@pytest.fixture
def store() -> Store:
    return assigned_store(TENANT, WORKER, CLOCK)


async def decide_all(store: Store, *messages: Message) -> None:
    await decide_verdicts(store, TENANT, messages, Ingest(Policy()))


async def test_a_fingerprint_punch_keeps_the_devices_raw_fields(store):
    message = device_verdict(common_pb2.PUNCH_METHOD_FINGERPRINT, OUT, verify_mode=1, state=1)
    await decide_all(store, message)
    (row,) = store.punches
    assert (row["method"], row["direction"], row["direction_inferred"]) == (
        "FINGERPRINT",
        "OUT",
        False,
    )
    assert (row["device_verify_mode"], row["device_state"]) == (1, 1)
    (attempt,) = store.attempts
    event = punch_pb2.PunchRecorded.FromString(attempt["event"])
    assert event.method == common_pb2.PUNCH_METHOD_FINGERPRINT
    assert (event.device_verify_mode, event.device_state) == (1, 1)
    assert event.direction == OUT and not event.direction_inferred


async def test_a_card_punch_with_an_undefined_state_is_toggled(store):
    message = device_verdict(common_pb2.PUNCH_METHOD_CARD, UNSPECIFIED, verify_mode=2, state=255)
    await decide_all(store, message)
    (row,) = store.punches
    assert (row["method"], row["direction"], row["direction_inferred"]) == ("CARD", "IN", True)
    assert (row["device_verify_mode"], row["device_state"]) == (2, 255)


async def test_a_kiosk_punch_has_no_device_fields(store):
    message = device_verdict(common_pb2.PUNCH_METHOD_PIN, IN, verify_mode=0, state=0)
    message.payload.context.ClearField("device_verify_mode")
    message.payload.context.ClearField("device_state")
    await decide_all(store, message)
    (row,) = store.punches
    assert row["device_verify_mode"] is None and row["device_state"] is None
    event = recorded_event(row)
    assert not event.HasField("device_verify_mode") and not event.HasField("device_state")


async def test_a_verdict_with_a_method_this_build_does_not_know_is_unprocessable(store):
    message = device_verdict(common_pb2.PUNCH_METHOD_CARD, IN, verify_mode=7, state=0)
    message.payload.method = 42
    with pytest.raises(Unprocessable):
        await decide_all(store, message)
    assert not store.punches and not store.attempts


async def test_a_device_verdict_delivered_three_times_is_recorded_once(store):
    message = device_verdict(common_pb2.PUNCH_METHOD_FINGERPRINT, IN, verify_mode=1, state=0)
    for _ in range(3):
        await decide_all(store, message)
    assert len(store.punches) == 1 and len(store.attempts) == 1
