"""Benchmark: face-match's server time per kiosk face attempt, a browser-aligned crop vs the
full camera frame (issue 19, "Detection where it is cheapest").

An attempt is a burst of 3 frames (tests.support.spoof.live_burst: the photo with small
natural jitter). The same burst goes to face-match's pipeline (``FacePipeline.analyse``, as a
model worker runs it) three ways, attempt after attempt in turn so all three see the same load:

- **full frames**: 640 px JPEGs, the server detects (HOG over 640 px), aligns and embeds;
- **aligned chips, 300 px**: what the kiosk sends with ``aligned: true`` (each frame's face as a
  300 px chip in dlib's geometry, made here with dlib as a kiosk's face mesh would): the server
  checks each chip (HOG at 150 px, the 5 landmarks where the geometry puts them), aligns it
  again and embeds it;
- **aligned chips, 150 px**: the smallest chip (the re-capture check sees less in it:
  docs/face-match.md, "Aligned crops").

Per way: server ms per attempt (p50, p99), of which detection, and the bytes the kiosk sends;
the largest distance between an attempt's embedding by chip and by frame (dlib's ResNet calls
two faces one person under 0.6). Frames: the labelled photos (../shared/faces,
PUNCHCARD_FACES_DIR) at 640 px, or scikit-image's astronaut where absent.

Target: the server's time per attempt with a crop well under the full frame's (the embedding
alone plus a small check).

Prints a table and writes bench/results/face_crop.json.
    .venv/bin/python bench/face_crop.py [--rounds 3] [--model Dlib|DlibKeras] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np
import support
from support import ROOT, percentile

os.environ.setdefault("DEEPFACE_HOME", str(ROOT / ".local" / "deepface"))

from tests.support import face as faces  # noqa: E402
from tests.support.spoof import live_burst  # noqa: E402

WAYS = ("full frames", "aligned chips, 300 px", "aligned chips, 150 px")


def bursts() -> tuple[list[list[bytes]], str]:
    if (faces.FACES_DIR / "identities.csv").is_file():
        images = [faces.FACES_DIR / file for file, _ in faces.identities()]
        decoded = [cv2.imread(str(path)) for path in images]
        source = str(faces.FACES_DIR)
    else:
        decoded = [faces.astronaut_bgr()]
        source = "skimage astronaut"
    found = []
    for seed, image in enumerate(decoded):
        frame = cv2.imdecode(np.frombuffer(faces.kiosk_jpeg(image), np.uint8), cv2.IMREAD_COLOR)
        found.append(live_burst(frame, seed=seed))
    return found, source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--model",
        default="Dlib",
        help="FACE_MODEL: Dlib (dlib's ResNet in dlib) or DlibKeras (the same network in Keras, "
        "the tensorflow extra; where the embedding is cheap, detection is what a frame costs)",
    )
    args = support.parse_args(parser, "face_crop", quick={"rounds": 1})
    frames, source = bursts()
    pipeline = support.face_pipeline(args.model)
    attempts = []  # (way, jpegs, aligned)
    for burst in frames:
        if not all(support.face_found(f) for f in pipeline.signs(burst)):
            continue  # a burst the server would refuse anyway
        attempts.append(
            (
                (WAYS[0], burst, False),
                (WAYS[1], [faces.aligned_chip(f, side=300) for f in burst], True),
                (WAYS[2], [faces.aligned_chip(f, side=150) for f in burst], True),
            )
        )
    pipeline.analyse(attempts[0][0][1])  # warm-up
    ms: dict[str, list[float]] = {way: [] for way in WAYS}
    detect: dict[str, list[float]] = {way: [] for way in WAYS}
    sent: dict[str, list[int]] = {way: [] for way in WAYS}
    distance = {way: 0.0 for way in WAYS[1:]}
    busy = support.machine_cpu()
    for _ in range(args.rounds):
        for ways in attempts:
            embeddings = {}
            for way, jpegs, aligned in ways:
                started = time.perf_counter()
                found = pipeline.analyse(jpegs, [aligned] * len(jpegs))
                ms[way].append((time.perf_counter() - started) * 1000)
                detect[way].append(sum(f.timings.get("detect", 0.0) for f in found))
                sent[way].append(sum(len(j) for j in jpegs))
                embeddings[way] = found[0].embedding
            for way in WAYS[1:]:
                if embeddings[way] is not None and embeddings[WAYS[0]] is not None:
                    gap = float(np.linalg.norm(embeddings[way] - embeddings[WAYS[0]]))
                    distance[way] = max(distance[way], gap)
    busy_pct = support.busy_pct_since(busy)

    print(
        f"\nface-match server time per attempt (a burst of 3), {len(attempts)} bursts x "
        f"{args.rounds} rounds from {source}, FACE_MODEL={args.model}, CPU, machine "
        f"{busy_pct:.0f} % busy"
    )
    print(
        f"{'way':<24} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'p99/p50':>8} {'detect p50':>11} "
        f"{'KiB sent':>9} {'vs frames':>10}"
    )
    base = percentile(ms[WAYS[0]], 50)
    result = {
        "source": source,
        "model": args.model,
        "rounds": args.rounds,
        "machine_busy_pct": busy_pct,
        "ways": {},
    }
    for way in WAYS:
        p50, p99 = percentile(ms[way], 50), percentile(ms[way], 99)
        kib = float(np.mean(sent[way])) / 1024
        print(
            f"{way:<24} {len(ms[way]):>4} {p50:>8.1f} {p99:>8.1f} {p99 / p50:>8.1f} "
            f"{percentile(detect[way], 50):>11.1f} {kib:>9.1f} {base / p50:>9.2f}x"
        )
        result["ways"][way] = {
            "n": len(ms[way]),
            "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2),
            "p99_over_p50": support.tail_ratio(p50, p99),
            "detect_p50_ms": round(percentile(detect[way], 50), 2),
            "kib_sent": round(kib, 1),
            "speedup_p50": round(base / p50, 2),
        }
    for way, gap in distance.items():
        print(f"largest embedding distance, {way} vs full frame: {gap:.3f} (same person < 0.6)")
        result["ways"][way]["max_distance_to_frame"] = round(gap, 4)
    support.write_result(args.out, result)


if __name__ == "__main__":
    main()
