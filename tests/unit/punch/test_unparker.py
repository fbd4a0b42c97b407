"""The unparker on fakes: a parked verdict is decided once punch knows its worker, one parked
too long is dead-lettered, and a tenant another replica holds is left alone."""

from __future__ import annotations

import uuid
from datetime import timedelta

from punchcard_punch.domain.decisions import Policy
from punchcard_punch.service_layer.ingest import Ingest
from punchcard_punch.service_layer.parking import Unparker

from .fakes import FakeParkedVerdicts, Store
from .test_ingest_use_cases import CLOCK, TENANT, decide, verdict


def unparker(store: Store, **kw) -> Unparker:
    return Unparker(
        FakeParkedVerdicts(store, **kw),
        Ingest(Policy()),
        group_id="punch",
        max_age=timedelta(hours=1),
    )


async def parked_store() -> tuple[Store, str]:
    store = Store()
    store.clock(TENANT, CLOCK, site_id="site-1", time_zone="UTC")
    stranger = str(uuid.uuid4())
    await decide(store, verdict(stranger, age=timedelta(minutes=5)))
    assert len(store.parked) == 1
    return store, stranger


async def test_a_parked_verdict_is_decided_once_its_worker_is_known():
    store, stranger = await parked_store()
    assert await unparker(store).run_once() == 0  # still unknown, not yet too old
    assert len(store.parked) == 1 and not store.punches
    store.worker(TENANT, stranger)
    store.assignments.add((TENANT, CLOCK, stranger))
    assert await unparker(store).run_once() == 1
    assert not store.parked
    (row,) = store.punches
    assert row["worker_id"] == stranger and store.attempts[0]["outcome"] == "RECORDED"


async def test_a_verdict_parked_too_long_is_dead_lettered():
    store, _ = await parked_store()
    store.parked[0]["parked_at"] -= timedelta(hours=2)
    assert await unparker(store).run_once() == 1
    assert not store.parked and not store.punches
    (letter,) = [item[2] for item in store.published]
    assert letter.topic == "punch.dlq"


async def test_a_tenant_another_replica_holds_is_left_alone():
    store, stranger = await parked_store()
    store.worker(TENANT, stranger)
    assert await unparker(store, locked=frozenset({TENANT})).run_once() == 0
    assert len(store.parked) == 1
