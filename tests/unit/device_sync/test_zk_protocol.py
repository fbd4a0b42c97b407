"""The ZK PUSH protocol's pure rules (domain/zk.py): parsing what devices send, and the exact
text the server answers."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from punchcard_device_sync.domain import zk
from punchcard_device_sync.domain.model import Command, CommandKind


def test_query_parses_serial_table_stamp_and_info():
    q = zk.parse_query(
        "SN=ABC123&table=attlog&Stamp=9999&pushver=2.4.1&INFO=Ver 8,5,3,100,10.0.0.7"
    )
    assert (q.serial, q.table, q.stamp, q.push_version) == ("ABC123", "ATTLOG", "9999", "2.4.1")
    assert q.info == "Ver 8,5,3,100,10.0.0.7"
    assert zk.parse_query({"SN": "X1", "options": "all"}).options == "all"


def test_a_serial_is_found_in_any_case():
    assert zk.serial_key("cqz7232360123") == zk.serial_key("CQZ7232360123") == "CQZ7232360123"
    assert zk.serial_key("ab-1_2.3:4") == "AB-1_2.3:4"
    assert zk.serial_key("ZK1") != zk.serial_key("ZK2")


def test_query_takes_the_serial_as_sn_where_firmware_spells_it_so():
    assert zk.parse_query("sn=ABC123&table=ATTLOG").serial == "ABC123"
    assert zk.parse_query("SN=ABC123&sn=OTHER").serial == "ABC123"  # the protocol's first
    with pytest.raises(zk.ZkInvalid):
        zk.parse_query("Sn=ABC123")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "SN=",
        "SN=a%20b",
        "SN=" + "A" * 65,
        "SN=A&table=AT;LOG",
        "SN=A&INFO=" + "x" * 501,
        "SN=A" + "&x=1" * 70,
    ],
)
def test_query_refuses_bad_serials_tables_and_overlong_values(query):
    with pytest.raises(zk.ZkInvalid):
        zk.parse_query(query)


def test_junk_stamp_is_as_if_none():
    assert zk.parse_query("SN=A&Stamp=None").stamp is None


def test_info_counts_and_ip():
    info = zk.parse_info("Ver 8.0.4.2,12,30,5000,192.168.1.20,10,7,12,4")
    assert info == zk.DeviceInfo("Ver 8.0.4.2", 12, 30, 5000, "192.168.1.20", 4)
    assert zk.parse_info("x,abc,,1").users is None
    assert zk.parse_info("x,²,1").users is None
    assert zk.parse_info("x,1,2,3,<script>").ip == ""


def test_attlog_tolerates_trailing_fields_and_whitespace():
    body = "E1\t2026-03-02 08:00:00\t0\t1\t0\t0\t0\r\n\nE2\t2026-03-02 08:01:00\t1\t15 \n"
    parsed = zk.parse_attlog(body)
    assert parsed.refused == []
    assert [(r.line_no, r.badge, r.state, r.verify_mode) for r in parsed.records] == [
        (1, "E1", 0, 1),
        (3, "E2", 1, 15),
    ]
    assert parsed.records[0].device_time == datetime(2026, 3, 2, 8, 0, 0)


def test_attlog_refuses_bad_lines_by_number_and_keeps_the_rest():
    body = "\n".join(
        [
            "E1\t2026-03-02 08:00:00\t0\t1",
            "E1\t2026-03-02 08:00:00",  # too few fields
            "E1\t2026-13-02 08:00:00\t0\t1",  # bad date
            "E1\t2026-03-02 08:00:00\t0\tx",  # bad VerifyMode
            "E1\t2026-03-02 08:00:00\t256\t1",  # State out of range
            "E" * 40 + "\t2026-03-02 08:00:00\t0\t1",  # overlong PIN
            "\t".join(["E1", "2026-03-02 08:00:00"] + ["0"] * 11),  # too many fields
            "E/1\t2026-03-02 08:00:00\t0\t1",  # bad badge
            "E1\t2026-03-02 08:00:00\t²\t1",  # not an ASCII digit
            "E1\t0001-01-01 00:00:00\t0\t1",  # a year no device clock reads
        ]
    )
    parsed = zk.parse_attlog(body)
    assert [r.line_no for r in parsed.records] == [1]
    assert [r.line_no for r in parsed.refused] == [2, 3, 4, 5, 6, 7, 8, 9, 10]


def test_too_many_lines_refuses_the_body():
    line = "E1\t2026-03-02 08:00:00\t0\t1\n"
    with pytest.raises(zk.ZkInvalid):
        zk.parse_attlog(line * (zk.MAX_LINES + 1))
    # Exactly the bound, each line ended by its newline (and blank lines) is a body.
    assert len(zk.parse_attlog(line * zk.MAX_LINES + "\n\n").records) == zk.MAX_LINES


def test_an_operlog_stamp_may_be_named_opstamp():
    assert zk.parse_query("SN=A1&table=OPERLOG&OpStamp=888").stamp == "888"
    assert zk.parse_query("SN=A1&table=OPERLOG&Stamp=9&OpStamp=888").stamp == "9"


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_every_line_ending_and_a_byte_order_mark(end):
    body = "\ufeff" + end.join(["E1\t2026-03-02 08:00:00\t0\t1", "E2\t2026-03-02 08:01:00\t0\t1"])
    parsed = zk.parse_attlog(body + end)
    assert [r.badge for r in parsed.records] == ["E1", "E2"] and parsed.refused == []


def test_a_repeated_hour_is_read_by_the_pass_a_live_upload_came_in():
    # New York falls back at 06:00Z: 01:30 is 05:30Z (first pass) and 06:30Z (second).
    at = datetime(2026, 11, 1, 1, 30)
    zone = "America/New_York"
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert zk.to_utc(at, zone) == first  # a backlog: its first pass, as before
    assert zk.to_utc(at, zone, live_at=datetime(2026, 11, 1, 5, 30, 2, tzinfo=UTC)) == first
    assert zk.to_utc(at, zone, live_at=datetime(2026, 11, 1, 6, 30, 2, tzinfo=UTC)) == second
    # Any other hour: one instant, whatever the receipt.
    assert zk.to_utc(datetime(2026, 11, 1, 3, 0), zone, live_at=second) == datetime(
        2026, 11, 1, 8, 0, tzinfo=UTC
    )


def test_uploads_are_live_once_the_clock_has_polled_without_a_break_for_a_while():
    t = datetime(2026, 3, 2, 12, tzinfo=UTC)
    since = zk.online_since(None, None, t, 10)
    assert since == t
    assert zk.online_since(t, since, t + timedelta(seconds=30), 10) == t  # unbroken
    assert zk.online_since(t, since, t + timedelta(minutes=5), 10) == t + timedelta(minutes=5)
    settled = t + zk.BACKLOG_SETTLE
    assert not zk.uploads_live(t, since, t + timedelta(seconds=2), 10)  # just back
    assert zk.uploads_live(settled, since, settled + timedelta(seconds=2), 10)
    assert not zk.uploads_live(settled, since, settled + timedelta(minutes=2), 10)  # no polls


@pytest.mark.parametrize(
    ("state", "expected"),
    [(0, "IN"), (1, "OUT"), (2, "OUT"), (3, "IN"), (4, "IN"), (5, "OUT"), (255, "UNSPECIFIED")],
)
def test_state_to_direction(state, expected):
    assert zk.direction(state) == expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(0, "PIN"), (1, "FINGERPRINT"), (2, "CARD"), (15, "FACE"), (9, "FINGERPRINT")],
)
def test_verify_mode_to_method(mode, expected):
    assert zk.method(mode) == expected


@pytest.mark.parametrize(
    ("found", "method", "pin_allowed", "verifies", "refusal"),
    [
        (False, zk.Method.FACE, True, True, zk.Refusal.UNKNOWN_USER),
        (False, zk.Method.PIN, True, True, zk.Refusal.UNKNOWN_USER),
        (True, zk.Method.PIN, True, True, None),
        (True, zk.Method.PIN, False, True, zk.Refusal.PIN_NOT_ALLOWED),
        # A clock not opted in: a PIN set on the device by hand, outside the PIN policy.
        (True, zk.Method.PIN, True, False, zk.Refusal.PIN_NOT_ALLOWED),
        (True, zk.Method.FINGERPRINT, False, False, None),
        (True, zk.Method.CARD, False, False, None),
        (True, zk.Method.FACE, False, False, None),
    ],
)
def test_device_punch_refusal(found, method, pin_allowed, verifies, refusal):
    assert (
        zk.device_punch_refusal(
            found=found, method=method, pin_allowed=pin_allowed, clock_verifies_pins=verifies
        )
        == refusal
    )


def test_offline_rule_and_device_time_zone():
    utc = zk.to_utc(datetime(2026, 7, 1, 10, 0, 0), "Europe/Madrid")
    assert utc == datetime(2026, 7, 1, 8, 0, 0, tzinfo=UTC)
    assert not zk.captured_offline(utc, utc + timedelta(seconds=60))
    assert zk.captured_offline(utc, utc + timedelta(seconds=61))


def test_attempt_id_is_stable_per_record():
    t = datetime(2026, 3, 2, 8, 0, 0)
    a = zk.attempt_id("c1", "E1", t, 0)
    assert a == zk.attempt_id("c1", "E1", t, 0)
    assert uuid.UUID(a).version == 5
    assert len({a, zk.attempt_id("c2", "E1", t, 0), zk.attempt_id("c1", "E1", t, 1)}) == 3


def test_operlog_records_words_fields_and_positions():
    body = (
        "USER PIN=7\tName=Ana\tPri=0\n"
        "FP PIN=7\tFID=6\tSize=4\tValid=1\tTMP=QUJD\nOPLOG 4\t0\n bad\n"
    )
    records, refused = zk.parse_operlog(body)
    assert [r.word for r in records] == ["USER", "FP", "OPLOG"]
    assert records[1].fields == {"PIN": "7", "FID": "6", "Size": "4", "Valid": "1", "TMP": "QUJD"}
    assert records[2].fields == {"0": "4", "1": "0"}
    assert [r.line_no for r in refused] == [4]


def test_devicecmd_lines():
    body = (
        "ID=5&Return=0&CMD=DATA\nID=6&Return=-1002&CMD=DATA\nID=x&Return=0\nID=7&Return=abc\n"
        "ID=²&Return=0\n"
    )
    results, refused = zk.parse_devicecmd(body)
    assert results == [zk.CommandResult(5, 0, "DATA"), zk.CommandResult(6, -1002, "DATA")]
    assert [r.line_no for r in refused] == [3, 4, 5]


def test_a_results_command_word_keeps_no_control_characters():
    """The result counts (its ID and Return); a garbled CMD is kept without NUL or controls,
    which PostgreSQL's text could not hold."""
    results, refused = zk.parse_devicecmd("ID=5&Return=0&CMD=DA%00TA%1F%7F\nID=6&Return=0&CMD=%00")
    assert results == [zk.CommandResult(5, 0, "DATA"), zk.CommandResult(6, 0, "")]
    assert refused == []


