"""device-sync writes ATTLOG uploads in group commits: its collector runs less often than
Python's (GC_GEN0_THRESHOLD, docs/device-sync.md, eighth pass)."""

from punchcard_device_sync.settings import DeviceSyncSettings
from punchcard_kit.settings import BATCH_GC_GEN0_THRESHOLD


def test_device_sync_collects_as_a_batch_service(monkeypatch):
    monkeypatch.delenv("GC_GEN0_THRESHOLD", raising=False)
    assert DeviceSyncSettings(environment="test").gc_gen0_threshold == BATCH_GC_GEN0_THRESHOLD
