"""The common ZK poll answered from memory (``ZkEdge.poll_at_once`` and the ``FastPath`` ASGI
front): only while nothing can be due for the clock; a queue change (NOTIFY), a redelivery
deadline, an offline gap or an unknown serial goes the full way. A known device's ATTLOG
upload is recorded by the front as the route records it. ATTLOG uploads through the group
commit are recorded once, as alone."""

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from punchcard_device_sync.domain import zk
from punchcard_device_sync.domain.model import Command
from punchcard_device_sync.entrypoints.iclock import FastPath

from .fakes import Store, factory
from .test_zk_edge import TENANT, edge, verdicts, zk_clock


async def test_a_clean_queue_is_answered_from_memory_until_a_notify():
    store = Store()
    clock_id = zk_clock(store)
    e, beats = edge(store)
    serial = f"SN{clock_id[:6]}"
    assert e.known(serial) is None  # never looked up: the route looks it up
    device = await e.device(serial)
    assert e.known(serial) == device
    # The queue was never read: memory cannot answer.
    assert e.poll_at_once(device, None, "2.4.1") is None
    assert beats.polls == []  # nothing recorded when it cannot answer
    assert await e.poll(device, None, "2.4.1") == "OK"
    assert e.poll_at_once(device, "Ver 9,1,2,3,10.0.0.9", "2.4.1") == "OK"
    assert beats.polls[-1][4].firmware == "Ver 9"  # the status still goes to the buffers
    assert beats.beats[-1].clock_id == clock_id
    async with factory(store)(TENANT) as uow:
        [q] = await uow.queue.enqueue([(clock_id, Command.remove("w1", "E5"))])
    assert e.poll_at_once(device, None, "") == "OK"  # no NOTIFY yet (not committed)
    e.forget(clock_id)  # the NOTIFY of the commit
    assert e.poll_at_once(device, None, "") is None
    assert await e.poll(device, None, "") == f"C:{q.sequence}:DATA DELETE USERINFO PIN=E5\n"


async def test_a_lost_listener_or_a_revoke_sends_every_poll_the_full_way():
    store = Store()
    clock_id = zk_clock(store)
    e, beats = edge(store)
    serial = f"SN{clock_id[:6]}"
    device = await e.device(serial)
    await e.poll(device, None, "")
    assert e.poll_at_once(device, None, "") == "OK"
    e.forget(None)
    assert e.poll_at_once(device, None, "") is None
    await e.poll(device, None, "")
    e.forget_device(clock_id)
    assert e.known(serial) is None


async def test_a_device_back_after_offline_is_not_answered_from_memory():
    store = Store()
    clock_id = zk_clock(store)
    e, beats = edge(store, gap_after_offline=timedelta(minutes=10), recheck_s=1e9)
    device = await e.device(f"SN{clock_id[:6]}")
    t0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert await e.poll(device, None, "", now=t0) == "OK"
    assert e.poll_at_once(device, None, "", now=t0 + timedelta(minutes=1)) == "OK"
    assert e.poll_at_once(device, None, "", now=t0 + timedelta(hours=2)) is None
    assert "QUERY ATTLOG" in await e.poll(device, None, "", now=t0 + timedelta(hours=2))


async def test_an_unacknowledged_command_makes_the_queue_due_at_its_redelivery():
    store = Store()
    clock_id = zk_clock(store)
    e, beats = edge(store, redeliver_after=timedelta(0))
    device = await e.device(f"SN{clock_id[:6]}")
    async with factory(store)(TENANT) as uow:
        await uow.queue.enqueue([(clock_id, Command.remove("w1", "E5"))])
    assert "DELETE USERINFO" in await e.poll(device, None, "")
    # Delivered, not acknowledged, its redelivery due now: never answered OK from memory.
    assert e.poll_at_once(device, None, "") is None


def _scope(query: bytes, app, path: str = "/iclock/getrequest", method: str = "GET") -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "app": app,
        "headers": [],
        "client": ("10.0.0.1", 1),
    }


async def _call(front: FastPath, scope: dict, body: list[bytes] | None = None):
    sent, routed = [], []
    chunks = list(body or [b""])

    async def receive():
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    front.app = _recording(routed)
    await front(scope, receive, send)
    return sent, routed