def test_time_zone_offset_follows_dst_and_rounds_to_half_hours():
    winter, summer = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)
    assert zk.tz_offset("America/New_York", winter) == "-05:00"
    assert zk.tz_offset("America/New_York", summer) == "-04:00"
    assert zk.tz_offset("Asia/Kolkata", winter) == "+05:30"
    assert zk.tz_offset("Asia/Kathmandu", winter) == "+05:30"
    assert zk.tz_offset("UTC", winter) == "+00:00"
    assert zk.must_retell_time("-05:00", "America/New_York", summer)
    assert not zk.must_retell_time("-04:00", "America/New_York", summer)
    assert not zk.must_retell_time(None, "America/New_York", summer)


def test_handshake_text():
    now = datetime(2026, 1, 15, 12, tzinfo=UTC)
    reply = zk.handshake("SN1", {"ATTLOG": "42"}, zk.Options(delay_s=10), "America/New_York", now)
    lines = reply.splitlines()
    assert lines[0] == "GET OPTION FROM: SN1"
    for expected in (
        "ATTLOGStamp=42",
        "OPERLOGStamp=0",
        "ATTPHOTOStamp=0",
        "ErrorDelay=30",
        "Delay=10",
        "TransInterval=1",
        "TimeZone=-05:00",
        "Realtime=1",
        "Encrypt=0",
    ):
        assert expected in lines
    assert any(line.startswith("TransFlag=TransData AttLog") for line in lines)
    assert any(line.startswith("ServerVer=") for line in lines)


