"""Benchmark: 1:N face search — a kiosk's query against a tenant's in-memory gallery.

For galleries of 10k, 100k and 1M templates (128-d, like the Dlib model): build the gallery
with `Gallery.upsert_many` (a replica loading its tenants at startup; from 20k templates on,
that trains and fills the FAISS IVF-PQ fast-scan index), time single changes on it
(re-enrolments, removals, new workers, as enrolment events arrive), then run single queries one
at a time, as kiosks send them, through `Gallery.search`: p50 / p99 latency and recall@1, the
fraction of queries whose best worker is the brute-force best worker. Baseline, same run, same
gallery content: brute-force numpy search (||x||^2 - 2 q.x over one contiguous float32 matrix,
best row, then the best row of another worker), p50 / p99. Target: p99 <= 5 ms at 1M
templates with recall@1 >= 0.99.

Synthetic data shaped like Dlib face embeddings, not uniform noise: each identity is a random
centre (isotropic Gaussian scaled so that two people are ~0.9 apart, 0.81-0.99; in the 1M
gallery a query's nearest stranger is 0.66-0.76 away, above the Dlib model's 0.6 threshold);
each worker enrols 1-5 templates (uniform), each its centre plus per-person Gaussian noise whose
scale is drawn per person so that two samples of one person are 0.25-0.45 apart (0.35 on
average); a query is a NEW sample of an enrolled worker (centre + that person's noise), never a
stored template (its nearest template is 0.24-0.43 away). The isotropic spread is the hard case
for an IVF index (real embeddings have a lower intrinsic dimension: tighter IVF cells).

faiss runs with one OpenMP thread while queries and changes are timed, and with every core
while the index is trained: a single query runs on one thread in faiss either way (measured at
1M: p50 0.44 ms with 1 or 2 threads), and one thread keeps idle OpenMP workers off the core
that the baseline's BLAS uses. numpy's BLAS keeps its threads for the baseline.

Prints a table and writes bench/results/face_search.json.
    .venv/bin/python bench/face_search.py [--sizes 10000,100000,1000000] [--queries 2000] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import time

import faiss
import numpy as np
import support

DIMS = 128
CENTRE_SCALE = 0.9 / math.sqrt(2 * DIMS)  # two centres ~0.9 apart
SAMPLE_SCALE = 0.35 / math.sqrt(2 * DIMS)  # two samples of one person ~0.35 apart


class Population:
    """Synthetic identities: centres, per-person noise, enrolled templates."""

    def __init__(self, rng: np.random.Generator, templates: int, spare: int) -> None:
        counts = rng.integers(1, 6, size=templates)
        ends = np.cumsum(counts)
        workers = int(np.searchsorted(ends, templates)) + 1
        counts = counts[:workers]
        counts[-1] -= int(ends[workers - 1]) - templates
        self.rng = rng
        self.counts = counts
        total = workers + spare  # spare identities enrol during the run
        self.centres = rng.standard_normal((total, DIMS), dtype=np.float32) * CENTRE_SCALE
        self.noise = (SAMPLE_SCALE * rng.uniform(0.7, 1.3, size=total)).astype(np.float32)
        owner = np.repeat(np.arange(workers), counts)
        self.matrix = np.empty((templates, DIMS), dtype=np.float32)
        for start in range(0, templates, 1 << 18):  # in chunks: bounded temporary memory
            o = owner[start : start + (1 << 18)]
            block = rng.standard_normal((len(o), DIMS), dtype=np.float32)
            self.matrix[start : start + len(o)] = self.centres[o] + block * self.noise[o, None]
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.enrolled: dict[int, np.ndarray] = {
            w: self.matrix[s : s + c] for w, (s, c) in enumerate(zip(starts, counts, strict=True))
        }
        self.next_new = workers

    def sample(self, w: int, k: int = 1) -> np.ndarray:
        noise = self.rng.standard_normal((k, DIMS), dtype=np.float32)
        return (self.centres[w] + noise * self.noise[w]).astype(np.float32)


def percentile(ms: list[float], p: float) -> float:
    return round(support.percentile(ms, p), 3)


def changes(gallery, pop: Population, n: int) -> dict:
    """n re-enrolments, n removals, n new workers, interleaved, one at a time; latency each."""
    rng = pop.rng
    kinds: dict[str, list[float]] = {"reenrol": [], "remove": [], "new": []}
    live = np.fromiter(pop.enrolled, dtype=np.int64)
    for revision in range(2, n + 2):
        w = int(live[rng.integers(len(live))])
        while w not in pop.enrolled:
            w = int(live[rng.integers(len(live))])
        t = pop.sample(w, int(rng.integers(1, 6)))
        t0 = time.perf_counter()
        assert gallery.upsert(f"w{w}", t, revision=revision)
        kinds["reenrol"].append((time.perf_counter() - t0) * 1000)
        pop.enrolled[w] = t

        w = int(live[rng.integers(len(live))])
        if w in pop.enrolled:
            t0 = time.perf_counter()
            assert gallery.remove(f"w{w}")
            kinds["remove"].append((time.perf_counter() - t0) * 1000)
            del pop.enrolled[w]

        w = pop.next_new
        pop.next_new += 1
        t = pop.sample(w, int(rng.integers(1, 6)))
        t0 = time.perf_counter()
        assert gallery.upsert(f"w{w}", t, revision=1)
        kinds["new"].append((time.perf_counter() - t0) * 1000)
        pop.enrolled[w] = t
    return {
        f"{kind}_{stat}": percentile(ms, p)
        for kind, ms in kinds.items()
        for stat, p in (("p50_ms", 50), ("p99_ms", 99))
    }


def brute_force(matrix: np.ndarray, sqn: np.ndarray, owner: np.ndarray, q: np.ndarray):
    """Best and runner-up distinct worker by a full scan (the baseline)."""
    d2 = sqn - 2.0 * (matrix @ q)
    best = int(np.argmin(d2))
    w1 = owner[best]
    d2[owner == w1] = np.inf
    second = int(np.argmin(d2))
    return int(w1), int(owner[second])


def run_size(size: int, queries: int, seed: int) -> tuple[list[tuple], dict]:
    rng = np.random.default_rng(seed + size)
    churn = max(100, min(1000, size // 100))
    t0 = time.perf_counter()
    pop = Population(rng, size, spare=churn)
    gen_s = time.perf_counter() - t0

    gc.collect()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    gallery = support.face_gallery("Dlib", DIMS)
    t0 = time.perf_counter()
    gallery.upsert_many((f"w{w}", t, 1) for w, t in pop.enrolled.items())
    build_s = time.perf_counter() - t0
    info = gallery.index_info()
    faiss.omp_set_num_threads(1)
    change_ms = changes(gallery, pop, churn)

    # The queries: a new sample of a random enrolled worker each.
    live = np.fromiter(pop.enrolled, dtype=np.int64)
    who = live[rng.integers(0, len(live), size=queries)]
    qs = np.concatenate([pop.sample(int(w)) for w in who])
    assert qs.dtype == np.float32

    gc.collect()
    for q in qs[:20]:
        gallery.search(q)  # warm-up
    gallery_ms, gallery_best = [], []
    for q in qs:
        t0 = time.perf_counter()
        res = gallery.search(q)
        gallery_ms.append((time.perf_counter() - t0) * 1000)
        gallery_best.append(int(res[0][0][1:]))

    # Baseline: the same content in one contiguous matrix.
    t0 = time.perf_counter()
    ids = list(pop.enrolled)
    matrix = np.concatenate([pop.enrolled[w] for w in ids])
    owner = np.repeat(np.asarray(ids, dtype=np.int64), [len(pop.enrolled[w]) for w in ids])
    sqn = np.einsum("ij,ij->i", matrix, matrix)
    assert matrix.dtype == sqn.dtype == np.float32
    bf_build_s = time.perf_counter() - t0
    del pop.matrix  # the gallery and the baseline hold their own copies
    for q in qs[:5]:
        brute_force(matrix, sqn, owner, q)
    bf_ms, bf_best = [], []
    for q in qs:
        t0 = time.perf_counter()
        best, _ = brute_force(matrix, sqn, owner, q)
        bf_ms.append((time.perf_counter() - t0) * 1000)
        bf_best.append(best)

    recall = float(np.mean(np.asarray(gallery_best) == np.asarray(bf_best)))
    method = "Gallery exact" if info is None else f"Gallery {info['type']} nprobe={info['nprobe']}"
    rows = [
        (size, method, build_s, percentile(gallery_ms, 50), percentile(gallery_ms, 99), recall),
        (size, "brute-force numpy", bf_build_s, percentile(bf_ms, 50), percentile(bf_ms, 99), 1.0),
    ]
    result = {
        "templates": size,
        "workers_at_build": int(len(pop.counts)),
        "templates_at_query": int(gallery.template_count),
        "workers_at_query": len(gallery),
        "queries": queries,
        "data_gen_s": round(gen_s, 2),
        "gallery": {
            "method": method,
            "index": info,
            "build_s": round(build_s, 2),
            "p50_ms": percentile(gallery_ms, 50),
            "p99_ms": percentile(gallery_ms, 99),
            "max_ms": round(max(gallery_ms), 3),
            "recall_at_1": recall,
            "best_is_queried_person": float(np.mean(np.asarray(gallery_best) == who)),
            "changes_after_build": churn,
            **change_ms,
        },
        "brute_force": {
            "build_s": round(bf_build_s, 2),
            "p50_ms": percentile(bf_ms, 50),
            "p99_ms": percentile(bf_ms, 99),
            "best_is_queried_person": float(np.mean(np.asarray(bf_best) == who)),
        },
    }
    return rows, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = support.parse_args(parser, "face_search", quick={"sizes": "10000", "queries": 200})
    sizes = [int(s) for s in args.sizes.split(",") if s]

    rows, results = [], []
    for size in sizes:
        r, res = run_size(size, args.queries, args.seed)
        rows += r
        results.append(res)
        print(f"  {size} templates done: {res['gallery']['method']}", flush=True)

    print(f"\n1:N face search, {DIMS}-d, {args.queries} single queries, {os.cpu_count()} cores")
    print(
        f"{'size':>9} {'method':44} {'build s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99/p50':>8}"
        f" {'recall@1':>9}"
    )
    for size, method, build_s, p50, p99, recall in rows:
        print(
            f"{size:>9} {method:44} {build_s:>8.2f} {p50:>8.3f} {p99:>8.3f} {p99 / p50:>8.1f}"
            f" {recall:>9.4f}"
        )
    print("target: p99 <= 5 ms at 1M templates with recall@1 >= 0.99")
    for res in results:
        g = res["gallery"]
        print(
            f"changes at {res['templates']}: re-enrol p50/p99 {g['reenrol_p50_ms']}/"
            f"{g['reenrol_p99_ms']} ms, remove {g['remove_p50_ms']}/{g['remove_p99_ms']} ms, "
            f"new worker {g['new_p50_ms']}/{g['new_p99_ms']} ms"
        )
    support.write_result(
        args.out,
        {
            "benchmark": "face_search",
            "cores": os.cpu_count(),
            "dims": DIMS,
            "faiss_version": faiss.__version__,
            "faiss_threads_while_querying": 1,
            "data": "identity centres ~0.9 apart, 1-5 templates each, same-person ~0.35, "
            "queries are new samples of enrolled workers",
            "sizes": results,
        },
    )


if __name__ == "__main__":
    main()