def _recording(routed: list):
    async def app(scope, receive, send):
        routed.append(scope["path"])

    return app


async def test_the_asgi_front_answers_only_the_common_poll_and_routes_the_rest():
    store = Store()
    clock_id = zk_clock(store)
    e, beats = edge(store)
    app = SimpleNamespace(state=SimpleNamespace(device_sync=SimpleNamespace(zk=e)))
    serial = f"SN{clock_id[:6]}"
    front = FastPath(None)
    query = f"SN={serial}&pushver=2.4.1".encode()
    # Not looked up yet: the route answers (and looks it up).
    sent, routed = await _call(front, _scope(query, app))
    assert routed == ["/iclock/getrequest"] and sent == []
    device = await e.device(serial)
    await e.poll(device, None, "")
    sent, routed = await _call(front, _scope(query, app))
    assert routed == []
    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/plain; charset=utf-8") in sent[0]["headers"]
    assert (b"content-length", b"2") in sent[0]["headers"]
    assert sent[1]["body"] == b"OK"
    # A bad query, another route, another method, an unknown serial, the app not started.
    for scope in (
        _scope(b"SN=bad serial!", app),
        _scope(query, app, path="/iclock/cdata"),
        _scope(query, app, method="POST"),
        _scope(b"SN=NOBODY", app),
        _scope(query, SimpleNamespace(state=SimpleNamespace())),
    ):
        sent, routed = await _call(front, scope)
        assert sent == [] and routed == [scope["path"]]


async def test_the_asgi_front_records_a_known_devices_attlog_and_routes_the_rest():
    store = Store()
    clock_id = zk_clock(store)
    store.add_worker(employee_id="E78")
    e, beats = edge(store)
    app = SimpleNamespace(state=SimpleNamespace(device_sync=SimpleNamespace(zk=e)))
    serial = f"SN{clock_id[:6]}"
    front = FastPath(None)
    query = f"SN={serial}&table=ATTLOG&Stamp=9".encode()
    upload = _scope(query, app, path="/iclock/cdata", method="POST")
    line = b"E78\t2026-03-02 09:00:00\t0\t1\t0\n"
    # Not looked up yet: the route answers (and looks it up); nothing read or recorded here.
    sent, routed = await _call(front, upload, [line])
    assert routed == ["/iclock/cdata"] and sent == [] and verdicts(store) == []
    await e.device(serial)
    # A body in two chunks; then the same again: recorded once, OK both times.
    for _ in range(2):
        sent, routed = await _call(front, upload, [line[:7], line[7:]])
        assert routed == [] and sent[0]["status"] == 200 and sent[1]["body"] == b"OK"
    assert len(verdicts(store)) == 1
    assert store.zk_state[clock_id]["ATTLOG"] == "9"
    # Past the bound: 413 before anything is recorded, by Content-Length or by what came.
    big = b"E78\t" * (1024 * 1024)
    sent, _ = await _call(
        front,
        {**upload, "headers": [(b"content-length", b"%d" % len(big))]},
        [big],
    )
    assert sent[0]["status"] == 413
    sent, _ = await _call(front, upload, [big[:1_500_000], big[1_500_000:]])
    assert sent[0]["status"] == 413
    assert len(verdicts(store)) == 1
    # Another table, a GET, a bad query, an unknown serial, the app not started: the routes.
    for scope in (
        _scope(f"SN={serial}&table=OPERLOG".encode(), app, path="/iclock/cdata", method="POST"),
        _scope(query, app, path="/iclock/cdata"),
        _scope(b"SN=bad serial!&table=ATTLOG", app, path="/iclock/cdata", method="POST"),
        _scope(b"SN=NOBODY&table=ATTLOG", app, path="/iclock/cdata", method="POST"),
        _scope(query, SimpleNamespace(state=SimpleNamespace()), "/iclock/cdata", "POST"),
    ):
        sent, routed = await _call(front, scope, [line])
        assert sent == [] and routed == [scope["path"]]
    assert len(verdicts(store)) == 1