def test_time_reply():
    now = datetime(2026, 7, 15, 12, 0, 0, 123, tzinfo=UTC)
    assert zk.time_reply("Europe/Madrid", now) == "Time=2026-07-15T14:00:00+02:00"


def test_userinfo_from_profile_defaults_and_roles():
    profile = {"worker_id": "w", "employee_id": "E1", "display_name": "Ana\tPérez"}
    assert zk.userinfo_update(profile) == (
        "DATA UPDATE USERINFO PIN=E1\tName=Ana Pérez\tPri=0\tPasswd=\tCard=\tGrp=1"
        "\tTZ=0000000000000000\tVerifyMode=-1"
    )
    admin = {**profile, "clock_role": "ADMINISTRATOR", "cards": ["900", "100"]}
    assert "\tPri=14\tPasswd=\tCard=100\t" in zk.userinfo_update(admin)
    assert "\tPri=2\t" in zk.userinfo_update({**profile, "clock_role": "MANAGER"})
    assert "Name=" + "x" * 24 + "\t" in zk.userinfo_update({**profile, "display_name": "x" * 40})


def test_roster_lines_from_queued_bodies():
    import json

    upsert = json.loads(Command.upsert('{"employee_id":"E1","display_name":"A"}', "w").body("i", 1))
    remove = json.loads(Command.remove("w", "E1").body("i", 2))
    query = json.loads(
        Command.query_punches("2026-03-02 08:00:00", "2026-03-02 09:00:00").body("i", 3)
    )
    assert zk.roster_lines(CommandKind.UPSERT_WORKER, upsert)[0].startswith(
        "DATA UPDATE USERINFO PIN=E1\tName=A\tPri=0"
    )
    assert zk.roster_lines(CommandKind.REMOVE_WORKER, remove) == ["DATA DELETE USERINFO PIN=E1"]
    assert zk.roster_lines(CommandKind.QUERY_PUNCHES, query) == [
        "DATA QUERY ATTLOG StartTime=2026-03-02 08:00:00\tEndTime=2026-03-02 09:00:00"
    ]
    assert zk.roster_lines(CommandKind.FULL_RESYNC, {"reason": "x"}) == []
    lines = zk.resync_lines([{"employee_id": "E2"}, {"employee_id": "E1"}])
    assert [line.split("\t")[0] for line in lines] == [
        "DATA UPDATE USERINFO PIN=E1",
        "DATA UPDATE USERINFO PIN=E2",
    ]


