"""Verdicts → ledger through the real punch process, Kafka and PostgreSQL: the decision rules
(active, assigned, IN/OUT, double tap, capture times), rejections passed on, exactly one
punch per attempt, offline punches in order."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
from punchcard.v1.envelope_pb2 import DeadLetter

from tests.support.messaging import read_topic, wait_for
from tests.support.punch import Feed, ago, known, now, outcome
from tests.support.stack import KAFKA


async def setup(punch, feed: Feed, *, name="Ana Pérez", status="Active", assigned=True):
    worker = await feed.worker(name, status=status)
    clock = await feed.clock()
    pairs = [(clock, worker["id"])] if assigned else []
    if assigned:
        await feed.assign(clock, worker["id"])
    await known(punch, feed.tenant_id, workers=[worker["id"]], clocks=[clock], pairs=pairs)
    return worker, clock


async def ledger_rows(punch, tenant_id: str) -> list:
    conn = await asyncpg.connect(punch.admin_url)
    try:
        return await conn.fetch(
            "SELECT * FROM punches WHERE tenant_id = $1 ORDER BY punched_at", tenant_id
        )
    finally:
        await conn.close()


async def test_identified_worker_gets_a_punch_with_name_and_toggled_direction(punch, feed):
    worker, clock = await setup(punch, feed)
    first = await outcome(
        punch, feed.tenant_id, await feed.identified(worker["id"], clock, captured_at=ago(hours=2))
    )
    assert first["type"] == "punchcard.v1.PunchRecorded"
    recorded = first["payload"]
    assert recorded["worker_display_name"] == "Ana Pérez"
    assert recorded["employee_id"] == worker["employee_id"]
    assert recorded["direction"] == "PUNCH_DIRECTION_IN"
    assert recorded["direction_inferred"] is True
    assert recorded["site_id"] == "site-1"
    second = await outcome(
        punch, feed.tenant_id, await feed.identified(worker["id"], clock, captured_at=ago(hours=1))
    )
    assert second["payload"]["direction"] == "PUNCH_DIRECTION_OUT"
    rows = await ledger_rows(punch, feed.tenant_id)
    assert [r["direction"] for r in rows] == ["IN", "OUT"]
    assert all(r["method"] == "PIN" and r["kind"] == "RECORDED" for r in rows)


async def test_face_punch_keeps_score_and_margin(punch, feed):
    worker, clock = await setup(punch, feed)
    answer = await outcome(
        punch, feed.tenant_id, await feed.identified(worker["id"], clock, method="FACE")
    )
    assert answer["payload"]["method"] == "PUNCH_METHOD_FACE"
    (row,) = await ledger_rows(punch, feed.tenant_id)
    assert row["method"] == "FACE"
    assert abs(row["face_distance"] - 0.31) < 1e-6 and abs(row["face_margin"] - 0.22) < 1e-6


async def test_double_tap_is_answered_with_the_earlier_punch(punch, feed):
    worker, clock = await setup(punch, feed)
    first = await outcome(
        punch,
        feed.tenant_id,
        await feed.identified(worker["id"], clock, captured_at=ago(seconds=40)),
    )
    again = await outcome(punch, feed.tenant_id, await feed.identified(worker["id"], clock))
    assert again["type"] == "punchcard.v1.PunchRepeated"
    assert again["payload"]["earlier"]["punch_id"] == first["payload"]["punch_id"]
    assert len(await ledger_rows(punch, feed.tenant_id)) == 1


async def test_not_assigned_and_inactive_are_refused_and_record_nothing(punch, feed):
    worker, clock = await setup(punch, feed, assigned=False)
    answer = await outcome(punch, feed.tenant_id, await feed.identified(worker["id"], clock))
    assert answer["type"] == "punchcard.v1.PunchRejected"
    assert answer["payload"]["reason"] == "REJECT_REASON_NOT_ASSIGNED_TO_CLOCK"

    inactive, clock2 = await setup(punch, feed, status="Inactive")
    answer = await outcome(punch, feed.tenant_id, await feed.identified(inactive["id"], clock2))
    assert answer["payload"]["reason"] == "REJECT_REASON_INACTIVE"
    assert await ledger_rows(punch, feed.tenant_id) == []


async def test_identitys_check_is_not_refused_while_punchs_copy_lags_behind(punch, feed):
    """Activated and assigned a moment before the first PIN punch: identity checked both, and
    punch's copy (Pending, no assignment yet) does not turn the punch into "Unknown User"."""
    worker, clock = await setup(punch, feed, status="Pending", assigned=False)
    answer = await outcome(
        punch, feed.tenant_id, await feed.identified(worker["id"], clock, checked=True)
    )
    assert answer["type"] == "punchcard.v1.PunchRecorded"
    (row,) = await ledger_rows(punch, feed.tenant_id)
    assert (row["worker_id"], row["clock_id"]) == (uuid.UUID(worker["id"]), uuid.UUID(clock))


async def test_unassigned_worker_is_refused_after_the_tombstone(punch, feed):
    worker, clock = await setup(punch, feed)
    await outcome(punch, feed.tenant_id, await feed.identified(worker["id"], clock))
    await feed.unassign(clock, worker["id"])
    conn = await asyncpg.connect(punch.admin_url)
    try:

        async def gone():
            return not await conn.fetchval(
                "SELECT count(*) FROM assignments WHERE tenant_id = $1", feed.tenant_id
            )

        await wait_for(gone, timeout=30, what="assignment removed")
    finally:
        await conn.close()
    answer = await outcome(
        punch, feed.tenant_id, await feed.identified(worker["id"], clock, direction="OUT")
    )
    assert answer["payload"]["reason"] == "REJECT_REASON_NOT_ASSIGNED_TO_CLOCK"


