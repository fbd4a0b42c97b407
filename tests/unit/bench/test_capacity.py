"""bench/capacity.py's queueing model (docs/capacity.md): Erlang C and the M/M/c wait
quantiles it plans with, checked against values computed by hand and against the limits every
queue must respect."""

from __future__ import annotations

import math
import sys
from argparse import Namespace
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import capacity  # noqa: E402


def test_erlang_c_matches_the_textbook_values():
    # One server: an arrival waits with probability rho (M/M/1).
    assert capacity.erlang_c(1, 0.5) == pytest.approx(0.5)
    # Two servers, 1 Erlang: C = 1/3 (by hand: B = 0.2, C = B / (1 - 0.5 * 0.8)).
    assert capacity.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert capacity.erlang_c(2, 2.0) == 1.0  # unstable: everyone waits
    assert capacity.erlang_c(3, 0.0) == 0.0


def test_the_wait_quantile_is_the_exponential_tail_of_mm1():
    # M/M/1, rate 5/s, service 0.1 s: P(W > t) = 0.5 e^{-5t}; p99 = ln(50)/5.
    assert capacity.wait_quantile(5, 0.1, 1, 0.99) == pytest.approx(math.log(50) / 5)
    # Below the waiting probability, the quantile is no wait at all.
    assert capacity.wait_quantile(5, 0.1, 1, 0.4) == 0.0
    assert capacity.wait_quantile(20, 0.1, 1, 0.99) == math.inf


def test_replicas_respect_utilisation_and_the_tail_budget():
    # 100/s of 28 ms on 2 lanes each at <= 70 %: 2.8 Erlangs need 2 replicas (4 lanes, 70 %).
    assert capacity.replicas_needed(100, 0.028, 2, 10.0, 0.7) == 2
    # A tight p99 budget needs more than utilisation alone asks for.
    tight = capacity.replicas_needed(100, 0.028, 2, 0.035, 0.7)
    assert tight > 2
    assert capacity.time_in_stage(100, 0.028, tight * 2, 0.99) <= 0.035
    assert capacity.replicas_needed(0, 0.028, 2, 0.1, 0.7) == 0
    with pytest.raises(ValueError):
        capacity.replicas_needed(1, 0.2, 1, 0.1, 0.7)  # the service alone is over budget


def test_partitions_cover_the_replicas_in_steps_of_twelve():
    assert capacity.partitions_for(3) == 12
    assert capacity.partitions_for(13) == 24
    assert capacity.partitions_for(47) == 48


def test_the_plan_gives_every_stage_its_replicas_and_partitions():
    args = Namespace(
        peak=50_000,
        pin_share=0.25,
        device_share=0.15,
        frames_per_face=1.0,
        zk_clocks=100_000,
        zk_poll_s=10.0,
        max_util=0.7,
    )
    rows = {r["name"].split(":")[0]: r for r in capacity.plan(args, dict(capacity.DEFAULTS))}
    assert rows["identity"]["rate_per_s"] == 12_500
    assert rows["punch"]["rate_per_s"] == 50_000
    assert rows["device-sync"]["rate_per_s"] == 10_000
    assert rows["device-sync"]["partitions"] is None  # HTTP, not a consumer group
    for row in rows.values():
        assert row["utilisation"] <= 0.7
        assert row["partitions"] is None or row["partitions"] >= row["replicas"]
