"""In-memory face galleries: 1:N and 1:1 search over enrolled face templates.

A `Gallery` holds one tenant's templates of ONE recognition model (fixed `dims`; a gallery never
mixes models, so distances are always comparable): 1-5 templates (embeddings) per worker, each
worker's set replaced as a whole by `upsert` when a newer enrolment revision arrives. `search`
returns the nearest two *distinct* workers with each worker's minimum euclidean distance over
their templates, nearest first; the caller applies the threshold and the margin (runner-up
worker's distance - best distance). `Galleries` is the registry of galleries keyed by
(tenant, model) that every replica keeps in memory. Pure domain code: numpy and faiss, no I/O.

Storage. All templates live in one contiguous float32 matrix (rows x dims) with each row's
squared norm and owning worker slot. A worker's rows are a small list. Removing or replacing a
worker turns its rows into holes (zero vector, squared norm +inf, owner -1: a hole can never be
the nearest row) pushed on a free list that the next upserts reuse; when holes outnumber the
live rows the matrix is compacted by moving live rows from its tail into the holes (it moves at
most as many rows as there are holes). Upsert and remove are thus O(k) amortised (k <= 5
templates); only the matrix doubling and the compaction are O(rows), each paid for by the O(rows)
changes before it.

Exact search (small galleries, `restrict`, `distance_to`, fallback). One matrix product per batch
of queries: ||x||^2 - 2 q.x over all rows (||q||^2 does not change the ranking), float32 BLAS;
the best row's owner is the best worker; that worker's rows are masked out and the next best row
gives the runner-up. Cost O(rows x dims) per query: about 0.3 ms at 10k templates, 25 ms at 1M
(measured on 2 cores).

Index search (galleries of >= `index_threshold` templates, default 20 000). A FAISS
`IndexIVFScalarQuantizer` (fp16 codes, not by residual) with a hashtable direct map:
- IVF because the gallery changes one worker at a time while it serves: `add_with_ids` and
  `remove_ids` (O(k) with the hashtable direct map) keep it current without rebuilds, ids being
  our row numbers. HNSW cannot remove vectors and takes minutes to build 1M on 2 cores.
- The coarse quantizer is trained (k-means, 10 iterations, on <= 64 x nlist of the gallery's
  own templates) when the gallery crosses the threshold, and retrained (all rows re-added) when
  it has grown or shrunk 4x since; nlist = the power of two nearest 2 sqrt(n) (2048 at 1M),
  nprobe = nlist / 16 (at least 32): 1/16 of the gallery is scanned. Face embeddings spread in
  many dimensions, so IVF cells are not tight and recall needs that fraction (bench: recall@1
  0.999 at 1M, p99 ~2 ms, against 0.97 at nprobe = nlist / 64).
- fp16 codes halve the index's memory next to float32 (and scan faster: less memory traffic);
  the matrix above keeps the exact vectors, and the top 32 templates the index finds are
  re-ranked exactly: every distinct worker among them gets its true minimum distance over all
  of its templates, so returned distances are exact euclidean distances, never approximations.
  If the 32 nearest templates hold a single worker, the query falls back to exact search.
- The index is dropped (back to exact) when the gallery shrinks below index_threshold / 2.
Below the threshold a brute-force scan is as fast as the index and needs no training. Training
and re-adding block for seconds at 1M templates (a 4x growth is rare; `upsert_many` loads a
gallery and trains once).

Not thread-safe: one asyncio loop owns a gallery. Every mutation validates its input first and
then applies in full with no suspension point, so a search never sees half of an upsert.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import faiss
import numpy as np

MAX_TEMPLATES = 5
# How many nearest templates the index returns per query before grouping by worker.
INDEX_K = 32
# k-means for the coarse quantizer: training points per list (faiss warns below 39) and cap.
MIN_TRAIN_PER_LIST = 40
MAX_TRAIN_PER_LIST = 64
KMEANS_ITERATIONS = 10
# Exact search computes (queries x rows) distances in chunks of at most this many floats.
_CHUNK = 1 << 23

Match = tuple[str, float]


@dataclass(slots=True)
class _Worker:
    slot: int
    rows: list[int]
    revision: int


def choose_nlist(n: int) -> int:
    """Inverted lists for n templates: the power of two nearest 2 sqrt(n), with >= 40 per list."""
    nlist = 1 << max(0, round(math.log2(max(1.0, 2 * math.sqrt(n)))))
    while nlist > 1 and nlist * MIN_TRAIN_PER_LIST > n:
        nlist //= 2
    return nlist


def default_nprobe(nlist: int) -> int:
    return min(nlist, max(32, nlist // 16))


class Gallery:
    """One tenant's enrolled face templates for one model; see the module docstring."""

    def __init__(
        self,
        model_name: str,
        dims: int,
        *,
        index_threshold: int = 20_000,
        nprobe: int | None = None,
    ) -> None:
        if dims <= 0:
            raise ValueError(f"dims must be positive, got {dims}")
        if index_threshold < 1:
            raise ValueError("index_threshold must be >= 1")
        if nprobe is not None and nprobe < 1:
            raise ValueError("nprobe must be >= 1")
        self.model_name = model_name
        self.dims = dims
        self.index_threshold = index_threshold
        self._nprobe = nprobe
        cap = 64
        self._vecs = np.zeros((cap, dims), dtype=np.float32)
        self._sqn = np.full(cap, np.inf, dtype=np.float32)
        self._owner = np.full(cap, -1, dtype=np.int64)
        self._size = 0  # rows in use, holes included
        self._free: list[int] = []  # holes below _size
        self._workers: dict[str, _Worker] = {}
        self._slot_ids: list[str | None] = []  # worker slot -> worker id
        self._free_slots: list[int] = []
        self._templates = 0
        self._index: faiss.IndexIVF | None = None
        self._quantizer: faiss.Index | None = None
        self._trained_at = 0

    # -- queries about the contents ---------------------------------------------------------

    def __len__(self) -> int:
        return len(self._workers)

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in self._workers

    @property
    def template_count(self) -> int:
        return self._templates

    def revision_of(self, worker_id: str) -> int | None:
        worker = self._workers.get(worker_id)
        return None if worker is None else worker.revision

    def worker_ids(self) -> list[str]:
        return list(self._workers)

    @property
    def indexed(self) -> bool:
        """Whether searches without `restrict` go through the FAISS index."""
        return self._index is not None

    def index_info(self) -> dict | None:
        if self._index is None:
            return None
        return {
            "type": "IVF-SQfp16",
            "nlist": int(self._index.nlist),
            "nprobe": int(self._index.nprobe),
            "trained_at": self._trained_at,
            "ntotal": int(self._index.ntotal),
        }

    # -- changes ----------------------------------------------------------------------------

    def upsert(self, worker_id: str, embeddings: np.ndarray, revision: int) -> bool:
        """Replace the worker's templates if `revision` is newer than the one held (or the
        worker is new). Returns whether anything changed."""
        held = self._workers.get(worker_id)
        if held is not None and revision <= held.revision:
            self._check(embeddings)  # a bad payload is an error even when it is stale
            return False
        vecs = self._check(embeddings)
        self._put(worker_id, vecs, revision, index=True)
        self._maintain()
        return True

    def upsert_many(self, items: Iterable[tuple[str, np.ndarray, int]]) -> int:
        """Bulk load (startup): `upsert` for each (worker_id, embeddings, revision), with the
        index fed in one batch and (re)trained at most once at the end. Validates every item
        before changing anything. Returns how many workers changed."""
        checked = [(w, self._check(e), r) for w, e, r in items]
        latest: dict[str, tuple[np.ndarray, int]] = {}
        for worker_id, vecs, revision in checked:
            seen = latest.get(worker_id)
            if seen is None or revision > seen[1]:
                latest[worker_id] = (vecs, revision)
        changed = 0
        new_rows: list[int] = []
        for worker_id, (vecs, revision) in latest.items():
            held = self._workers.get(worker_id)
            if held is not None and revision <= held.revision:
                continue
            if held is not None and self._index is not None:
                self._index.remove_ids(np.asarray(held.rows, dtype=np.int64))
            new_rows.extend(self._put(worker_id, vecs, revision, index=False))
            changed += 1
        if self._index is not None and new_rows and not self._needs_retrain():
            rows = np.asarray(new_rows, dtype=np.int64)
            self._index.add_with_ids(self._vecs[rows], rows)
        elif self._index is not None and new_rows:
            self._index = None  # _maintain retrains and adds every row
        self._maintain()
        return changed

    def remove(self, worker_id: str) -> bool:
        worker = self._workers.pop(worker_id, None)
        if worker is None:
            return False
        self._release_rows(worker.rows)
        self._slot_ids[worker.slot] = None
        self._free_slots.append(worker.slot)
        self._maintain()
        return True

    # -- search -----------------------------------------------------------------------------

    def search(self, query: np.ndarray, *, restrict: Collection[str] | None = None) -> list[Match]:
        """The nearest two distinct workers, (worker_id, euclidean distance) nearest first:
        each worker's distance is its minimum over its templates. Fewer when the gallery (or
        `restrict`) holds fewer workers. `restrict`: search only these workers (exactly)."""
        q = self._check_queries(query)
        if q.shape[0] != 1:
            raise ValueError("search takes one query; use search_many for a batch")
        if restrict is None:
            return self.search_many(q)[0]
        if isinstance(restrict, str):
            raise TypeError("restrict is a collection of worker ids, not one id")
        return self._search_restricted(q[0], restrict)

    def search_many(self, queries: np.ndarray) -> list[list[Match]]:
        """`search` for each row of a (n, dims) batch, vectorised."""
        q = self._check_queries(queries)
        if not self._workers:
            return [[] for _ in range(len(q))]
        if self._index is None:
            return self._search_exact(q)
        return self._search_index(q)

    def distance_to(self, worker_id: str, query: np.ndarray) -> float | None:
        """1:1: the worker's minimum euclidean distance to the query; None if not enrolled."""
        q = self._check_queries(query)
        if q.shape[0] != 1:
            raise ValueError("distance_to takes one query")
        worker = self._workers.get(worker_id)
        if worker is None:
            return None
        diff = self._vecs[worker.rows] - q[0]
        return float(np.sqrt(np.einsum("ij,ij->i", diff, diff).min()))

    # -- internals: validation --------------------------------------------------------------

    def _check(self, embeddings: np.ndarray) -> np.ndarray:
        vecs = np.asarray(embeddings, dtype=np.float32)
        if vecs.ndim == 1:
            vecs = vecs[None, :]
        if vecs.ndim != 2 or vecs.shape[1] != self.dims:
            raise ValueError(
                f"{self.model_name} templates are {self.dims}-d, got shape {np.shape(embeddings)}"
            )
        if not 1 <= vecs.shape[0] <= MAX_TEMPLATES:
            raise ValueError(f"1..{MAX_TEMPLATES} templates per worker, got {vecs.shape[0]}")
        if not np.isfinite(vecs).all():
            raise ValueError("templates must be finite")
        return np.ascontiguousarray(vecs)

    def _check_queries(self, queries: np.ndarray) -> np.ndarray:
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dims:
            raise ValueError(
                f"{self.model_name} queries are {self.dims}-d, got shape {np.shape(queries)}"
            )
        if not np.isfinite(q).all():
            raise ValueError("queries must be finite")
        return np.ascontiguousarray(q)

    # -- internals: storage -----------------------------------------------------------------

    def _put(self, worker_id: str, vecs: np.ndarray, revision: int, *, index: bool) -> list[int]:
        """Store a validated template set, replacing the worker's; returns the new rows."""
        held = self._workers.get(worker_id)
        if held is not None:
            self._release_rows(held.rows, index=index)
            slot = held.slot
        elif self._free_slots:
            slot = self._free_slots.pop()
            self._slot_ids[slot] = worker_id
        else:
            slot = len(self._slot_ids)
            self._slot_ids.append(worker_id)
        rows = self._alloc(len(vecs))
        self._vecs[rows] = vecs
        self._sqn[rows] = np.einsum("ij,ij->i", vecs, vecs)
        self._owner[rows] = slot
        self._templates += len(rows)
        self._workers[worker_id] = _Worker(slot, rows, revision)
        if index and self._index is not None:
            self._index.add_with_ids(vecs, np.asarray(rows, dtype=np.int64))
        return rows

    def _alloc(self, k: int) -> list[int]:
        rows = [self._free.pop() for _ in range(min(k, len(self._free)))]
        more = k - len(rows)
        if more:
            if self._size + more > len(self._vecs):
                self._resize(max(2 * len(self._vecs), self._size + more))
            rows.extend(range(self._size, self._size + more))
            self._size += more
        return rows

    def _resize(self, cap: int) -> None:
        vecs = np.zeros((cap, self.dims), dtype=np.float32)
        sqn = np.full(cap, np.inf, dtype=np.float32)
        owner = np.full(cap, -1, dtype=np.int64)
        n = self._size
        vecs[:n], sqn[:n], owner[:n] = self._vecs[:n], self._sqn[:n], self._owner[:n]
        self._vecs, self._sqn, self._owner = vecs, sqn, owner

    def _release_rows(self, rows: list[int], *, index: bool = True) -> None:
        if index and self._index is not None:
            self._index.remove_ids(np.asarray(rows, dtype=np.int64))
        self._vecs[rows] = 0.0
        self._sqn[rows] = np.inf
        self._owner[rows] = -1
        self._free.extend(rows)
        self._templates -= len(rows)

    def _maintain(self) -> None:
        """Compact holes; build, retrain or drop the index as the gallery's size requires."""
        if len(self._free) > 256 and len(self._free) > self._templates:
            self._compact()
        n = self._templates
        if self._index is None:
            if n >= self.index_threshold:
                self._build_index()
        elif n < self.index_threshold // 2:
            self._index = self._quantizer = None
            self._trained_at = 0
        elif self._needs_retrain():
            self._build_index()

    def _needs_retrain(self) -> bool:
        n, at = self._templates, self._trained_at
        return n >= 4 * at or (4 * n <= at and n >= self.index_threshold)

    def _compact(self) -> None:
        """Move live rows from the tail into the holes below the live count."""
        live = self._templates
        holes = np.sort(np.asarray([r for r in self._free if r < live], dtype=np.int64))
        tail = np.flatnonzero(self._owner[live : self._size] >= 0) + live
        assert len(holes) == len(tail)
        if len(tail):
            if self._index is not None:
                self._index.remove_ids(tail)
            self._vecs[holes] = self._vecs[tail]
            self._sqn[holes] = self._sqn[tail]
            self._owner[holes] = self._owner[tail]
            for src, dst in zip(tail.tolist(), holes.tolist(), strict=True):
                worker_id = self._slot_ids[int(self._owner[dst])]
                assert worker_id is not None
                rows = self._workers[worker_id].rows
                rows[rows.index(src)] = dst
            if self._index is not None:
                self._index.add_with_ids(self._vecs[holes], holes)
        self._vecs[live : self._size] = 0.0
        self._sqn[live : self._size] = np.inf
        self._owner[live : self._size] = -1
        self._size = live
        self._free = []
        if len(self._vecs) > 64 and 4 * live < len(self._vecs):
            self._resize(max(64, 2 * live))

    def _build_index(self) -> None:
        """(Re)train the coarse quantizer on the gallery's own templates and add every row."""
        rows = np.flatnonzero(self._owner[: self._size] >= 0)
        n = len(rows)
        nlist = choose_nlist(n)
        rng = np.random.default_rng(n)
        sample_rows = rows
        if n > MAX_TRAIN_PER_LIST * nlist:
            sample_rows = np.sort(rng.choice(rows, MAX_TRAIN_PER_LIST * nlist, replace=False))
        quantizer = faiss.IndexFlatL2(self.dims)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, self.dims, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_L2, False
        )
        index.cp.niter = KMEANS_ITERATIONS
        index.cp.seed = 1234
        index.train(self._vecs[sample_rows])
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.add_with_ids(self._vecs[rows], rows.astype(np.int64))
        index.nprobe = min(nlist, self._nprobe) if self._nprobe else default_nprobe(nlist)
        self._index, self._quantizer, self._trained_at = index, quantizer, n

    # -- internals: search ------------------------------------------------------------------

    def _exact_top2_slots(self, q: np.ndarray) -> list[list[int]]:
        """Worker slots of the nearest and runner-up worker for each query, by a full scan."""
        n = self._size
        vecs, sqn, owner = self._vecs[:n], self._sqn[:n], self._owner[:n]
        out: list[list[int]] = []
        step = max(1, _CHUNK // max(1, n))
        for start in range(0, len(q), step):
            d2 = sqn[None, :] - 2.0 * (q[start : start + step] @ vecs.T)
            best = np.argmin(d2, axis=1)
            w1 = owner[best]
            d2[owner[None, :] == w1[:, None]] = np.inf
            second = np.argmin(d2, axis=1)
            has2 = np.isfinite(d2[np.arange(len(d2)), second])
            w2 = owner[second]
            for a, b, ok in zip(w1.tolist(), w2.tolist(), has2.tolist(), strict=True):
                out.append([a, b] if ok else [a])
        return out

    def _search_exact(self, q: np.ndarray) -> list[list[Match]]:
        return [
            self._rank(query, slots)
            for query, slots in zip(q, self._exact_top2_slots(q), strict=True)
        ]

    def _search_index(self, q: np.ndarray) -> list[list[Match]]:
        assert self._index is not None
        k = min(INDEX_K, int(self._index.ntotal))
        _, labels = self._index.search(q, k)
        results: list[list[Match]] = []
        need_exact: list[int] = []
        many = len(self._workers) >= 2
        for i, found in enumerate(labels):
            found = found[found >= 0]
            slots = list(dict.fromkeys(self._owner[found].tolist()))
            if len(slots) < 2 and many:
                need_exact.append(i)
                results.append([])
            else:
                results.append(self._rank(q[i], slots))
        if need_exact:
            for i, res in zip(need_exact, self._search_exact(q[need_exact]), strict=True):
                results[i] = res
        return results

    def _search_restricted(self, q: np.ndarray, restrict: Collection[str]) -> list[Match]:
        slots = [self._workers[w].slot for w in dict.fromkeys(restrict) if w in self._workers]
        return self._rank(q, slots) if slots else []

    def _rank(self, q: np.ndarray, slots: list[int]) -> list[Match]:
        """Exact minimum distance of each candidate worker over all its templates; best two."""
        ids = [self._slot_ids[s] or "" for s in slots]
        groups = [self._workers[w].rows for w in ids]
        rows = [r for g in groups for r in g]
        starts = np.cumsum([0] + [len(g) for g in groups[:-1]])
        diff = self._vecs[rows] - q
        dist = np.minimum.reduceat(np.einsum("ij,ij->i", diff, diff), starts)
        order = np.argsort(dist, kind="stable")[:2]
        return [(ids[i], float(np.sqrt(dist[i]))) for i in order.tolist()]


class Galleries:
    """Every tenant's galleries in this replica, keyed by (tenant_id, model_name)."""

    def __init__(self, *, index_threshold: int = 20_000, nprobe: int | None = None) -> None:
        self._index_threshold = index_threshold
        self._nprobe = nprobe
        self._by_tenant: dict[str, dict[str, Gallery]] = {}

    def get(self, tenant_id: str, model_name: str) -> Gallery | None:
        return self._by_tenant.get(tenant_id, {}).get(model_name)

    def for_tenant(self, tenant_id: str, model_name: str, dims: int) -> Gallery:
        """The tenant's gallery for the model, created empty if absent."""
        models = self._by_tenant.setdefault(tenant_id, {})
        gallery = models.get(model_name)
        if gallery is None:
            gallery = models[model_name] = Gallery(
                model_name, dims, index_threshold=self._index_threshold, nprobe=self._nprobe
            )
        elif gallery.dims != dims:
            raise ValueError(f"{model_name} gallery is {gallery.dims}-d, not {dims}-d")
        return gallery

    def remove_worker(self, tenant_id: str, worker_id: str) -> bool:
        """Remove the worker from every model's gallery of the tenant."""
        removed = False
        for gallery in self._by_tenant.get(tenant_id, {}).values():
            removed = gallery.remove(worker_id) or removed
        return removed

    def remove_tenant(self, tenant_id: str) -> bool:
        return self._by_tenant.pop(tenant_id, None) is not None

    def stats(self) -> dict[str, int]:
        """tenants, galleries, workers (distinct per tenant across models), templates."""
        workers = 0
        for models in self._by_tenant.values():
            ids: set[str] = set()
            for gallery in models.values():
                ids.update(gallery.worker_ids())
            workers += len(ids)
        return {
            "tenants": sum(1 for models in self._by_tenant.values() if models),
            "galleries": sum(len(models) for models in self._by_tenant.values()),
            "workers": workers,
            "templates": sum(
                g.template_count for models in self._by_tenant.values() for g in models.values()
            ),
        }
