"""punch decides verdicts in batches of hundreds: its collector runs less often than Python's
(GC_GEN0_THRESHOLD, docs/capacity.md "The collector")."""

import pytest
from punchcard_kit.settings import BATCH_GC_GEN0_THRESHOLD
from punchcard_punch.settings import PunchSettings


def test_punch_collects_as_a_batch_service(monkeypatch):
    monkeypatch.delenv("GC_GEN0_THRESHOLD", raising=False)
    assert PunchSettings(environment="test").gc_gen0_threshold == BATCH_GC_GEN0_THRESHOLD
    monkeypatch.setenv("GC_GEN0_THRESHOLD", "700")
    assert PunchSettings(environment="test").gc_gen0_threshold == 700
    with pytest.raises(ValueError):
        PunchSettings(environment="test", gc_gen0_threshold=10_000_000)
