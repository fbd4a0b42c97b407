"""bench/ledger_ingest.py judges its target on the variant run as punch is deployed."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # a bench runs as a script: `import support`

import ledger_ingest  # noqa: E402


def variant(**overrides) -> dict:
    deployed = {
        "variant": "kit-500x1l3r",
        "consumer": "kit",
        "max_batch": 500,
        "replicas": 1,
        "lanes": 3,
        "relay": "own process",
        "record_ids": False,
        "event_loop": "uvloop (as the services)",
        "collector": "as the services",
        "punches_per_s": 10_400.0,
    }
    return {**deployed, **overrides}


def test_the_target_is_judged_on_the_variant_as_deployed():
    results = [
        variant(variant="kit-500x1l1", lanes=1, relay="same process as the consumer"),
        variant(variant="kit-500x1l3ri", record_ids=True, punches_per_s=12_000.0),
        variant(variant="kit-500x1l2r", lanes=2, punches_per_s=9_000.0),
        variant(variant="kit-2000x2l1r", max_batch=2000, replicas=2, punches_per_s=13_000.0),
        variant(variant="kit-500x1l3ra", event_loop="asyncio", punches_per_s=11_000.0),
        variant(
            variant="kit-500x1l3rg", collector="Python's own, nothing frozen", punches_per_s=9e3
        ),
        variant(),
        {"variant": "naive", "consumer": "naive", "punches_per_s": 115.0},
    ]
    assert ledger_ingest.as_deployed(results)["variant"] == "kit-500x1l3r"
    assert ledger_ingest.DEPLOYED_LANES == 3  # as the manifests run punch (tests.support)


def test_without_that_variant_there_is_no_verdict():
    others = [variant(variant="kit-2000x1l3r", max_batch=2000), variant(punches_per_s=None)]
    assert ledger_ingest.as_deployed(others) is None
