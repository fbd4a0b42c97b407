"""bench/face_accuracy.py on a machine without the labelled photos: it says why and exits 0,
so `make bench` (which stops at the first bench that fails) runs the benches after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_without_the_photos_it_skips_with_the_reason_and_exits_0(tmp_path):
    out = tmp_path / "face_accuracy.json"
    env = {**os.environ, "PUNCHCARD_FACES_DIR": str(tmp_path / "no-photos")}
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "face_accuracy.py"), "--quick", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "face_accuracy skipped: face photos not found in" in run.stdout
    result = json.loads(out.read_text())
    assert result["benchmark"] == "face_accuracy"
    assert str(tmp_path / "no-photos") in result["skipped"]
