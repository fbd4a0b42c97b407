"""punch's reports read the punches and attempts they report, not the tenant's whole ledger:
each statement runs prepared, with custom and generic plans, under the service's role, on two
analysed tenants' ledgers.

- A site's timesheets (``_EFFECTIVE_AT_SITE``): the workers who punched at the site lead to
  their punches. Written as ``$6 IS NULL OR worker_id IN (...)``, PostgreSQL could not join
  the subquery, and every site's report read the tenant's whole range (14,000 rows here for
  the site's 70).
- Refused face attempts at the report's clocks (``_FACE_FAILURES``): through the partial index
  of refused attempts (migration 0010), not every attempt the tenant made."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from punchcard_punch.views import _EFFECTIVE_AT_SITE, _FACE_FAILURES, FACE_FAILURE_REASONS

from tests.support.plans import as_tenant, touched

WORKERS = 1_000  # a tenant's, SMALL_SITE of them at the small site
SMALL_SITE = 5
PER_WORKER = 30  # punches each, a day apart
CLOCKS = 20

# Each worker's punches, a day apart; the first SMALL_SITE workers punch at site 'small',
# the others at 'big', each at one of CLOCKS clocks. Every punch has its attempt, recorded;
# every fifth worker's face was refused once a day, a minute before, at the same clock.
_FILL = """
INSERT INTO punches (id, tenant_id, kind, worker_id, employee_id, display_name, method,
                     direction, punched_at, attempt_id, clock_id, site_id)
SELECT gen_random_uuid(), $1, 'RECORDED', w, 'E' || n, 'W' || n, 'PIN',
       CASE WHEN p % 2 = 0 THEN 'OUT' ELSE 'IN' END,
       $3::timestamptz - make_interval(days => p), gen_random_uuid(), ($4::uuid[])[1 + n % $5],
       CASE WHEN n <= $6 THEN 'small' ELSE 'big' END
FROM unnest($2::uuid[]) WITH ORDINALITY AS w(w, n), generate_series(1, $7) AS p
"""
_DECIDE = """
INSERT INTO attempts (tenant_id, attempt_id, clock_id, outcome, punch_id, event_type, event,
                      decided_at)
SELECT tenant_id, attempt_id, clock_id, 'RECORDED', id, 'test.v1', '\\x00'::bytea, punched_at
FROM punches WHERE tenant_id = $1
"""
_REFUSE = """
INSERT INTO attempts (tenant_id, attempt_id, clock_id, outcome, reason, event_type, event,
                      decided_at)
SELECT tenant_id, gen_random_uuid(), clock_id, 'REJECTED', 'NO_MATCH', 'test.v1',
       '\\x00'::bytea, punched_at - interval '1 minute'
FROM punches
WHERE tenant_id = $1 AND employee_id ~ '^E[0-9]*[05]$'
"""


@pytest.fixture(scope="module")
async def ledger(punch):
    """Two tenants' ledgers, analysed; the first tenant, one of its clocks, and now."""
    now = datetime.now(UTC)
    admin = await asyncpg.connect(punch.admin_url)
    try:
        tenants = [uuid.uuid4(), uuid.uuid4()]
        clocks = {t: [uuid.uuid4() for _ in range(CLOCKS)] for t in tenants}
        for tenant in tenants:
            workers = [uuid.uuid4() for _ in range(WORKERS)]
            await admin.execute(
                _FILL, tenant, workers, now, clocks[tenant], CLOCKS, SMALL_SITE, PER_WORKER
            )
            await admin.execute(_DECIDE, tenant)
            await admin.execute(_REFUSE, tenant)
        await admin.execute("ANALYZE punches")
        await admin.execute("ANALYZE attempts")
        tenant, clock = tenants[0], clocks[tenants[0]][0]
        refused = await admin.fetchval(
            "SELECT count(*) FROM attempts WHERE tenant_id = $1 AND clock_id = $2"
            " AND outcome = 'REJECTED' AND decided_at >= $3 AND decided_at < $4",
            tenant,
            clock,
            now - timedelta(days=14),
            now,
        )
    finally:
        await admin.close()
    return tenant, clock, now, refused


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_a_sites_report_reads_its_workers_punches(ledger, owner_conn, mode):
    tenant, _, now, _ = ledger
    # Two weeks: the small site's 5 workers have 14 punches each in it, the tenant 14,000.
    args = [tenant, now - timedelta(days=14), now, None, None, ["small"]]
    types = "uuid, timestamptz, timestamptz, uuid, text[], text[]"
    rows = await touched(owner_conn, _EFFECTIVE_AT_SITE, types, args, mode, as_tenant(tenant))
    # Each step over the site's 70 punches and its 5 workers (a sort, a probe for a VOID);
    # a read of the tenant's range is 14,000 rows.
    assert rows < SMALL_SITE * 14 * 20, rows


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_face_failures_read_the_clocks_refusals(ledger, owner_conn, mode):
    tenant, clock, now, refused = ledger
    # One clock, two weeks: its refusals (700), of the tenant's 36,000 attempts.
    args = [tenant, list(FACE_FAILURE_REASONS), [clock], now - timedelta(days=14), now]
    types = "uuid, text[], uuid[], timestamptz, timestamptz"
    rows = await touched(owner_conn, _FACE_FAILURES, types, args, mode, as_tenant(tenant))
    assert rows < refused * 5, (rows, refused)


async def test_the_reports_statements_find_their_rows(ledger, owner_conn):
    tenant, clock, now, expected = ledger
    start = now - timedelta(days=14)
    async with owner_conn.transaction():
        await as_tenant(tenant)(owner_conn)
        punches = await owner_conn.fetch(
            _EFFECTIVE_AT_SITE, tenant, start, now, None, None, ["small"]
        )
        refused = await owner_conn.fetch(
            _FACE_FAILURES, tenant, list(FACE_FAILURE_REASONS), [clock], start, now
        )
    assert len({r["worker_id"] for r in punches}) == SMALL_SITE
    assert {r["site_id"] for r in punches} == {"small"}
    assert len(punches) == SMALL_SITE * 14
    assert len(refused) == expected > 0
    assert all(start <= r["decided_at"] < now for r in refused)
    assert {r["clock_id"] for r in refused} == {str(clock)}
