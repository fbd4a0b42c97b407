"""The ZK PUSH edge fuzzed as a registered device, on the real device-sync and its database:
whatever a clock (or anyone who knows its serial) sends to ``/iclock/*`` — any route, method,
table, query and body, ATTLOG lines and command results near the valid ones — is never a
server error. The OpenAPI fuzz (tests/integration/fuzz)
reaches these routes only with serials no one registered, which stop at 401 before any body is
read; a 5xx here makes firmware resend the same upload forever.

The budget is fixed and small (``FUZZ_EXAMPLES`` × 12 requests per strategy, derandomized: the
same requests on every run); raise ``FUZZ_EXAMPLES`` locally to search harder."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.integration.device_sync.test_zk_push import local, zk_clock
from tests.support.device_sync import new_tenant
from tests.support.fuzz import EXAMPLES, fuzz_settings
from tests.support.services import start_service

SETTINGS = fuzz_settings(12 * EXAMPLES)
# Words and values firmware sends, and values just past what the edge accepts.
TOKENS = [
    "", "0", "-1", "255", "256", "99999999999999999999", "1.5", "NaN", "None", "\x00", "ÿ",
    "2026-03-02 09:00:00", "2026-13-40 25:61:61", "1999-12-31 23:59:59", "2100-01-01 00:00:00",
    "USER PIN=1", "FP PIN=1", "FACE PIN=1", "BIODATA Pin=1", "BIOPHOTO PIN=1", "OPLOG 4",
    "PIN=", "Name=", "Pri=14", "Card=[12345678]", "FID=0", "FID=-3", "Size=-5", "Valid=1",
    "No=0", "Index=0", "Type=9", "Type=99", "Format=0", "TMP=!!!", "Tmp=QUJD", "Tmp=" + "A" * 64,
    "ID=1", "ID=x", "Return=-1002", "Return=999999999", "CMD=DATA", "ID=1&Return=0&CMD=DATA",
]  # fmt: skip
VALUES = ["", "0", "-1", "99999999999999999999", "1.5", "abc", "all", "time", "2.4.1", "3.1.1"]
ROUTES = ["/cdata", "/getrequest", "/devicecmd", "/ping", "/cdata.aspx", "/getrequest.aspx"]
TABLES = ["ATTLOG", "OPERLOG", "BIODATA", "ATTPHOTO", "OPLOG", "FUTURE"]
PARAMS = [
    "Stamp", "OpStamp", "PhotoStamp", "pushver", "INFO", "type", "options", "language",
    "pushcommkey", "ContentType", "DeviceType", "table",
]  # fmt: skip

ascii_text = st.text(st.characters(max_codepoint=0x7F), max_size=40)  # controls and NUL too
field = st.one_of(st.text(max_size=24), st.sampled_from(TOKENS))
value = st.one_of(st.text(max_size=12), st.sampled_from(VALUES + TABLES))
body = st.one_of(
    st.lists(st.lists(field, max_size=9).map("\t".join), max_size=8).map("\n".join),
    st.binary(max_size=256).map(lambda b: b.decode("latin-1")),
)


@pytest.fixture(scope="module")
async def zk_devices(tmp_path_factory):
    process = await start_service("device-sync", tmp_path_factory.mktemp("device-sync-fuzz"))
    yield process
    await process.stop()


def _fuzz(url: str, serial: str, badges: list[str]) -> list[str]:
    failures: list[str] = []
    http = httpx.Client(base_url=url + "/iclock", timeout=60)

    def send(method: str, route: str, query: dict, content: bytes | None) -> None:
        try:
            check(http.request(method, route, params=query, content=content))
        except httpx.TransportError as error:  # the server dropped the connection
            failures.append(f"{method} {route} {query} {(content or b'')[:300]!r}: {error!r}")

    def check(response: httpx.Response) -> None:
        if response.status_code >= 500:
            request = response.request
            failures.append(
                f"{request.method} {request.url} {request.content[:300]!r}: "
                f"{response.status_code} {response.text[:200]}"
            )

    @SETTINGS
    @given(
        route=st.sampled_from(ROUTES),
        method=st.sampled_from(["GET", "POST"]),
        table=st.one_of(st.sampled_from(TABLES), value),
        params=st.dictionaries(st.sampled_from(PARAMS), value, max_size=4),
        content=body,
    )
    def any_request(route, method, table, params, content):
        query = {"table": table, **params, "SN": serial}
        data = content.encode("utf-8", "surrogatepass") if method == "POST" else None
        send(method, route, query, data)

    now = datetime.now(UTC)
    times = [local(now), local(now - timedelta(days=40)), "2026-03-29 02:30:00"]
    times += ["2026-10-25 02:30:00", "2000-01-01 00:00:00", "2099-12-31 23:59:59"]

    @SETTINGS
    @given(
        st.lists(
            st.tuples(
                st.one_of(st.sampled_from(badges), st.text(max_size=10)),
                st.one_of(st.sampled_from(times), st.text(max_size=20)),
                st.one_of(st.integers(-1, 300).map(str), value),
                st.one_of(st.integers(-1, 10_000).map(str), value),
                st.lists(value, max_size=4),
            ),
            max_size=6,
        ),
        st.one_of(st.none(), value),
    )
    def attlog(lines, stamp):
        text = "".join("\t".join([*line[:4], *line[4]]) + "\n" for line in lines)
        query = {"SN": serial, "table": "ATTLOG"} | ({"Stamp": stamp} if stamp is not None else {})
        send("POST", "/cdata", query, text.encode("utf-8", "surrogatepass"))

    @SETTINGS
    @given(
        st.lists(
            st.tuples(
                st.one_of(st.integers(0, 10**6).map(str), st.integers(0, 2**63).map(str), value),
                st.one_of(st.integers(-1100, 1100).map(str), value),
                st.one_of(ascii_text.map(quote), ascii_text, st.text(max_size=40).map(quote)),
            ),
            max_size=6,
        )
    )
    def results(lines):
        text = "".join(f"ID={ident}&Return={code}&CMD={word}\n" for ident, code, word in lines)
        send("POST", "/devicecmd", {"SN": serial}, text.encode("utf-8", "surrogatepass"))

    try:
        any_request()
        attlog()
        results()
    finally:
        http.close()
    return failures


async def test_a_registered_device_sending_anything_never_gets_a_server_error(identity, zk_devices):
    tenant = await new_tenant(identity, zk_devices)
    worker = await tenant.worker("Fuzzed Badge")
    _, serial = await zk_clock(tenant)
    badge = worker["employee_id"]
    badges = [badge, badge.lower(), "", " ", "E1"]
    failures = await asyncio.to_thread(_fuzz, zk_devices.url, serial, badges)
    assert not failures, "\n".join(failures)
