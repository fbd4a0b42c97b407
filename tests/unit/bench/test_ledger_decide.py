"""bench/ledger_decide.py runs punch's decide path on its fakes: every verdict of the bench's
mix is decided (none parked, none waiting), and each batch is timed."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # a bench runs as a script: `import support`

import ledger_decide  # noqa: E402
import support  # noqa: E402


async def test_every_verdict_is_decided_and_each_batch_timed():
    parts = support.punch_decide_parts()
    records, known = ledger_decide._world(seed=3, verdicts=1_200)
    unit_of_work = ledger_decide._fakes(parts, known)
    written = []
    real_add = parts.add_records

    async def add_records(conn, records):
        written.extend(records)
        await real_add(conn, records)

    parts.add_records = add_records
    took = await ledger_decide._decide_all(parts, records, unit_of_work)
    assert len(took) == 3 and all(t > 0 for t in took)  # batches of 500, 500 and 200
    # An event per attempt decided (a second verdict for an attempt in the same batch decides
    # nothing), of every outcome the bench's mix makes.
    assert 1_150 < len(written) <= 1_200
    kinds = {dict(r.headers)["event-type"].rsplit(".", 1)[-1] for r in written}
    assert kinds == {"PunchRecorded", "PunchRepeated", "PunchRejected"}