async def test_rejected_verdicts_are_passed_on_with_tries_left(punch, feed):
    worker, clock = await setup(punch, feed)
    answer = await outcome(
        punch,
        feed.tenant_id,
        await feed.rejected(clock, "WRONG_PIN", worker_id=worker["id"], remaining=2),
    )
    assert answer["type"] == "punchcard.v1.PunchRejected"
    assert answer["payload"]["reason"] == "REJECT_REASON_WRONG_PIN"
    assert answer["payload"]["attempts_remaining"] == 2
    unknown = await outcome(punch, feed.tenant_id, await feed.rejected(clock, "UNKNOWN_USER"))
    assert unknown["payload"]["reason"] == "REJECT_REASON_UNKNOWN_USER"
    assert await ledger_rows(punch, feed.tenant_id) == []


async def test_the_same_attempt_three_times_makes_one_punch(punch, feed):
    worker, clock = await setup(punch, feed)
    context = feed.context(clock)
    for _ in range(3):
        await feed.identified(worker["id"], clock, attempt_id=context.attempt_id)
    await outcome(punch, feed.tenant_id, context.attempt_id)
    # A later attempt proves the three were all consumed before we count.
    await outcome(
        punch, feed.tenant_id, await feed.identified(worker["id"], clock, captured_at=ago(hours=3))
    )
    rows = await ledger_rows(punch, feed.tenant_id)
    assert sum(1 for r in rows if str(r["attempt_id"]) == context.attempt_id) == 1
    assert len(rows) == 2


async def test_offline_punches_sent_out_of_order_sort_by_capture_time(punch, feed):
    worker, clock = await setup(punch, feed)
    base = now().replace(microsecond=0)
    times = [base - timedelta(hours=h) for h in (30, 26, 22, 20)]
    order = [2, 0, 3, 1]  # sent in this order
    directions = ["IN", "OUT", "IN", "OUT"]
    for i in order:
        attempt = await feed.identified(
            worker["id"], clock, captured_at=times[i], offline=True, direction=directions[i]
        )
        await outcome(punch, feed.tenant_id, attempt)
    async with punch.admin(feed.tenant_id) as http:
        listed = (await http.get("/punches", params={"worker_id": worker["id"]})).json()["data"]
    assert [p["direction"] for p in listed] == directions
    assert [p["punched_at"] for p in listed] == sorted(p["punched_at"] for p in listed)
    assert all(p["captured_offline"] for p in listed)


async def test_capture_times_in_the_future_or_too_old_are_refused(punch, feed):
    worker, clock = await setup(punch, feed)
    future = await outcome(
        punch,
        feed.tenant_id,
        await feed.identified(worker["id"], clock, captured_at=now() + timedelta(minutes=10)),
    )
    assert future["payload"]["reason"] == "REJECT_REASON_CAPTURE_TIME_IN_FUTURE"
    old = await outcome(
        punch,
        feed.tenant_id,
        await feed.identified(worker["id"], clock, captured_at=ago(days=8), offline=True),
    )
    assert old["payload"]["reason"] == "REJECT_REASON_CAPTURE_TIME_TOO_OLD"
    assert await ledger_rows(punch, feed.tenant_id) == []


async def test_a_verdict_before_the_worker_is_known_waits_for_the_projection(punch, feed):
    clock = await feed.clock()
    await known(punch, feed.tenant_id, clocks=[clock])
    worker_id = str(uuid.uuid4())
    attempt = await feed.identified(worker_id, clock)  # identity's event not yet seen
    # The assignment is held first (another topic: were the worker known before it, the verdict
    # would be decided at once and refused NOT_ASSIGNED_TO_CLOCK).
    await feed.assign(clock, worker_id)
    await known(punch, feed.tenant_id, pairs=[(clock, worker_id)])
    await feed.worker("Late Lee", worker_id=worker_id)
    answer = await outcome(punch, feed.tenant_id, attempt)
    # Decided once the worker was known.
    assert answer["type"] == "punchcard.v1.PunchRecorded"
    assert answer["payload"]["worker_display_name"] == "Late Lee"


async def test_a_malformed_verdict_is_dead_lettered_at_once_and_the_next_is_decided(punch, feed):
    worker, clock = await setup(punch, feed)
    await feed.identified(worker["id"], "door-7")  # not a clock id: can never be decided
    answer = await outcome(punch, feed.tenant_id, await feed.identified(worker["id"], clock))
    assert answer["type"] == "punchcard.v1.PunchRecorded"
    group = "punch" + punch.env["CONSUMER_GROUP_SUFFIX"]

    async def dead_lettered():
        letters = [DeadLetter.FromString(r.value) for r in await read_topic(KAFKA, f"{group}.dlq")]
        return [d for d in letters if b"door-7" in d.value]

    [letter] = await wait_for(dead_lettered, timeout=30, what="the malformed verdict in the DLQ")
    assert letter.attempts == 1 and letter.error_type == "Unprocessable"
    assert "malformed" in letter.error_message
