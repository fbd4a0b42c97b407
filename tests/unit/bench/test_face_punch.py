"""bench/face_punch.py's own pieces: its rates argument and the per-hop breakdown (the real
path is measured by running the bench)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # a bench runs as a script: `import support`

import face_punch  # noqa: E402


def test_rates_are_positive_and_comma_separated():
    assert face_punch.rates("5,10") == [5.0, 10.0]
    assert face_punch.rates(" 2.5 ") == [2.5]
    for bad in ("", "0", "5,-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            face_punch.rates(bad)


def test_each_hop_of_a_recorded_attempt_is_measured_from_its_own_marks():
    trace = [
        {"step": "10/s", "attempt_id": "a", "sent": 100.0, "ms": 500.0, "status": "recorded"},
        {"step": "10/s", "attempt_id": "b", "sent": 100.0, "ms": 900.0, "status": "rejected"},
        {"step": "5/s", "attempt_id": "c", "sent": 100.0, "ms": 300.0, "status": "recorded"},
    ]
    times = {
        "kafka": {"a": 100.02, "b": 100.01, "c": 100.01},
        "face-match": {"a": 100.32},
        "punch": {"a": 100.40},
        "gateway": {"a": 100.45},
    }
    legs = face_punch.hops(trace, "10/s", times)
    assert legs["send_to_attempt_on_kafka"]["n"] == 1  # b was rejected, c is another step
    assert legs["send_to_attempt_on_kafka"]["p50_ms"] == pytest.approx(20, abs=0.1)
    assert legs["attempt_on_kafka_to_face_verdict"]["p50_ms"] == pytest.approx(300, abs=0.1)
    assert legs["face_verdict_to_punch_decision"]["p50_ms"] == pytest.approx(80, abs=0.1)
    assert legs["punch_to_edge_answer"]["p50_ms"] == pytest.approx(50, abs=0.1)
    assert legs["edge_answer_to_kiosk"]["p50_ms"] == pytest.approx(50, abs=0.1)
