"""A hardware clock's punch through the real punch process: a verdict shaped as device-sync
publishes it for a ZK PUSH ATTLOG line (method FINGERPRINT, the device's raw VerifyMode and
State, its explicit direction, ``captured_offline`` when the line reached the server more than
60 s after its device time) is recorded with the device's fields on the ledger row, in the
event and in the admin API; the same verdict delivered three times (the device resent its
batch) is recorded once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from punchcard.v1 import common_pb2, identification_pb2, kiosk_pb2
from punchcard_kit.messaging import catalogue, encode_envelope, new_envelope

from tests.support.punch import VERDICTS, Feed, known, now, outcome

# Any fixed namespace: the attempt id only has to be the same for the same ATTLOG line.
NAMESPACE = uuid.UUID("6d1f0c8e-5a3b-4c2d-9e7f-1b2a3c4d5e6f")


async def device_verdict(
    feed: Feed, worker: dict, clock: str, zone: str, *, device_time: datetime, state: int
) -> str:
    """Publish a WorkerIdentified as device-sync does for ``<badge>\\t<local time>\\t<state>\\t1``
    (VerifyMode 1: fingerprint), delivered three times: one envelope twice (Kafka's
    redelivery) and a second envelope for the same line (the device resent its batch after a
    lost ``OK``). Returns the attempt id."""
    received_at = now()
    local = device_time.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    badge = worker["employee_id"]
    attempt_id = str(uuid.uuid5(NAMESPACE, f"{clock}/{badge}/{local.isoformat()}/{state}"))
    context = kiosk_pb2.PunchAttemptContext(
        attempt_id=attempt_id,
        clock_id=clock,
        captured_offline=received_at - device_time > timedelta(seconds=60),
        requested_direction=(
            common_pb2.PUNCH_DIRECTION_IN if state in (0, 3, 4) else common_pb2.PUNCH_DIRECTION_OUT
        ),
        device_verify_mode=1,
        device_state=state,
    )
    context.captured_at.FromDatetime(device_time)
    context.received_at.FromDatetime(received_at)
    verdict = identification_pb2.WorkerIdentified(
        context=context, worker_id=worker["id"], method=common_pb2.PUNCH_METHOD_FINGERPRINT
    )
    first = new_envelope(verdict, tenant_id=feed.tenant_id, producer="device-sync")
    resent = new_envelope(verdict, tenant_id=feed.tenant_id, producer="device-sync")
    key = catalogue.verdict_key(feed.tenant_id, worker["id"], attempt_id).encode()
    for envelope in (first, first, resent):
        await (await feed.producer.send(VERDICTS, encode_envelope(envelope), key=key))
    return attempt_id


async def test_a_fingerprint_punch_from_a_hardware_clock_is_recorded_once(punch, feed):
    zone = "Europe/Madrid"
    worker = await feed.worker("Iker Zubizarreta")
    clock = await feed.clock(time_zone=zone)
    await feed.assign(clock, worker["id"])
    await known(
        punch, feed.tenant_id, workers=[worker["id"]], clocks=[clock], pairs=[(clock, worker["id"])]
    )
    device_time = (now() - timedelta(minutes=10)).replace(microsecond=0)  # uploaded late
    attempt_id = await device_verdict(feed, worker, clock, zone, device_time=device_time, state=1)
    answer = await outcome(punch, feed.tenant_id, attempt_id)
    assert answer["type"] == "punchcard.v1.PunchRecorded"
    recorded = answer["payload"]
    assert recorded["method"] == "PUNCH_METHOD_FINGERPRINT"
    assert recorded["direction"] == "PUNCH_DIRECTION_OUT"  # State 1, not the toggle's IN
    assert not recorded.get("direction_inferred")
    assert (recorded["device_verify_mode"], recorded["device_state"]) == (1, 1)
    assert recorded["captured_offline"] is True

    # A later verdict of the same worker (its partition, after the three deliveries): once it
    # is decided, every delivery before it has been consumed, and the ledger is as it stays.
    # (The verdicts' loop keeps no record of event ids: punch knows a verdict by its attempt.)
    barrier = await feed.rejected(clock, "WRONG_PIN", worker_id=worker["id"], remaining=4)
    await outcome(punch, feed.tenant_id, barrier)
    conn = await asyncpg.connect(punch.admin_url)
    try:
        rows = await conn.fetch("SELECT * FROM punches WHERE tenant_id = $1", feed.tenant_id)
        attempts = await conn.fetchval(
            "SELECT count(*) FROM attempts WHERE tenant_id = $1 AND attempt_id = $2",
            feed.tenant_id,
            attempt_id,
        )
    finally:
        await conn.close()
    (row,) = rows
    assert attempts == 1
    assert (row["method"], row["direction"], row["direction_inferred"]) == (
        "FINGERPRINT",
        "OUT",
        False,
    )
    assert (row["device_verify_mode"], row["device_state"]) == (1, 1)
    assert row["punched_at"] == device_time.astimezone(UTC) and row["captured_offline"]

    async with punch.admin(feed.tenant_id) as http:
        listing = (await http.get("/punches", params={"worker_id": worker["id"]})).json()
        (listed,) = listing["data"]
        assert listed["method"] == "FINGERPRINT"
        assert (listed["device_verify_mode"], listed["device_state"]) == (1, 1)
        assert listed["attempt_id"] == attempt_id
        report = await http.get(
            "/reports/suspicious-pin-punches",
            params={"from": device_time.date().isoformat(), "to": device_time.date().isoformat()},
        )
        assert report.status_code == 200
        assert all(p["punch_id"] != listed["id"] for p in report.json()["data"])