async def test_attlog_uploads_arriving_together_share_a_transaction_and_are_recorded_once():
    store = Store()
    clocks = [zk_clock(store) for _ in range(3)]
    store.add_worker(employee_id="E77")
    e, beats = edge(store, attlog_batch_limit=8, attlog_concurrency=1)
    devices = [await e.device(f"SN{c[:6]}") for c in clocks]
    line = "E77\t2026-03-02 09:00:00\t0\t1\t0\t0\t0\n"
    received = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)
    before = store.commits
    counts = await asyncio.gather(
        *(e.attlog(d, line, "7", received) for d in devices),
        *(e.attlog(d, line + line, "8", received) for d in devices),
    )
    # Each record is new once, whichever upload of the batch carried it first.
    assert sorted(counts) == [0, 0, 0, 1, 1, 1]
    assert len(verdicts(store)) == 3
    assert store.commits - before == store.attlog_statements < 6
    # A clock twice in a batch ends as the uploads one after the other leave it.
    assert all(store.zk_state[c]["ATTLOG"] == "8" for c in clocks)


def test_saves_of_a_clock_twice_in_a_batch_merge_in_order():
    t1, t2 = datetime(2026, 3, 2, 8, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC)
    merged = zk.merge_saves(
        [
            zk.AttlogSave("c1", "5", t2, 3.0, False),
            zk.AttlogSave("c2", "1", t1),
            zk.AttlogSave("c1", None, t1, None, None),
            zk.AttlogSave("c1", "6", None, 200.0, True),
        ]
    )
    assert merged == [zk.AttlogSave("c1", "6", t2, 200.0, True), zk.AttlogSave("c2", "1", t1)]


async def test_the_front_served_before_the_app_finds_the_edge_in_the_app_it_wraps():
    store = Store()
    clock_id = zk_clock(store)
    e, beats = edge(store)
    serial = f"SN{clock_id[:6]}"
    device = await e.device(serial)
    await e.poll(device, None, "")
    routed: list[str] = []

    class App:  # what the kit serves behind the front: FastAPI, its state the container
        state = SimpleNamespace(device_sync=SimpleNamespace(zk=e))

        async def __call__(self, scope, receive, send):
            routed.append(scope["path"])

    front = FastPath(App())
    scope = _scope(f"SN={serial}".encode(), None)
    del scope["app"]  # uvicorn sets none: Starlette would, inside the app
    sent = []

    async def send(message):
        sent.append(message)

    await front(scope, None, send)
    assert routed == [] and sent[0]["status"] == 200 and sent[1]["body"] == b"OK"
    await front({**scope, "path": "/iclock/ping"}, None, send)
    assert routed == ["/iclock/ping"]


async def test_firmwares_aspx_paths_are_the_routes_own():
    store = Store()
    clock_id = zk_clock(store)
    store.add_worker(employee_id="E79")
    e, beats = edge(store)
    app = SimpleNamespace(state=SimpleNamespace(device_sync=SimpleNamespace(zk=e)))
    serial = f"SN{clock_id[:6]}"
    device = await e.device(serial)
    await e.poll(device, None, "")
    front = FastPath(None)
    # The common poll and an ATTLOG upload, as x2008-style firmware asks for them.
    sent, routed = await _call(
        front, _scope(f"SN={serial}".encode(), app, "/iclock/getrequest.aspx")
    )
    assert routed == [] and sent[1]["body"] == b"OK"
    upload = _scope(f"SN={serial}&table=ATTLOG&Stamp=9".encode(), app, "/iclock/cdata.aspx", "POST")
    sent, routed = await _call(front, upload, [b"E79\t2026-03-02 09:00:00\t0\t1\t0\n"])
    assert routed == [] and sent[1]["body"] == b"OK" and len(verdicts(store)) == 1
    # Everything else reaches the routes as their own path; other paths are left alone.
    for given, expected in (
        ("/iclock/cdata.aspx", "/iclock/cdata"),
        ("/iclock/devicecmd.aspx", "/iclock/devicecmd"),
        ("/iclock/ping.aspx", "/iclock/ping"),
        ("/iclock/other.aspx", "/iclock/other.aspx"),
        ("/iclock/cdata.aspx/x", "/iclock/cdata.aspx/x"),
        ("/clock/v1/cdata.aspx", "/clock/v1/cdata.aspx"),
    ):
        sent, routed = await _call(front, _scope(b"SN=NOBODY", app, given))
        assert routed == [expected], given
