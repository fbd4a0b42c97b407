"""A ZK device against an in-process fake PUSH server (aiohttp.web on loopback): handshake, time,
polls and command results, ATTLOG batches resent after a lost OK, offline and back, DATA QUERY,
OPERLOG / BIODATA uploads, an unknown serial."""

from datetime import UTC, datetime, timedelta

import pytest
from punchcard_kiosk_sim.zk import ZkDevice
from punchcard_kiosk_sim.zk_protocol import b64

from .fake_push_server import FakePushServer

TEMPLATE = b64(b"finger-template-bytes")


@pytest.fixture
async def server():
    fake = await FakePushServer().start()
    yield fake
    await fake.close()


@pytest.fixture
async def make(server):
    devices = []

    def make_device(serial: str = "SN1", register: bool = True, **kw) -> ZkDevice:
        if register and serial not in server.devices:
            server.add(serial)
        d = ZkDevice(server.url, serial, error_delay_s=0.01, **kw)
        devices.append(d)
        return d

    yield make_device
    for d in devices:
        await d.close()


async def test_handshake_time_and_first_poll_with_info(server, make):
    fake = server.add("SN1", time_zone="-05:00")
    server.clock_offset = timedelta(minutes=3)  # the device is 3 min slow
    d = make("SN1", firmware="Ver 6.60", ip="10.1.2.3")
    assert await d.step() == 1.0  # the server's Delay
    [hello] = fake.handshakes
    assert hello["options"] == "all" and hello["pushver"] == "2.4.1" and hello["language"] == "69"
    assert d.options.raw["TransFlag"].startswith("TransData")
    assert d.time_zone_minutes == -300 and fake.time_requests == 1
    assert 120 < d.skew_s <= 180  # 3 min, less the answer's way back
    expected = datetime.now(UTC) + timedelta(minutes=3) - timedelta(hours=5)
    assert abs((d.now_local() - expected.replace(tzinfo=None)).total_seconds()) < 60
    assert fake.polls[0]["INFO"] == "Ver 6.60,0,0,0,10.1.2.3,10,7,12,0,111"
    await d.step()
    assert "INFO" not in fake.polls[1] and d.handshakes == 1 and d.state == "online"


async def test_commands_are_applied_and_their_results_posted(server, make):
    d = make("SN1")
    ids = server.queue(
        "SN1",
        "DATA UPDATE USERINFO PIN=1001\tName=Ana\tPri=0\tCard=777\tGrp=1",
        "DATA UPDATE FINGERTMP PIN=1001\tFID=6\tSize=28\tValid=1\tTMP=" + TEMPLATE,
        "DATA DELETE USERINFO PIN=2002",
        "REBOOT NOW PLEASE",
        "INFO",
    )
    await d.step()
    fake = server.devices["SN1"]
    assert fake.results == [
        {"ID": ids[0], "Return": "0", "CMD": "DATA"},
        {"ID": ids[1], "Return": "0", "CMD": "DATA"},
        {"ID": ids[2], "Return": "0", "CMD": "DATA"},
        {"ID": ids[3], "Return": "-22", "CMD": "REBOOT"},
        {"ID": ids[4], "Return": "0", "CMD": "INFO"},
    ]
    assert fake.queue == [] and d.users["1001"]["Card"] == "777" and ("1001", 6) in d.fingerprints
    assert [code for _, code, _ in d.delivered] == [0, 0, 0, -22, 0]
    await d.step()  # INFO: the next poll reports the counts again
    assert fake.polls[-1]["INFO"].split(",")[1:4] == ["1", "1", "0"]


async def test_results_not_answered_are_posted_again(server, make):
    d = make("SN1")
    await d.step()
    server.queue("SN1", "DATA UPDATE USERINFO PIN=1\tName=A")
    d._request_original = d._request

    async def failing_devicecmd(kind, method, path, params, body=None):
        if kind == "devicecmd":
            return 503, "busy"
        return await d._request_original(kind, method, path, params, body)

    d._request = failing_devicecmd
    await d.step()
    assert d.errors == 1 and len(d.pending_results) == 1 and server.devices["SN1"].results == []
    d._request = d._request_original
    await d.step()
    assert d.pending_results == [] and server.devices["SN1"].results[0]["Return"] == "0"


