"""The ledger as admins read and correct it (punch's internal API, behind the gateway):
listing and paging, corrections as new entries with reason and admin id, append-only
enforcement in PostgreSQL, timesheets and the suspicious-PIN report, tenant isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.support.databases import role_of
from tests.support.punch import Feed, known, outcome
from tests.support.services import admin_headers


async def day_of_punches(punch, feed: Feed, *, site_id="site-1", zone="Europe/Madrid"):
    """A worker with IN 08:00 / OUT 16:30 local on 2026-11-16 and IN on 2026-11-17 (no OUT)."""
    worker = await feed.worker("Bo Lindqvist", site_id=site_id)
    clock = await feed.clock(site_id=site_id, time_zone=zone)
    await feed.assign(clock, worker["id"])
    await known(
        punch, feed.tenant_id, workers=[worker["id"]], clocks=[clock], pairs=[(clock, worker["id"])]
    )
    ids = []
    for local, direction in (
        (datetime(2026, 11, 16, 8, 0), "IN"),
        (datetime(2026, 11, 16, 16, 30), "OUT"),
        (datetime(2026, 11, 17, 8, 0), "IN"),
    ):
        from zoneinfo import ZoneInfo

        at = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        attempt = await feed.identified(
            worker["id"], clock, captured_at=at, received_at=at, direction=direction
        )
        ids.append((await outcome(punch, feed.tenant_id, attempt))["payload"]["punch_id"])
    return worker, clock, ids


async def test_listing_filters_and_pages(punch, feed):
    worker, clock, ids = await day_of_punches(punch, feed)
    async with punch.admin(feed.tenant_id) as http:
        page = (await http.get("/punches", params={"worker_id": worker["id"], "limit": 2})).json()
        assert [p["id"] for p in page["data"]] == ids[:2]
        assert page["data"][0]["local_time"].startswith("2026-11-16T08:00:00+01:00")
        rest = (
            await http.get(
                "/punches",
                params={"worker_id": worker["id"], "limit": 2, "cursor": page["next_cursor"]},
            )
        ).json()
        assert [p["id"] for p in rest["data"]] == ids[2:] and rest["next_cursor"] is None
        by_clock = (await http.get("/punches", params={"clock_id": clock})).json()["data"]
        assert len(by_clock) == 3
        in_range = (
            await http.get(
                "/punches",
                params={"from": "2026-11-17T00:00:00+01:00", "to": "2026-11-18T00:00:00+01:00"},
            )
        ).json()["data"]
        assert [p["id"] for p in in_range] == ids[2:]
        other_site = (await http.get("/punches", params={"site_id": "elsewhere"})).json()
        assert other_site["data"] == []
        bad = await http.get("/punches", params={"from": "yesterday"})
        assert bad.status_code == 422 and bad.json()["field"]


async def test_a_missed_punch_of_a_worker_registered_a_moment_ago_is_added(punch, feed):
    # The worker's event is on its way to punch (nothing waits for it here): the correction
    # waits for it (PROJECTION_WAIT_S) instead of answering 404 WORKER_NOT_FOUND.
    worker = await feed.worker("Fresh Hire")
    body = {
        "worker_id": worker["id"],
        "direction": "IN",
        "punched_at": "2026-11-16T08:00:00+01:00",
        "time_zone": "Europe/Madrid",
        "reason": "first day, no badge yet",
    }
    async with punch.admin(feed.tenant_id) as http:
        added = await http.post("/punches", json=body)
        assert added.status_code == 201, added.text
        ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        future = await http.post("/punches", json={**body, "punched_at": ahead})
        assert future.status_code == 422, future.text
        assert (future.json()["code"], future.json()["field"]) == (
            "PUNCHED_AT_IN_FUTURE",
            "punched_at",
        )
        listed = (await http.get("/punches", params={"worker_id": worker["id"]})).json()["data"]
        assert [p["id"] for p in listed] == [added.json()["id"]]


async def test_a_sites_timesheet_holds_the_hours_worked_there(punch, feed):
    # Monday at north, Tuesday at south: each day on its site's report, not both on each.
    worker = await feed.worker("Two Sites", site_id="north")
    # (day, hour, direction, site); Wednesday: in at north, moved to south without a punch.
    punches = [
        ("2026-11-16", "08:00", "IN", "north"),
        ("2026-11-16", "16:00", "OUT", "north"),
        ("2026-11-17", "08:00", "IN", "south"),
        ("2026-11-17", "16:00", "OUT", "south"),
        ("2026-11-18", "08:00", "IN", "north"),
        ("2026-11-18", "16:00", "OUT", "south"),
    ]
    async with punch.admin(feed.tenant_id) as http:
        for day, hour, direction, site in punches:
            added = await http.post(
                "/punches",
                json={
                    "worker_id": worker["id"],
                    "direction": direction,
                    "punched_at": f"{day}T{hour}:00+00:00",
                    "site_id": site,
                    "time_zone": "UTC",
                    "reason": "paper timesheet",
                },
            )
            assert added.status_code == 201, added.text
        range_ = {"from": "2026-11-16", "to": "2026-11-18"}
        for site, days in (("north", ["2026-11-16", "2026-11-18"]), ("south", ["2026-11-17"])):
            sheet = (await http.get("/timesheets", params={**range_, "site_id": site})).json()
            (mine,) = [s for s in sheet["data"] if s["worker_id"] == worker["id"]]
            assert [d["date"] for d in mine["days"]] == days, site
            assert mine["total_hours"] == 8.0 * len(days) and mine["flagged_shifts"] == 0, site
    # North's manager: the shifts begun at north, Wednesday's whole (before: its OUT at south
    # was left out, and the shift was a MISSING_OUT of 0 h).
    async with punch.admin(feed.tenant_id, role="manager", sites=("north",)) as manager:
        sheet = (await manager.get("/timesheets", params=range_)).json()
        (mine,) = [s for s in sheet["data"] if s["worker_id"] == worker["id"]]
        assert [d["date"] for d in mine["days"]] == ["2026-11-16", "2026-11-18"]
        assert mine["total_hours"] == 16.0 and mine["flagged_shifts"] == 0


async def test_a_late_offline_upload_puts_the_guessed_direction_after_it_right(punch, feed):
    # A kiosk with no IN/OUT buttons: 17:00 online is guessed IN (nothing before it then); the
    # 08:00 from an offline tablet arrives later, also IN. The ledger keeps what the kiosk said;
    # the timesheet guesses again with both: one 9-h shift, not two flagged INs.
    worker = await feed.worker("Toggle Mode")
    clock = await feed.clock(time_zone="UTC")
    await feed.assign(clock, worker["id"])
    await known(punch, feed.tenant_id, workers=[worker["id"]], clocks=[clock])
    day = (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0)
    for at, offline in ((day + timedelta(hours=17), False), (day + timedelta(hours=8), True)):
        attempt = await feed.identified(worker["id"], clock, captured_at=at, offline=offline)
        assert (await outcome(punch, feed.tenant_id, attempt))["type"].endswith("PunchRecorded")
    async with punch.admin(feed.tenant_id) as http:
        listed = (await http.get("/punches", params={"worker_id": worker["id"]})).json()["data"]
        assert [(p["direction"], p["direction_inferred"]) for p in listed] == [("IN", True)] * 2
        date = day.date().isoformat()
        sheet = (await http.get("/timesheets", params={"from": date, "to": date})).json()
        (mine,) = [s for s in sheet["data"] if s["worker_id"] == worker["id"]]
        assert mine["total_hours"] == 9.0 and mine["flagged_shifts"] == 0


async def test_corrections_are_new_entries_and_count_in_timesheets(punch, feed):
    worker, clock, ids = await day_of_punches(punch, feed)
    async with punch.admin(feed.tenant_id) as http:
        # The missing OUT of the 17th is flagged, not guessed.
        sheet = (
            await http.get("/timesheets", params={"from": "2026-11-16", "to": "2026-11-17"})
        ).json()["data"]
        (mine,) = [s for s in sheet if s["worker_id"] == worker["id"]]
        flags = [s["flag"] for d in mine["days"] for s in d["shifts"]]
        assert flags == [None, "MISSING_OUT"]

        added = await http.post(
            "/punches",
            json={
                "worker_id": worker["id"],
                "direction": "OUT",
                "punched_at": "2026-11-17T17:00:00+01:00",
                "clock_id": clock,
                "reason": "forgot to clock out",
            },
        )
        assert added.status_code == 201, added.text
        assert added.json()["kind"] == "CORRECTION" and added.json()["method"] == "MANUAL"

        # The IN of the 16th was really at 07:30.
        replaced = await http.post(
            f"/punches/{ids[0]}/replace",
            json={"punched_at": "2026-11-16T07:30:00+01:00", "reason": "clock was late"},
        )
        assert replaced.status_code == 201, replaced.text
        assert replaced.json()["replaces_punch_id"] == ids[0]
        again = await http.post(f"/punches/{ids[0]}/void", json={"reason": "twice"})
        assert again.status_code == 409 and again.json()["code"] == "ALREADY_VOIDED"

        listed = (await http.get("/punches", params={"worker_id": worker["id"]})).json()["data"]
        voided = [p for p in listed if p["voided"]]
        assert [p["id"] for p in voided] == [ids[0]] and voided[0][
            "void_reason"
        ] == "clock was late"

        sheet = (
            await http.get("/timesheets", params={"from": "2026-11-16", "to": "2026-11-17"})
        ).json()["data"]
        (mine,) = [s for s in sheet if s["worker_id"] == worker["id"]]
        hours = [s["hours"] for d in mine["days"] for s in d["shifts"]]
        assert hours == [9.0, 9.0]
        csv = await http.get(
            "/timesheets", params={"from": "2026-11-16", "to": "2026-11-17", "format": "csv"}
        )
        assert csv.headers["content-type"].startswith("text/csv")
        assert "Bo Lindqvist" in csv.text and "9.00" in csv.text


async def test_corrections_need_a_reason_and_a_known_worker(punch, feed):
    worker, clock, ids = await day_of_punches(punch, feed)
    async with punch.admin(feed.tenant_id) as http:
        no_reason = await http.post(f"/punches/{ids[1]}/void", json={"reason": ""})
        assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
        unknown = await http.post(
            "/punches",
            json={
                "worker_id": str(uuid.uuid4()),
                "direction": "IN",
                "punched_at": "2026-11-17T08:00:00+01:00",
                "clock_id": clock,
                "reason": "missed",
            },
        )
        assert unknown.status_code == 404 and unknown.json()["code"] == "WORKER_NOT_FOUND"
        missing = await http.post(f"/punches/{uuid.uuid4()}/void", json={"reason": "nope"})
        assert missing.status_code == 404
    async with punch.admin(feed.tenant_id, role="viewer") as http:
        viewer = await http.post(f"/punches/{ids[1]}/void", json={"reason": "not mine"})
        assert viewer.status_code == 403
    async with punch.admin(feed.tenant_id, role="manager", sites=("other",)) as http:
        manager = await http.post(f"/punches/{ids[1]}/void", json={"reason": "not my site"})
        assert manager.status_code == 403
        assert (await http.get("/punches")).json()["data"] == []


async def test_the_ledger_is_append_only_even_for_its_owner(punch, feed):
    _, _, ids = await day_of_punches(punch, feed)
    conn = await asyncpg.connect(punch.admin_url)
    try:
        for statement in (
            "UPDATE punches SET direction = 'OUT' WHERE id = $1",
            "DELETE FROM punches WHERE id = $1",
        ):
            with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
                await conn.execute(statement, ids[0])
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute("TRUNCATE attempts")
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('role', $2, true), set_config('app.tenant_id', $1, true)",
                feed.tenant_id,
                await role_of(conn),
            )
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("UPDATE punches SET reason = 'x' WHERE id = $1", ids[0])
    finally:
        await conn.close()


async def test_another_tenant_sees_nothing(punch, feed):
    _, _, ids = await day_of_punches(punch, feed)
    other = str(uuid.uuid4())
    async with punch.admin(other) as http:
        assert (await http.get("/punches")).json()["data"] == []
        void = await http.post(f"/punches/{ids[0]}/void", json={"reason": "not yours"})
        assert void.status_code == 404
    import httpx

    async with httpx.AsyncClient(base_url=punch.url + "/internal/v1") as http:
        headers = admin_headers(other)
        sheet = await http.get(
            "/timesheets", params={"from": "2026-11-16", "to": "2026-11-17"}, headers=headers
        )
        assert sheet.json()["data"] == []


async def test_suspicious_pin_report_flags_a_burst_at_one_kiosk(punch, feed):
    clock = await feed.clock(time_zone="UTC")
    workers = [await feed.worker(f"Shared {i}") for i in range(3)]
    for w in workers:
        await feed.assign(clock, w["id"])
    ids = [w["id"] for w in workers]
    await known(punch, feed.tenant_id, workers=ids, clocks=[clock], pairs=[(clock, w) for w in ids])
    base = datetime(2026, 11, 18, 6, 0, tzinfo=UTC)
    for i, worker_id in enumerate(ids):
        at = base + timedelta(seconds=20 * i)
        await outcome(
            punch,
            feed.tenant_id,
            await feed.identified(worker_id, clock, captured_at=at, received_at=at),
        )
    async with punch.admin(feed.tenant_id) as http:
        report = (
            await http.get(
                "/reports/suspicious-pin-punches", params={"from": "2026-11-18", "to": "2026-11-18"}
            )
        ).json()
    assert report["count"] == 3
    assert all("PIN_BURST" in f["reasons"] for f in report["data"])
    assert {f["worker_id"] for f in report["data"]} == set(ids)
