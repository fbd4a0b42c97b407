"""The ZK device's side of the PUSH wire format, and applying commands to its state (no I/O)."""

from datetime import UTC, datetime

import pytest
from punchcard_kiosk_sim.zk import ZkDevice
from punchcard_kiosk_sim.zk_protocol import (
    RETURN_NO_SPACE,
    RETURN_NOT_SUPPORTED,
    RETURN_OK,
    RETURN_PARAMETER_ERROR,
    RETURN_UNKNOWN_COMMAND,
    RETURN_USER_NOT_FOUND,
    Command,
    ProtocolError,
    attlog_line,
    b64,
    parse_commands,
    parse_options,
    parse_server_time,
    parse_stamp,
    parse_time_zone,
)

HANDSHAKE = (
    "GET OPTION FROM: CQZ7231260123\r\n"
    "ATTLOGStamp=1764662400\r\nOPERLOGStamp=None\r\nErrorDelay=30\r\nDelay=10\r\n"
    "TransTimes=00:00;14:05\r\nTransInterval=1\r\n"
    "TransFlag=TransData AttLog OpLog EnrollUser ChgUser\r\n"
    "TimeZone=-05:30\r\nRealtime=1\r\nEncrypt=0\r\nTimeout=60\r\nServerVer=3.4.1\r\n"
)
TEMPLATE = b64(b"\x01\x02fingerprint-template")


def device(**kw) -> ZkDevice:
    return ZkDevice("http://unused", "SN1", session=None, **kw)


def run(d: ZkDevice, *texts: str) -> list[int]:
    d.apply_commands(Command(str(i), t) for i, t in enumerate(texts, 1))
    return [code for _, code in d.commands[-len(texts) :]]


def test_the_handshake_answer_is_parsed_into_options():
    options = parse_options(HANDSHAKE)
    assert options.serial == "CQZ7231260123"
    assert options.delay_s == 10 and options.error_delay_s == 30 and options.timeout_s == 60
    assert options.time_zone_minutes == -330
    assert options.realtime and options.trans_interval_min == 1
    assert options.stamp("ATTLOG") == "1764662400" and parse_stamp(options.stamp("OPERLOG")) is None
    assert options.uploads("ATTLOG") and options.uploads("OPERLOG")
    assert not parse_options("GET OPTION FROM: X\nTransFlag=AttLog").uploads("OPERLOG")
    assert parse_options("GET OPTION FROM: X\nTransFlag=111101").uploads("OPERLOG")
    with pytest.raises(ProtocolError):
        parse_options("")
    with pytest.raises(ProtocolError):
        parse_options("OK")


@pytest.mark.parametrize(
    ("value", "minutes"),
    [("-05:00", -300), ("+05:30", 330), ("0530", 330), ("-5", -300), ("8", 480), ("5.5", 330),
     ("330", 330), ("00:00", 0)],
)  # fmt: skip
def test_time_zones_in_every_form_firmware_meets(value, minutes):
    assert parse_time_zone(value) == minutes


def test_a_bad_time_zone_is_refused():
    for bad in ("", "EST", "+25:00", "99999", "2599"):
        with pytest.raises(ProtocolError):
            parse_time_zone(bad)


def test_server_time_and_stamps():
    when = parse_server_time("Time=2026-12-02T08:00:00-05:00")
    assert when == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    assert parse_server_time("Time=2026-12-02T08:00:00").tzinfo is not None
    with pytest.raises(ProtocolError):
        parse_server_time("OK")
    assert parse_stamp("9999") == 9999
    assert parse_stamp("2026-12-02 08:00:00") == int(
        datetime(2026, 12, 2, 8, tzinfo=UTC).timestamp()
    )
    assert [parse_stamp(v) for v in (None, "", "None", "0", "garbage")] == [None] * 5


def test_commands_are_parsed_from_the_getrequest_answer():
    text = "C:12:DATA UPDATE USERINFO PIN=7\tName=Ana Pérez\tPri=0\r\nC:13:CHECK\nOK\njunk\nC::x"
    commands = parse_commands(text)
    assert [(c.id, c.word) for c in commands] == [("12", "DATA"), ("13", "CHECK")]
    assert commands[0].text == "DATA UPDATE USERINFO PIN=7\tName=Ana Pérez\tPri=0"
    assert parse_commands("OK") == []


def test_an_attlog_line_has_seven_tab_separated_fields():
    line = attlog_line("1001", datetime(2026, 12, 2, 8, 5, 9), 1, 15, 0)
    assert line == "1001\t2026-12-02 08:05:09\t1\t15\t0\t0\t0"


def test_users_are_upserted_and_deleted_with_their_templates():
    d = device()
    codes = run(
        d,
        "DATA UPDATE USERINFO PIN=7\tName=Ana Pérez\tPri=14\tCard=12345\tGrp=1",
        "DATA UPDATE FINGERTMP PIN=7\tFID=6\tSize=28\tValid=1\tTMP=" + TEMPLATE,
        "DATA UPDATE BIODATA Pin=7\tNo=0\tIndex=0\tValid=1\tType=2\tTmp=" + TEMPLATE,
        "DATA UPDATE BIOPHOTO PIN=7\tType=9\tSize=10\tContent=" + TEMPLATE,
        "DATA UPDATE USERINFO PIN=8\tName=Bo",
    )
    assert codes == [RETURN_OK] * 5
    assert d.users["7"]["Name"] == "Ana Pérez" and d.users["7"]["Pri"] == "14"
    assert d.users["7"]["Card"] == "12345"
    assert ("7", 6) in d.fingerprints and ("7", 2, 0, 0) in d.biodata and "7" in d.biophotos
    assert d.info().split(",")[1:4] == ["2", "1", "0"]
    assert run(d, "DATA DELETE USERINFO PIN=7", "DATA DELETE USERINFO PIN=404") == [0, 0]
    assert set(d.users) == {"8"}
    assert not d.fingerprints and not d.biodata and not d.biophotos


