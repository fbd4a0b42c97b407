"""A tablet's credential cannot backdate a punch: an attempt not marked offline must have been
captured within minutes of the edge receiving it; an offline punch captured long before it was
received is recorded but flagged for review (ledger, event, admin API)."""

from __future__ import annotations

from tests.support.punch import ago, known, now, outcome


async def _setup(punch, feed):
    worker = await feed.worker("Backdated")
    clock = await feed.clock()
    await feed.assign(clock, worker["id"])
    await known(
        punch, feed.tenant_id, workers=[worker["id"]], clocks=[clock], pairs=[(clock, worker["id"])]
    )
    return worker, clock


async def test_an_online_punch_cannot_be_backdated(punch, feed):
    worker, clock = await _setup(punch, feed)
    backdated = await outcome(
        punch,
        feed.tenant_id,
        await feed.identified(worker["id"], clock, captured_at=ago(days=6), received_at=now()),
    )
    assert backdated["type"].endswith("PunchRejected")
    assert backdated["payload"]["reason"] == "REJECT_REASON_CAPTURE_TIME_TOO_OLD"
    # A tablet clock a little behind is fine.
    fine = await outcome(
        punch,
        feed.tenant_id,
        await feed.identified(worker["id"], clock, captured_at=ago(minutes=2), received_at=now()),
    )
    assert fine["type"].endswith("PunchRecorded"), fine
    assert "needs_review" not in fine["payload"]
    async with punch.admin(feed.tenant_id) as http:
        listed = (await http.get("/punches", params={"worker_id": worker["id"]})).json()["data"]
    assert [(p["id"], p["needs_review"]) for p in listed] == [(fine["payload"]["punch_id"], False)]


async def test_an_old_offline_punch_is_recorded_and_flagged_for_review(punch, feed):
    worker, clock = await _setup(punch, feed)
    old = await outcome(
        punch,
        feed.tenant_id,
        await feed.identified(worker["id"], clock, captured_at=ago(hours=30), offline=True),
    )
    assert old["type"].endswith("PunchRecorded"), old
    assert old["payload"]["needs_review"] is True and old["payload"]["captured_offline"] is True
    recent = await outcome(
        punch,
        feed.tenant_id,
        await feed.identified(worker["id"], clock, captured_at=ago(hours=3), offline=True),
    )
    assert recent["type"].endswith("PunchRecorded") and "needs_review" not in recent["payload"]
    async with punch.admin(feed.tenant_id) as http:
        listed = (await http.get("/punches", params={"worker_id": worker["id"]})).json()["data"]
    assert [p["needs_review"] for p in listed] == [True, False]