async def test_check_makes_the_device_handshake_again(server, make):
    d = make("SN1")
    await d.step()
    server.devices["SN1"].time_zone = "+01:00"
    server.queue("SN1", "CHECK")
    await d.step()
    assert d.handshakes == 2 and d.time_zone_minutes == 60
    assert server.devices["SN1"].results[-1]["CMD"] == "CHECK"


async def test_a_lost_ok_makes_the_device_resend_the_batch(server, make):
    d = make("SN1")
    await d.step()
    fake = server.devices["SN1"]
    d.lose_ok = 1
    first = d.punch("1001", state=0, verify_mode=1)
    second = d.punch("1002", state=1, verify_mode=2)
    await d.upload_now()
    assert fake.lines_received == 2 and d.pending_punches == [first, second] and d.lost_oks == 1
    await d.upload_now()  # the same batch again: at-least-once
    assert fake.lines_received == 4 and d.pending_punches == []
    assert len(fake.punches) == 2  # the server deduplicated
    assert fake.attlog_posts[0] == fake.attlog_posts[1]
    assert fake.attlog_posts[0]["stamp"] == str(max(first.stamp, second.stamp))
    assert d.attlog_resent_lines == 2 and first.acked_at is not None


async def test_an_error_answer_or_no_answer_is_resent_and_duplicates_ride_in_a_batch(server, make):
    d = make("SN1", duplicate_rate=1.0)
    await d.step()
    fake = server.devices["SN1"]
    server.fail_attlog_next = 1
    d.punch("1001")
    assert await d.upload_now() == 0 and d.attlog_failures == 1 and fake.attlog_posts == []
    assert await d.upload_now() == 1
    [post] = fake.attlog_posts
    assert len(post["lines"]) == 2 and post["lines"][0] == post["lines"][1]
    assert len(fake.punches) == 1


async def test_offline_punches_accumulate_and_resume_after_the_servers_stamp(server, make):
    d = make("SN1")
    await d.step()
    fake = server.devices["SN1"]
    base = d.now_local() - timedelta(minutes=10)
    for i in range(2):
        d.punch(f"{i}", at=base + timedelta(seconds=i))
    await d.upload_now()
    assert fake.lines_received == 2 and d.pending_punches == []
    d.offline = True
    assert d.state == "offline"
    await d.step()  # no network: nothing happens
    for i in range(2, 5):
        d.punch(f"{i}", at=base + timedelta(minutes=1, seconds=i))
    assert await d.upload_now() == 0 and len(d.pending_punches) == 3
    d.offline = False
    await d.step()  # handshake (ATTLOGStamp = the newest record the server has), then upload
    assert d.handshakes == 2
    assert d.server_attlog_stamp == max(p.stamp for p in d.attlog[:2])
    assert fake.lines_received == 5 and len(fake.punches) == 5 and d.pending_punches == []


async def test_a_server_that_lost_its_stamp_gets_everything_again(server, make):
    d = make("SN1")
    await d.step()
    fake = server.devices["SN1"]
    d.punch("1", at=d.now_local() - timedelta(seconds=30))
    d.punch("2", at=d.now_local() - timedelta(seconds=20))
    await d.upload_now()
    fake.stamps["ATTLOG"] = str(d.attlog[0].stamp)  # the server has only the first
    server.queue("SN1", "CHECK")
    await d.step()
    assert fake.lines_received == 3  # the second again, not the first
    assert fake.attlog_posts[-1]["lines"] == [d.attlog[1].line()]


async def test_data_query_reuploads_a_time_range(server, make):
    d = make("SN1")
    await d.step()
    fake = server.devices["SN1"]
    day = datetime(2026, 12, 1, 8, 0, 0)
    for i in range(6):
        d.punch(f"{100 + i}", state=i % 2, at=day + timedelta(hours=i))
    await d.upload_now()
    assert len(fake.punches) == 6
    fake.punches.clear()  # the server lost them
    ids = server.queue(
        "SN1",
        "DATA QUERY ATTLOG StartTime=2026-12-01 09:00:00\tEndTime=2026-12-01 11:00:00",
        "DATA QUERY ATTLOG StartTime=2026-12-02 00:00:00\tEndTime=2026-12-02 23:59:59",
    )
    await d.step()
    assert sorted(k[0] for k in fake.punches) == ["101", "102", "103"]
    assert fake.results == [
        {"ID": ids[0], "Return": "0", "CMD": "DATA"},
        {"ID": ids[1], "Return": "0", "CMD": "DATA"},
    ]
    assert d.query_uploads == 2


