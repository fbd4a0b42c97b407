"""Benchmark: the face embedding alone — dlib's ResNet in dlib vs the same network as face-match's
Keras model (FACE_MODEL=DlibKeras, TensorFlow on the CPU), at batch 1, 8 and 32.

Input: the aligned 150 px chips (dlib's get_face_chip, as face-match's pipeline makes them) of
the sample photos (../shared/faces, PUNCHCARD_FACES_DIR) or, where absent, of scikit-image's
astronaut, mirrored and shifted to make 32 different chips. The same batches go to
``compute_face_descriptor`` (dlib's batched call, no jitter) and to the Keras model, call
after call in turn (dlib, Keras, dlib, Keras...), so that both see the same load on a machine
that is shared: the load and how busy the machine was are printed with the numbers.

Per batch size and engine: faces/s (faces embedded / time spent in the calls) and the p50 /
p99 latency of one call (one batch). Both engines use every core of the machine as their
libraries do by default (dlib's BLAS; TensorFlow's thread pools); run it with
``OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1`` for one thread each, as
face-match's model workers run (one per core). The largest difference
between the two engines' embeddings is printed too (it must stay under 1e-4).

Target (issue 19): the Keras model at batch 32 >= 2x dlib's per-face throughput (faces/s).

Prints a table and writes bench/results/face_embedding.json.
    .venv/bin/python bench/face_embedding.py [--batches 1,8,32] [--faces 128] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import dlib
import numpy as np
import support

FACES_DIR = Path(os.environ.get("PUNCHCARD_FACES_DIR", support.ROOT.parent / "shared" / "faces"))
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"


def chips(folder: Path, wanted: int) -> tuple[list[np.ndarray], str]:
    """``wanted`` aligned RGB chips (repeating the available ones where fewer) and their source."""
    detector = dlib.get_frontal_face_detector()
    landmarks = dlib.shape_predictor(str(folder / LANDMARKS_FILE))

    def chip_of(rgb: np.ndarray) -> np.ndarray | None:
        found = sorted(detector(rgb, 1), key=lambda r: r.area(), reverse=True)
        if not found:
            return None
        return dlib.get_face_chip(rgb, landmarks(rgb, found[0]), size=150, padding=0.25)

    out: list[np.ndarray] = []
    if (FACES_DIR / "identities.csv").is_file():
        source = f"the sample photos in {FACES_DIR}"
        for line in (FACES_DIR / "identities.csv").read_text().splitlines()[1:]:
            image = cv2.imread(str(FACES_DIR / line.split(",")[0]))
            if image is not None and (chip := chip_of(image[:, :, ::-1].copy())) is not None:
                out.append(chip)
    else:
        from skimage import data

        source = "scikit-image's astronaut (mirrored and shifted)"
        base = chip_of(data.astronaut())
        assert base is not None
        for i in range(wanted):
            shifted = np.roll(base, (i % 8) - 4, axis=1)
            out.append(np.ascontiguousarray(shifted[:, ::-1] if i % 2 else shifted))
    return [out[i % len(out)] for i in range(max(wanted, len(out)))], source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--faces", type=int, default=128, help="faces per engine and batch size")
    args = support.parse_args(parser, "face_embedding", quick={"faces": 16})
    batches = [int(b) for b in args.batches.split(",")]
    folder = support.face_weights_folder()
    all_chips, source = chips(folder, max(batches))
    dlib_model = dlib.face_recognition_model_v1(str(folder / MODEL_FILE))
    keras_model = support.face_dlib_keras()

    def by_dlib(batch: list[np.ndarray]) -> np.ndarray:
        return np.asarray(dlib_model.compute_face_descriptor(batch, 0), dtype=np.float32)

    engines = {"dlib": by_dlib, "keras": keras_model.embed}
    # Equality first (the same chips through both): the numbers compare the same work.
    difference = float(np.abs(by_dlib(all_chips) - keras_model.embed(all_chips)).max())

    load_start = [round(x, 2) for x in os.getloadavg()]
    result: dict = {
        "machine": support.machine_info(),
        "source": source,
        "distinct_chips": len({c.tobytes() for c in all_chips}),
        "max_abs_difference": difference,
        "threads_env": {
            name: os.environ.get(name)
            for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
        },
        "batches": {},
    }
    for size in batches:
        batch = all_chips[:size]
        for embed in engines.values():  # warm-up: TensorFlow traces the graph per batch size
            embed(batch)
            embed(batch)
        calls = max(5, -(-args.faces // size))
        times: dict[str, list[float]] = {name: [] for name in engines}
        before = support.machine_cpu()
        for _ in range(calls):
            for name, embed in engines.items():
                started = time.perf_counter()
                embed(batch)
                times[name].append((time.perf_counter() - started) * 1000)
        busy = support.busy_pct_since(before)
        row: dict = {"calls": calls, "machine_busy_pct": busy, "load_average": os.getloadavg()[0]}
        for name, ms in times.items():
            row[name] = {
                "faces_per_s": round(size * len(ms) / (sum(ms) / 1000), 1),
                "p50_ms": round(support.percentile(ms, 50), 1),
                "p99_ms": round(support.percentile(ms, 99), 1),
            }
        row["keras_over_dlib"] = round(row["keras"]["faces_per_s"] / row["dlib"]["faces_per_s"], 2)
        result["batches"][str(size)] = row
    result["load_average_start_end"] = [load_start, [round(x, 2) for x in os.getloadavg()]]

    print(f"\nface embedding, dlib vs Keras (TensorFlow CPU), {os.cpu_count()} cores; {source}")
    print(f"max abs difference between the two embeddings: {difference:.1e}")
    header = f"{'batch':>5} {'engine':<6} {'faces/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'p99/p50':>8}"
    header += f" {'calls':>6}"
    print(header + f" {'busy %':>7} {'keras/dlib':>11}")
    for size, row in result["batches"].items():
        for name in engines:
            cells = row[name]
            line = f"{size:>5} {name:<6} {cells['faces_per_s']:>9} {cells['p50_ms']:>9}"
            ratio = support.tail_ratio(cells["p50_ms"], cells["p99_ms"])
            line += f" {cells['p99_ms']:>9} {ratio!s:>8} {row['calls']:>6}"
            line += f" {row['machine_busy_pct']:>7}"
            print(line + (f" {row['keras_over_dlib']:>10}x" if name == "keras" else ""))
    print(
        f"load average (1 min) at start {load_start[0]}, at end {os.getloadavg()[0]:.2f} "
        f"(this machine is shared: other work counts in 'busy %')"
    )
    if "32" in result["batches"]:
        ratio = result["batches"]["32"]["keras_over_dlib"]
        met = "met" if ratio >= 2 else "NOT met"
        print(f"target: Keras at batch 32 >= 2x dlib's faces/s: {ratio}x ({met})")
        result["target_met"] = ratio >= 2
    support.write_result(args.out, result)


if __name__ == "__main__":
    main()
