"""Benchmark: per-frame face identification latency on CPU.

For kiosk-sized frames (640 px long side, JPEG), in the same run:

1. face-match's pipeline (``FacePipeline.analyse`` on one frame at a time, as a kiosk attempt
   arrives): decode, detect, align, embed, plus the 1:N search in a gallery of 1,000 workers;
   p50 / p95 of each stage and of the whole;
2. the same frames through the service's engine (a model worker process, as deployed): adds
   the hand-over between processes;
3. a micro-batch of 8 frames in one call: time per frame;
4. the baseline: ``DeepFace.represent(path, model_name="Dlib", detector_backend="dlib")`` with
   DeepFace's other settings left at their defaults, on the same frames.

Frames: the labelled photos in ../shared/faces (PUNCHCARD_FACES_DIR) resized to 640 px, or
scikit-image's astronaut where that folder is absent. Target (issue 6): p50 <= 150 ms and
p95 <= 300 ms per frame.

Prints a table and writes bench/results/face_frame.json.
    .venv/bin/python bench/face_frame.py [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import support
from support import ROOT
from support import percentile as pct

os.environ.setdefault("DEEPFACE_HOME", str(ROOT / ".local" / "deepface"))

from tests.support import face as faces  # noqa: E402


def frames() -> tuple[list[bytes], str]:
    if (faces.FACES_DIR / "identities.csv").is_file():
        return [faces.photo(file) for file, _ in faces.identities()], str(faces.FACES_DIR)
    return [faces.astronaut(640), faces.mirrored(faces.astronaut(640))], "skimage astronaut"


def run_pipeline(pipeline, jpegs: list[bytes], rounds: int, gallery):
    # The pipeline's stages in their order (a stage it times that is not named here is
    # printed too, after these).
    stages: dict[str, list[float]] = {
        k: [] for k in ("decode", "detect", "align", "liveness", "embed", "search", "total")
    }
    for _ in range(rounds):
        for jpeg in jpegs:
            started = time.perf_counter()
            [face] = pipeline.analyse([jpeg])
            if support.face_found(face):
                searched = time.perf_counter()
                gallery.search(face.embedding)
                face.timings["search"] = (time.perf_counter() - searched) * 1000
            for stage, ms in face.timings.items():
                stages.setdefault(stage, []).append(ms)
            stages["total"].append((time.perf_counter() - started) * 1000)
    return stages


async def run_engine(jpegs: list[bytes], rounds: int) -> list[float]:
    engine = support.face_engine(model_name="Dlib", detector="dlib", detect_max_side=640, workers=1)
    await engine.start()
    try:
        times = []
        for _ in range(rounds):
            for jpeg in jpegs:
                started = time.perf_counter()
                await engine.analyse([jpeg])
                times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        engine.close()


def run_batch(pipeline, jpegs: list[bytes], rounds: int) -> list[float]:
    per_frame = []
    for _ in range(rounds):
        for i in range(0, len(jpegs) - 7, 8):
            started = time.perf_counter()
            pipeline.analyse(jpegs[i : i + 8])
            per_frame.append((time.perf_counter() - started) * 1000 / 8)
    return per_frame


def run_deepface(jpegs: list[bytes], rounds: int) -> list[float]:
    from deepface import DeepFace  # after FacePipeline: TensorFlow's settings are in place

    times = []
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, jpeg in enumerate(jpegs):
            path = Path(folder) / f"frame{i}.jpg"
            path.write_bytes(jpeg)
            paths.append(str(path))
        DeepFace.represent(paths[0], model_name="Dlib", detector_backend="dlib")  # warm-up
        for _ in range(rounds):
            for path in paths:
                started = time.perf_counter()
                try:
                    DeepFace.represent(path, model_name="Dlib", detector_backend="dlib")
                except ValueError:  # no face found: DeepFace raises; still a frame's cost
                    pass
                times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = support.parse_args(parser, "face_frame", quick={"rounds": 1})
    jpegs, source = frames()
    pipeline = support.face_pipeline()
    pipeline.analyse(jpegs[:2])  # warm-up
    rng = np.random.default_rng(7)
    gallery = support.face_gallery("Dlib", 128)
    for w in range(1000):
        gallery.upsert(f"w{w}", (rng.normal(0, 0.06, (2, 128))).astype(np.float32), 1)

    stages = run_pipeline(pipeline, jpegs, args.rounds, gallery)
    engine = asyncio.run(run_engine(jpegs, args.rounds))
    batch = run_batch(pipeline, jpegs, args.rounds)
    deepface = run_deepface(jpegs, max(1, args.rounds - 1))

    rows = [(f"pipeline: {k}", v) for k, v in stages.items()]
    rows += [
        ("engine (worker process), per frame", engine),
        ("micro-batch of 8, per frame", batch),
        ("DeepFace.represent (Dlib, dlib), per frame", deepface),
    ]
    print(f"\nface frame latency, {len(jpegs)} frames of 640 px from {source}, CPU")
    print(
        f"{'what':<44} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'p99/p50':>8}"
        f" {'mean ms':>9}"
    )
    result = {"frames": len(jpegs), "source": source, "rows": {}}
    for name, values in rows:
        p50, p95, p99 = pct(values, 50), pct(values, 95), pct(values, 99)
        mean = statistics.fmean(values) if values else float("nan")
        ratio = p99 / p50 if p50 else float("nan")
        print(
            f"{name:<44} {len(values):>5} {p50:>9.1f} {p95:>9.1f} {p99:>9.1f} {ratio:>8.1f}"
            f" {mean:>9.1f}"
        )
        result["rows"][name] = {
            "n": len(values),
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
            "p99_over_p50": round(ratio, 1),
            "mean_ms": mean,
        }
    speedup = pct(deepface, 50) / pct(stages["total"], 50)
    print(f"\nspeed-up over DeepFace.represent at p50: {speedup:.1f}x")
    print("target: pipeline total p50 <= 150 ms, p95 <= 300 ms")
    result["speedup_p50"] = speedup
    support.write_result(args.out, result)


if __name__ == "__main__":
    main()