async def test_users_and_templates_enrolled_on_the_device_are_uploaded(server, make):
    d = make("SN1")
    d.enroll_user("1001", "Ana Pérez", pri=14, card="4242")
    fp = d.enroll_fingerprint("1001", 6, b"finger")
    bio = d.enroll_biodata("1001", b"face", bio_type=2, index=0, major=5, minor=8)
    await d.step()
    fake = server.devices["SN1"]
    assert fake.operlog == [
        "USER PIN=1001\tName=Ana Pérez\tPri=14\tPasswd=\tCard=4242\tGrp=1"
        "\tTZ=0000000000000000\tVerify=0",
        fp,
    ]
    assert fp == f"FP PIN=1001\tFID=6\tSize=8\tValid=1\tTMP={b64(b'finger')}"
    assert fake.biodata == [bio]
    assert bio == (
        "BIODATA Pin=1001\tNo=0\tIndex=0\tValid=1\tDuress=0\tType=2\tMajorVer=5\tMinorVer=8"
        f"\tFormat=0\tTmp={b64(b'face')}"
    )
    assert d.pending_uploads == 0 and d.operlog_lines_sent == 2 and d.biodata_lines_sent == 1


async def test_an_unknown_serial_gets_nothing_and_the_device_does_not_work(server, make):
    d = make("NOBODY", register=False)
    await d.step()
    await d.step()
    assert d.state == "refused" and d.refusals == 2 and d.polls == 0
    assert server.unknown == ["NOBODY", "NOBODY"]
    d.punch("1")
    assert await d.upload_now() == 0 and len(d.pending_punches) == 1


async def test_a_running_device_uploads_punches_as_they_happen_and_stops(server, make):
    d = make("SN1")
    d.start()
    await d.wait_until(lambda x: x.polls >= 1, timeout=5)
    d.punch("1001")
    await d.wait_until(lambda x: x.punches_acked == 1, timeout=5)
    assert len(server.devices["SN1"].punches) == 1
    d.offline = True
    d.punch("1002")
    d.offline = False
    await d.wait_until(lambda x: x.punches_acked == 2, timeout=5)
    await d.close()
    assert d.state == "stopped" and d.task.done() and d.handshakes == 2


async def test_a_query_is_acknowledged_only_once_its_records_were_accepted(server, make):
    d = make("SN1")
    await d.step()
    fake = server.devices["SN1"]
    d.punch("1001", at=datetime(2026, 12, 1, 8, 0, 0))
    await d.upload_now()
    fake.punches.clear()
    [query] = server.queue(
        "SN1", "DATA QUERY ATTLOG StartTime=2026-12-01 00:00:00\tEndTime=2026-12-01 23:59:59"
    )
    server.fail_attlog_next = 1
    await d.step()
    assert fake.results == [] and fake.punches == {} and d.errors == 1
    await d.step()
    assert list(fake.punches) == [("1001", "2026-12-01 08:00:00", "0")]
    assert fake.results == [{"ID": query, "Return": "0", "CMD": "DATA"}]


async def test_photos_and_raw_bodies(server, make):
    d = make("SN1")
    await d.step()
    fake = server.devices["SN1"]
    jpeg = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"
    assert await d.upload_photo("1001", jpeg, at=datetime(2026, 12, 2, 8, 0, 5))
    [photo] = fake.photos
    head, _, body = photo.partition(b"\0")
    assert head.decode().split("\n") == [
        "PIN=20261202080005-1001.jpg",
        "SN=SN1",
        f"size={len(jpeg)}",
        "CMD=uploadphoto",
    ]
    assert body == jpeg
    assert await d.post_table("WHATEVER", "x") == (200, "OK")
    assert fake.unknown_tables == ["WHATEVER"]