def test_pack_reply_within_count_and_size():
    assert zk.pack_reply([]) == ("OK", [])
    reply, ids = zk.pack_reply([(i, ["INFO"]) for i in range(1, 300)])
    assert ids == list(range(1, 201)) and reply.count("\n") == 200
    assert reply.startswith("C:1:INFO\nC:2:INFO\n")
    big = "x" * 15_000
    reply, ids = zk.pack_reply([(1, [big]), (2, [big]), (3, [big])])
    assert ids == [1, 2] and len(reply.encode()) <= zk.MAX_REPLY_BYTES
    reply, ids = zk.pack_reply([(1, ["y" * 50_000]), (2, ["z"])])
    assert ids == [1]  # one command larger than the limit goes alone
    _, ids = zk.pack_reply([(1, ["a"] * 150), (2, ["b"] * 100)])
    assert ids == [1]  # a command's lines stay together


def test_gaps():
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert zk.stamp_regressed("100", "50")
    assert not zk.stamp_regressed("100", "150")
    assert not zk.stamp_regressed(None, "5")
    assert zk.gap_after_offline(now - timedelta(minutes=11), now, timedelta(minutes=10))
    assert not zk.gap_after_offline(now - timedelta(minutes=9), now, timedelta(minutes=10))
    assert not zk.gap_after_offline(None, now, timedelta(minutes=10))
    start, end = zk.gap_range(now - timedelta(hours=1), now, "Europe/Madrid", timedelta(minutes=5))
    assert (start, end) == (datetime(2026, 3, 2, 11, 55), datetime(2026, 3, 2, 13, 0))


def test_skew():
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    ahead = [now + timedelta(minutes=3)]
    assert zk.skew_sample(ahead, now, realtime=True) == -180
    assert zk.skew_sample(ahead, now, realtime=False) is None
    assert zk.skew_sample([now] * 6, now, realtime=True) is None
    assert zk.skew_flagged(-180, 120) and not zk.skew_flagged(30, 120)
    assert not zk.skew_flagged(None, 120)


def _strptime(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, zk.DEVICE_TIME_FORMAT)
    except ValueError:
        return None


@given(
    st.lists(
        st.tuples(st.integers(0, 18), st.sampled_from(list("0123456789-: T+５\t"))),
        max_size=4,
    )
)
def test_device_times_are_read_as_strptime_reads_them(edits):
    text = list("2026-03-02 09:00:00")
    for at, char in edits:
        text[at] = char
    text = "".join(text)
    assert zk.parse_device_time(text) == _strptime(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-02 09:00:00",
        "2024-02-29 23:59:59",
        "2026-02-30 08:00:00",
        "2026-12-31 23:59:60",
        "2026-1-5 3:04:05",
        "2026-01-05T03:04:05",
        "2026-01-05 03:04:05 ",
        "",
    ],
)
def test_device_time_examples(text):
    assert zk.parse_device_time(text) == _strptime(text)


@given(
    st.text(max_size=40),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    st.integers(0, 255),
)
def test_attempt_ids_are_uuid5_of_the_record(badge, when, state):
    clock = "0b0e5a1c-7d7e-4a57-9d55-7f4f8a5f6c11"
    key = f"{clock}/{badge}/{when.isoformat()}/{state}"
    assert zk.attempt_id(clock, badge, when, state) == str(uuid.uuid5(zk.ATTEMPT_NAMESPACE, key))
