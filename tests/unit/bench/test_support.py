"""The statistics, tables and argument handling every benchmark shares (bench/support.py)."""

from __future__ import annotations

import argparse
import math

import pytest

from bench import support


def test_pct_is_the_nearest_rank_of_a_measured_value() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100, shuffled order does not matter
    assert support.pct(list(reversed(values)), 0.0) == 1.0
    assert support.pct(values, 0.5) == 51.0  # round(49.5) = 50 (banker's), index 50
    assert support.pct(values, 0.99) == 99.0
    assert support.pct(values, 1.0) == 100.0
    assert support.pct([7.0], 0.99) == 7.0


def test_percentile_interpolates_as_numpy_does() -> None:
    np = pytest.importorskip("numpy")
    values = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0]
    for p in (0, 10, 50, 90, 95, 99, 100):
        assert support.percentile(values, p) == pytest.approx(float(np.percentile(values, p)))
    assert math.isnan(support.percentile([], 50))


def test_summary_of_latencies() -> None:
    assert support.summary([]) == {
        "n": 0,
        "p50_ms": None,
        "p99_ms": None,
        "max_ms": None,
        "p99_over_p50": None,
    }
    s = support.summary([10.0, 20.0, 30.0, 40.0])
    assert s == {
        "n": 4,
        "p50_ms": 25.0,
        "p90_ms": 40.0,
        "p99_ms": 40.0,
        "max_ms": 40.0,
        "mean_ms": 25.0,
        "p99_over_p50": 1.6,
    }


def test_tails_are_printed_as_p99_over_p50() -> None:
    assert support.tail_ratio(20.0, 61.0) == 3.0
    assert support.tail_ratio(None, 61.0) is None
    assert support.tail_ratio(0.0, 1.0) is None
    assert support.p50_p99(20.0, 61.0) == "20.0/61.0 (x3)"
    assert support.p50_p99(None, None) == "None/None"


def test_table_aligns_labels_and_values() -> None:
    text = support.table([("fan-out (s)", 1.234), ("clocks", 1000)], width=14, value_width=6)
    assert text.splitlines() == [
        "metric          value",
        "fan-out (s)     1.234",
        "clocks           1000",
    ]


def test_quick_shrinks_what_was_left_at_its_default_and_writes_elsewhere(monkeypatch) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clocks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15)
    monkeypatch.setattr("sys.argv", ["bench", "--quick", "--seconds", "4"])
    args = support.parse_args(parser, "device_sync", quick={"clocks": 50, "seconds": 3})
    assert (args.clocks, args.seconds) == (50, 4)
    assert args.out.endswith("bench/results/device_sync.quick.json")

    monkeypatch.setattr("sys.argv", ["bench"])
    args = support.parse_args(argparse.ArgumentParser(), "device_sync", quick={})
    assert args.out.endswith("bench/results/device_sync.json") and not args.quick


def test_machine_cpu_counts_busy_within_total() -> None:
    busy, total = support.machine_cpu()
    assert 0 <= busy <= total
    assert support.cpu_seconds(2**22 + 12345) == 0.0  # no such process


def test_the_in_process_components_still_resolve() -> None:
    """When a service moves one of the pieces a micro-benchmark runs in process, this fails and
    names bench/support.py, the one file to change (not a benchmark at `make bench` time)."""
    verdicts = support.punch_ingest("bench.ledger.test.punches")
    assert callable(verdicts.handler) and verdicts.transient and verdicts.idempotent_handler
    parts = support.punch_ledger_parts()
    assert callable(parts.decide) and parts.PUNCH_COLUMNS and parts.APP_ROLE
    _, params = support.identity_default_hasher()
    assert set(params) == {"memory_kib", "time_cost", "parallelism"}
    assert support.identity_accepts_pin("582039", "B0001") is True
    hasher = support.identity_pin_hasher({"k": b"0" * 32}, "k")
    assert callable(hasher.verify)
    assert support.face_gallery("Dlib", 128).search is not None
    assert support.face_found(type("Face", (), {"outcome": "nothing"})()) is False
    engine = support.face_engine(model_name="Dlib", detector="dlib", detect_max_side=640, workers=1)
    assert engine.workers == 1  # not started: no model worker process
    # face_pipeline() loads the models (seconds): face-match's own tests cover FacePipeline.


async def test_open_loop_calls_a_plain_function_in_place_and_awaits_coroutines() -> None:
    called: list[int] = []

    def plain(i: int) -> int:
        called.append(i)
        return i * 10

    results, offered, _ = await support.open_loop(1000.0, 5, plain)
    assert results == [0, 10, 20, 30, 40] and called == [0, 1, 2, 3, 4] and offered > 0

    async def awaited(i: int) -> int:
        return -i

    results, _, _ = await support.open_loop(1000.0, 3, awaited)
    assert results == [0, -1, -2]
