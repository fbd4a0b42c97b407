"""Once started, a service freezes what start-up built and sets the collector's threshold
(``punchcard_kit.service.freeze_start_up``, GC_GEN0_THRESHOLD): Python's own by default, raised
by the services that decide large batches."""

import gc

import pytest
from punchcard_kit.service import Runtime, freeze_start_up
from punchcard_kit.settings import (
    BATCH_GC_GEN0_THRESHOLD,
    PYTHON_GC_GEN0_THRESHOLD,
    ServiceSettings,
)


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
    older = gc.get_threshold()[1:]

    freeze_start_up(12_345)

    assert gc.get_freeze_count() > before  # what start-up built is out of the collector's way
    assert gc.get_threshold() == (12_345, *older)  # the older generations as they were


def test_the_runtime_uses_the_services_setting(collector, monkeypatch):
    monkeypatch.setenv("GC_GEN0_THRESHOLD", "20000")
    settings = ServiceSettings(service_name="collector-test", environment="test")
    Runtime(settings=settings, pool=None).freeze_start_up()
    assert gc.get_threshold()[0] == 20_000


def test_pythons_own_by_default_and_bounded(monkeypatch):
    monkeypatch.delenv("GC_GEN0_THRESHOLD", raising=False)
    assert PYTHON_GC_GEN0_THRESHOLD == 700
    assert BATCH_GC_GEN0_THRESHOLD > PYTHON_GC_GEN0_THRESHOLD
    default = ServiceSettings(service_name="collector-test", environment="test")
    assert default.gc_gen0_threshold == PYTHON_GC_GEN0_THRESHOLD
    with pytest.raises(ValueError):
        ServiceSettings(service_name="collector-test", environment="test", gc_gen0_threshold=0)
