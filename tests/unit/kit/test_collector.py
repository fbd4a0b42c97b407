"""Once started, a service freezes what start-up built and collects cycles less often
(``punchcard_kit.service.freeze_start_up``, GC_GEN0_THRESHOLD)."""

import gc

import pytest
from punchcard_kit.service import GC_OLDER_THRESHOLDS, Runtime, freeze_start_up
from punchcard_kit.settings import ServiceSettings


@pytest.fixture
def collector():
    """The test process's collector as it was, afterwards."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_start_up_is_frozen_and_the_threshold_set(collector):
    gc.unfreeze()
    built_at_start_up = [object() for _ in range(10)]  # a container the collector tracks
    assert gc.is_tracked(built_at_start_up)
    before = gc.get_freeze_count()

    freeze_start_up(12_345)

    assert gc.get_freeze_count() > before  # what start-up built is out of the collector's way
    assert gc.get_threshold() == (12_345, *GC_OLDER_THRESHOLDS)


def test_the_runtime_uses_the_services_setting(collector, monkeypatch):
    monkeypatch.setenv("GC_GEN0_THRESHOLD", "20000")
    settings = ServiceSettings(service_name="collector-test", environment="test")
    Runtime(settings=settings, pool=None).freeze_start_up()
    assert gc.get_threshold()[0] == 20_000


def test_the_default_is_above_pythons_and_bounded():
    default = ServiceSettings.model_fields["gc_gen0_threshold"].default
    assert default > 700  # Python's own: a batch's objects walked by many collections
    with pytest.raises(ValueError):
        ServiceSettings(service_name="collector-test", environment="test", gc_gen0_threshold=0)
