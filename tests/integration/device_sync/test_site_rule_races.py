"""A site's rule and its workers' changes, at the same moment, on the real PostgreSQL: a worker
who becomes Active while an admin switches their site's rule on ends up on the site's clocks.
Under READ COMMITTED each transaction would miss the other's uncommitted row (the rule reads
"off", the roster reads "not Active") and the worker would be on none of them, for good: each
takes the site first (``site_rules.lock``), so the second waits for the first and reads what it
wrote."""

import asyncio
import uuid

import asyncpg
from punchcard_device_sync.adapters.postgres import PostgresUnitOfWork
from punchcard_device_sync.domain.model import WorkerStatus
from punchcard_device_sync.service_layer import projection, roster

from tests.support.databases import sessions_waiting_on_a_lock
from tests.support.device_sync import new_tenant
from tests.support.messaging import wait_for
from tests.support.stack import unique


async def _waiting_for_an_advisory_lock(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        return await sessions_waiting_on_a_lock(conn, "advisory") > 0


async def test_a_worker_made_active_while_the_rule_is_switched_on_joins_the_sites_clock(
    identity, devices
):
    tenant = await new_tenant(identity, devices)
    site = unique("site")
    ((clock_id, _),) = await tenant.clocks(1, site_id=site)
    worker_id = str(uuid.uuid4())
    pool = await asyncpg.create_pool(devices.admin_url, min_size=3, max_size=3)
    try:
        # A Pending worker of the site, as identity's event registers them here.
        await projection.register_worker(
            projection.RegisterWorker(
                worker_id=worker_id,
                event_type="test",
                employee_id=unique("E")[:20],
                display_name="Ana Pérez",
                status=WorkerStatus.PENDING,
                site_id=site,
                pin_allowed=False,
            ),
            PostgresUnitOfWork.on_pool(pool, tenant.id),
        )
        # The admin's switch: the rule set and the site's Active workers read (not this
        # worker: Pending), not committed yet.
        switch = PostgresUnitOfWork.on_pool(pool, tenant.id)
        async with switch:
            added, _ = await roster.apply_site_rule(switch, site, True, None)
            assert added == []
            # Meanwhile identity's event: the worker is Active now.
            activate = asyncio.create_task(
                projection.change_worker(
                    projection.ChangeWorkerStatus(
                        worker_id=worker_id, event_type="test", status=WorkerStatus.ACTIVE
                    ),
                    PostgresUnitOfWork.on_pool(pool, tenant.id),
                )
            )
            # It waits for the site, held by the switch, instead of reading the rule as "off"
            # and finishing (then the switch's commit would leave the worker on no clock).

            async def settled() -> bool:
                return activate.done() or await _waiting_for_an_advisory_lock(pool)

            await wait_for(settled, timeout=10, interval=0.05, what="the worker's change")
            await switch.commit()
        await asyncio.wait_for(activate, timeout=10)

        async with PostgresUnitOfWork.on_pool(pool, tenant.id) as uow:
            on_the_clock = await uow.assignments.site_rule_pairs(site_id=site)
        assert [(str(c), str(w)) for c, w in on_the_clock] == [(clock_id, worker_id)]
    finally:
        await pool.close()