def test_templates_are_deleted_alone_and_need_their_user():
    d = device()
    run(d, "DATA UPDATE USERINFO PIN=7\tName=A")
    codes = run(
        d,
        "DATA UPDATE FINGERTMP PIN=9\tFID=1\tTMP=" + TEMPLATE,  # nobody with PIN 9
        "DATA UPDATE FINGERTMP PIN=7\tFID=1\tTMP=not base64!",
        "DATA UPDATE FINGERTMP PIN=7\tFID=x\tTMP=" + TEMPLATE,
        "DATA UPDATE FINGERTMP PIN=7\tFID=1\tTMP=" + TEMPLATE,
        "DATA UPDATE FINGERTMP PIN=7\tFID=2\tTMP=" + TEMPLATE,
        "DATA DELETE FINGERTMP PIN=7\tFID=1",
        "DATA UPDATE BIODATA Pin=7\tNo=0\tIndex=1\tType=1\tTmp=" + TEMPLATE,
        "DATA UPDATE BIODATA Pin=7\tNo=0\tIndex=2\tType=1\tTmp=" + TEMPLATE,
        "DATA DELETE BIODATA Pin=7\tType=1\tIndex=1",
    )
    assert (
        codes
        == [RETURN_USER_NOT_FOUND, RETURN_PARAMETER_ERROR, RETURN_PARAMETER_ERROR] + [RETURN_OK] * 6
    )
    assert list(d.fingerprints) == [("7", 2)]
    assert list(d.biodata) == [("7", 1, 0, 2)]
    assert run(d, "DATA DELETE FINGERTMP PIN=7", "DATA DELETE BIODATA Pin=7") == [0, 0]
    assert not d.fingerprints and not d.biodata


def test_unknown_legacy_and_bad_commands_have_their_codes():
    d = device(max_users=1)
    codes = run(
        d,
        "DATA UPDATE USERINFO Name=nobody",
        "DATA UPDATE USERINFO PIN=1\tPri=boss",
        "DATA UPDATE USERINFO PIN=1\tName=A",
        "DATA UPDATE USERINFO PIN=2\tName=B",  # the device is full
        "DATA UPDATE USERINFO PIN=1\tName=A again",  # replacing one is fine
        "USER ADD PIN=3",
        "DATA UPDATE WHATEVER X=1",
        "FROBNICATE",
        "DATA QUERY ATTLOG StartTime=yesterday\tEndTime=today",
    )
    assert codes == [
        RETURN_PARAMETER_ERROR,
        RETURN_PARAMETER_ERROR,
        RETURN_OK,
        RETURN_NO_SPACE,
        RETURN_OK,
        RETURN_NOT_SUPPORTED,
        RETURN_UNKNOWN_COMMAND,
        RETURN_UNKNOWN_COMMAND,
        RETURN_PARAMETER_ERROR,
    ]
    assert d.commands_failed == 7
    assert d.pending_results[0] == "ID=1&Return=-1&CMD=DATA"
    assert d.pending_results[5] == "ID=6&Return=-1002&CMD=USER"
    assert d.pending_results[7] == "ID=8&Return=-22&CMD=FROBNICATE"


def test_set_option_check_info_and_clear_log():
    d = device()
    d.punch("1", at=datetime(2026, 12, 2, 8, 0, 0))
    codes = run(d, "SET OPTION TimeZone=+02:00", "SET OPTION Delay=5", "CHECK", "INFO", "CLEAR LOG")
    assert codes == [0] * 5
    assert d.time_zone_minutes == 120 and d.poll_interval() == 5
    assert d._rehandshake and d._info_due
    assert d.attlog == [] and d.pending_punches == []
    assert run(d, "SET OPTION TimeZone=Mars") == [RETURN_PARAMETER_ERROR]


def test_fail_codes_answer_instead_of_applying():
    d = device(fail_codes={"DATA UPDATE USERINFO": -5, "99": -3})
    d.apply_commands([Command("1", "DATA UPDATE USERINFO PIN=1"), Command("99", "CHECK")])
    assert [c for _, c in d.commands] == [-5, -3] and not d.users and not d._rehandshake
    d = device(fail_codes=lambda c: -1003 if "PIN=2" in c.text else None)
    d.apply_commands(
        [Command("1", "DATA UPDATE USERINFO PIN=1"), Command("2", "DATA UPDATE USERINFO PIN=2")]
    )
    assert [c for _, c in d.commands] == [0, -1003] and set(d.users) == {"1"}


def test_punches_follow_the_time_zone_and_stamp_in_utc():
    d = device(time_zone_minutes=-300, clock_skew_s=0)
    p = d.punch("1001", state=1, verify_mode=15)
    assert abs((d.now_local() - p.at).total_seconds()) < 2
    utc_now = datetime.now(UTC).replace(tzinfo=None)
    assert abs((utc_now - p.at).total_seconds() - 300 * 60) < 5
    assert abs(p.stamp - datetime.now(UTC).timestamp()) < 5
    fixed = d.punch("1002", at=datetime(2026, 12, 2, 3, 0, 0))
    assert fixed.stamp == int(datetime(2026, 12, 2, 8, 0, tzinfo=UTC).timestamp())
    assert fixed.line() == "1002\t2026-12-02 03:00:00\t0\t1\t0\t0\t0"
    assert d.pending_punches == [p, fixed]
