"""In-memory face galleries: 1:N and 1:1 search over enrolled face templates.

A `Gallery` holds one tenant's templates of ONE recognition model (fixed `dims`; a gallery never
mixes models, so distances are always comparable): 1-5 templates (embeddings) per worker, each
worker's set replaced as a whole by `upsert` when a newer enrolment revision arrives. `search`
returns the nearest two *distinct* workers with each worker's minimum euclidean distance over
their templates, nearest first; the caller applies the threshold and the margin (runner-up
worker's distance - best distance). `Galleries` is the registry of galleries keyed by
(tenant, model) that every replica keeps in memory. Pure domain code: numpy and faiss, no I/O.

Storage. All templates live in one contiguous float32 matrix (rows x dims) with each row's
squared norm and owning worker slot; a worker's rows are a short list. Removing or replacing a
worker turns its rows into holes (zero vector, squared norm +inf, owner -1: a hole is never the
nearest row) on a free list that the next upserts reuse; when holes outnumber the live rows,
live rows are moved from the matrix's tail into the holes (no more moves than holes). Upsert
and remove are O(k) amortised (k <= 5 templates): only the matrix doubling, the compaction and
the index purge below are O(rows), each paid for by the O(rows) changes before it.

Exact search (small galleries; `restrict`; `distance_to`; fallback). One float32 BLAS product
per batch of queries: ||x||^2 - 2 q.x over all rows (||q||^2 does not change the ranking); the
best row's owner is the best worker; that worker's rows are masked out and the next best row
gives the runner-up. O(rows x dims) per query: ~0.1 ms at 10k templates, 20-30 ms at 1M on the
bench machine (2 cores) - too slow for a kiosk at 1M, hence the index.

Index search, once the gallery holds >= `index_threshold` templates (default 20 000; below it a
scan is about as fast as the index and needs no training): a FAISS `IndexIVFPQFastScan`, used
only to find candidates, which are then re-ranked exactly from the float32 matrix.
- IVF: the coarse quantizer (k-means, 10 iterations, on <= 64 x nlist of the gallery's own
  templates) is trained when the gallery crosses the threshold and retrained, every row
  re-added, when it has grown or shrunk 4x since; nlist = the power of two nearest 2 sqrt(n)
  (2048 at 1M), nprobe = nlist / 16, at least 48: 1/16 of the gallery is scanned. Face
  embeddings spread over many dimensions, so IVF cells are loose and recall needs that
  fraction (bench, 1M templates: recall@1 0.9995 at nprobe 128; ~0.98 at nprobe 32).
- PQ fast-scan codes (dims/4 sub-quantizers of 4 bits, <= 64: 16 bytes per 128-d template)
  scan those 1/16 with SIMD in registers: 1M templates cost 24 MB of index and ~0.4 ms per
  query. Measured against the alternatives at 1M, nprobe 128: IVF-Flat 2.6 ms / 512 MB,
  IVF-SQfp16 1.4 ms / 256 MB, IVF-PQ8 1.5-2.3 ms; HNSW cannot remove vectors and takes minutes
  to build 1M on 2 cores.
- Approximate codes are harmless here: the 64 nearest candidates are re-ranked exactly, the
  first 4 distinct workers get their true minimum distance over all their templates, and the
  best two are returned - distances are exact euclidean distances. If the candidates hold a
  single worker, the query falls back to exact search.
- Changes: `add_with_ids` appends new templates (O(k)). Fast-scan lists have no direct map:
  faiss removes ids by scanning every list, so removed or replaced templates are left in the
  index as stale ids, ignored at search, and purged in one remove_ids pass once they reach
  1/128 of the index (>= 1024): O(1) amortised (at 1M: ~20 ms once per ~8k stale ids).
  Index ids are (tick << 32 | row), the tick unique per write, and an id counts only while
  its row still carries it, so a reused row never revives a stale id. (The purge also clears
  the slots that faiss's block removal leaves dirty; see _clear_vacated_slots.)
- The index is dropped (back to exact) when the gallery shrinks below index_threshold / 2.
Training and re-adding block for seconds at 1M templates (~15 s on 2 cores; a 4x change is
rare); `upsert_many` loads a whole gallery and trains once.

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
# Nearest templates the index returns per query; distinct workers re-ranked over all templates.
INDEX_K = 64
RERANK_WORKERS = 4
# k-means for the coarse quantizer: training points per list (faiss warns below 39) and cap.
MIN_TRAIN_PER_LIST = 40
MAX_TRAIN_PER_LIST = 64
KMEANS_ITERATIONS = 10
# No index below this many templates, whatever index_threshold says: the 4-bit PQ needs
# 16 x 40 training points (and scanning 640 rows takes microseconds).
MIN_INDEX_TEMPLATES = 640
# Stale index ids are purged once they reach max(PURGE_MIN, ntotal / PURGE_FRACTION).
PURGE_MIN = 1024
PURGE_FRACTION = 128
# Exact search computes (queries x rows) distances in chunks of at most this many floats.
_CHUNK = 1 << 23
_ROW_BITS = 32
_ROW_MASK = (1 << _ROW_BITS) - 1

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
    """Lists scanned per query: 1/16 of the gallery, and at least 48 lists (cheap when small)."""
    return min(nlist, max(48, nlist // 16))


def pq_subquantizers(dims: int) -> int:
    """4 dimensions per 4-bit sub-quantizer, at most 64, dividing dims."""
    m = max(1, min(64, dims // 4))
    while dims % m:
        m -= 1
    return m


def _clear_vacated_slots(lists: faiss.BlockInvertedLists, before: list[int]) -> None:
    """Work around faiss (1.15) fast-scan removal: BlockInvertedLists.remove_ids moves the last
    codes into the removed slots but leaves the old bits in the vacated slots of a list's last,
    partial block, and fast-scan adds OR new codes into their slot (pq4_pack_codes_range), so
    templates added there later would be garbled (tests/unit/face_match catches it). Zero those
    slots (at most one per removed id)."""
    per_block = lists.n_per_block
    zero = np.zeros(lists.packer.code_size, dtype=np.uint8)
    for i, size in enumerate(before):
        now = lists.list_size(i)
        end = min(size, -(-now // per_block) * per_block)
        if now < end:
            codes = lists.get_codes(i)
            for slot in range(now, end):
                lists.packer.pack_1_c(faiss.swig_ptr(zero), slot, codes)


class Gallery:
    """One tenant's enrolled face templates for one model; see the module docstring.

    `index_threshold`: template count from which searches use the FAISS index (at least
    MIN_INDEX_TEMPLATES); `nprobe`: inverted lists scanned per query (default: nlist / 16, at
    least 48)."""

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
        self.index_threshold = max(index_threshold, MIN_INDEX_TEMPLATES)
        self._nprobe = nprobe
        cap = 64
        self._vecs = np.zeros((cap, dims), dtype=np.float32)
        self._sqn = np.full(cap, np.inf, dtype=np.float32)
        self._owner = np.full(cap, -1, dtype=np.int64)  # worker slot, -1: hole
        self._tag = np.full(cap, -1, dtype=np.int64)  # the row's id in the index, -1: none
        self._size = 0  # rows in use, holes included
        self._free: list[int] = []  # holes below _size
        self._workers: dict[str, _Worker] = {}
        self._slot_ids: list[str | None] = []  # worker slot -> worker id
        self._free_slots: list[int] = []
        self._templates = 0
        self._index: faiss.IndexIVF | None = None
        self._quantizer: faiss.Index | None = None
        self._trained_at = 0
        self._tick = 0
        self._stale: list[int] = []  # index ids of removed templates, not purged yet
        # Workers enrolled as confirmed lookalikes of another: never identified 1:N alone.
        self.one_to_one_only: set[str] = set()

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

    def size(self, restrict: Collection[str] | None = None) -> tuple[int, int]:
        """(workers, templates) a search covers: the whole gallery, or those of `restrict`
        that are enrolled (a 1:N threshold depends on it: domain.calibration)."""
        if restrict is None:
            return len(self._workers), self._templates
        held = [self._workers[w] for w in set(restrict) if w in self._workers]
        return len(held), sum(len(w.rows) for w in held)

    @property
    def indexed(self) -> bool:
        """Whether searches without `restrict` go through the FAISS index."""
        return self._index is not None

    def index_info(self) -> dict | None:
        if self._index is None:
            return None
        return {
            "type": f"IVF{self._index.nlist},PQ{self._index.pq.M}x4fs",
            "nlist": int(self._index.nlist),
            "nprobe": int(self._index.nprobe),
            "trained_at": self._trained_at,
            "ntotal": int(self._index.ntotal),
            "stale": len(self._stale),
        }

    # -- changes ----------------------------------------------------------------------------

    def upsert(
        self,
        worker_id: str,
        embeddings: np.ndarray,
        revision: int,
        *,
        verify_one_to_one: bool = False,
    ) -> bool:
        """Replace the worker's templates if `revision` is newer than the one held (or the
        worker is new). Returns whether anything changed. `verify_one_to_one`: a confirmed
        lookalike of another worker (`one_to_one_only`)."""
        vecs = self._check(embeddings)  # a bad payload is an error even when it is stale
        held = self._workers.get(worker_id)
        if held is not None and revision <= held.revision:
            return False
        if verify_one_to_one:
            self.one_to_one_only.add(worker_id)
        else:
            self.one_to_one_only.discard(worker_id)
        rows = self._put(worker_id, vecs, revision)
        self._index_add(rows)
        self._maintain()
        return True

    def upsert_many(self, items: Iterable[tuple[str, np.ndarray, int]]) -> int:
        """Bulk load (startup): `upsert` for each (worker_id, embeddings, revision), the index
        fed in one batch and (re)trained at most once, at the end. Every item is validated
        before anything changes. Returns how many workers changed."""
        latest: dict[str, tuple[np.ndarray, int]] = {}
        for worker_id, embeddings, revision in items:
            vecs = self._check(embeddings)
            seen = latest.get(worker_id)
            if seen is None or revision > seen[1]:
                latest[worker_id] = (vecs, revision)
        new_rows: list[int] = []
        changed = 0
        for worker_id, (vecs, revision) in latest.items():
            held = self._workers.get(worker_id)
            if held is None or revision > held.revision:
                new_rows.extend(self._put(worker_id, vecs, revision))
                changed += 1
        if self._index is not None and self._needs_retrain():
            self._build_index()
        else:
            self._index_add(new_rows)
        self._maintain()
        return changed

    def remove(self, worker_id: str) -> bool:
        self.one_to_one_only.discard(worker_id)
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
            return self._search_many(q)[0]
        if isinstance(restrict, str):
            raise TypeError("restrict is a collection of worker ids, not one id")
        return self._search_restricted(q[0], restrict)

    def search_many(self, queries: np.ndarray) -> list[list[Match]]:
        """`search` for each row of a (n, dims) batch, vectorised."""
        return self._search_many(self._check_queries(queries))

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

    def _put(self, worker_id: str, vecs: np.ndarray, revision: int) -> list[int]:
        """Store a validated template set, replacing the worker's; returns the new rows (not
        yet in the index)."""
        held = self._workers.get(worker_id)
        if held is not None:
            self._release_rows(held.rows)
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
        n = self._size
        vecs = np.zeros((cap, self.dims), dtype=np.float32)
        vecs[:n] = self._vecs[:n]
        self._vecs = vecs
        for name, fill in (("_sqn", np.inf), ("_owner", -1), ("_tag", -1)):
            old = getattr(self, name)
            new = np.full(cap, fill, dtype=old.dtype)
            new[:n] = old[:n]
            setattr(self, name, new)

    def _release_rows(self, rows: list[int]) -> None:
        tags = self._tag[rows]
        self._stale.extend(tags[tags >= 0].tolist())
        self._vecs[rows] = 0.0
        self._sqn[rows] = np.inf
        self._owner[rows] = -1
        self._tag[rows] = -1
        self._free.extend(rows)
        self._templates -= len(rows)

    def _index_add(self, rows: list[int] | np.ndarray) -> None:
        """Give rows fresh index ids and add them to the index (if there is one)."""
        if self._index is None or len(rows) == 0:
            return
        rows = np.asarray(rows, dtype=np.int64)
        self._tick += 1
        tags = (self._tick << _ROW_BITS) | rows
        self._tag[rows] = tags
        self._index.add_with_ids(self._vecs[rows], tags)

    def _maintain(self) -> None:
        """Compact holes, purge stale index ids; build, retrain or drop the index as the
        gallery's size requires."""
        if len(self._free) > 256 and len(self._free) > self._templates:
            self._compact()
        n = self._templates
        if self._index is None:
            if n >= self.index_threshold:
                self._build_index()
        elif n < self.index_threshold // 2:
            self._index = self._quantizer = None
            self._tag[: self._size] = -1
            self._stale = []
            self._trained_at = 0
        elif self._needs_retrain():
            self._build_index()
        elif len(self._stale) >= max(PURGE_MIN, self._index.ntotal // PURGE_FRACTION):
            self._purge()

    def _needs_retrain(self) -> bool:
        n, at = self._templates, self._trained_at
        return n >= 4 * at or (4 * n <= at and n >= self.index_threshold)

    def _purge(self) -> None:
        """Remove the stale ids from the index: one pass over every inverted list."""
        stale, self._stale = np.asarray(self._stale, dtype=np.int64), []
        if self._index is None or not len(stale):
            return
        lists = faiss.downcast_InvertedLists(self._index.invlists)
        before = [lists.list_size(i) for i in range(self._index.nlist)]
        self._index.remove_ids(stale)
        _clear_vacated_slots(lists, before)

    def _compact(self) -> None:
        """Move live rows from the tail into the holes below the live count."""
        live = self._templates
        holes = np.sort(np.asarray([r for r in self._free if r < live], dtype=np.int64))
        tail = np.flatnonzero(self._owner[live : self._size] >= 0) + live
        assert len(holes) == len(tail)
        if len(tail):
            tags = self._tag[tail]
            self._stale.extend(tags[tags >= 0].tolist())
            self._vecs[holes] = self._vecs[tail]
            self._sqn[holes] = self._sqn[tail]
            self._owner[holes] = self._owner[tail]
            for src, dst in zip(tail.tolist(), holes.tolist(), strict=True):
                worker_id = self._slot_ids[int(self._owner[dst])]
                assert worker_id is not None
                rows = self._workers[worker_id].rows
                rows[rows.index(src)] = dst
            self._index_add(holes)
        self._vecs[live : self._size] = 0.0
        self._sqn[live : self._size] = np.inf
        self._owner[live : self._size] = -1
        self._tag[live : self._size] = -1
        self._size = live
        self._free = []
        self._purge()  # no stale id may outlive its row (the row may be gone after a shrink)
        if len(self._vecs) > 64 and 4 * live < len(self._vecs):
            self._resize(max(64, 2 * live))

    def _build_index(self) -> None:
        """(Re)train the coarse quantizer and PQ on the gallery's own templates; add every row."""
        rows = np.flatnonzero(self._owner[: self._size] >= 0)
        n = len(rows)
        nlist = choose_nlist(n)
        sample = rows
        if n > MAX_TRAIN_PER_LIST * nlist:
            rng = np.random.default_rng(n)
            sample = np.sort(rng.choice(rows, MAX_TRAIN_PER_LIST * nlist, replace=False))
        quantizer = faiss.IndexFlatL2(self.dims)
        index = faiss.IndexIVFPQFastScan(
            quantizer, self.dims, nlist, pq_subquantizers(self.dims), 4, faiss.METRIC_L2
        )
        index.cp.niter = KMEANS_ITERATIONS
        index.cp.seed = 1234
        index.train(self._vecs[sample])
        index.nprobe = min(nlist, self._nprobe) if self._nprobe else default_nprobe(nlist)
        self._index, self._quantizer, self._trained_at = index, quantizer, n
        self._tag[: self._size] = -1
        self._stale = []
        self._index_add(rows)

    # -- internals: search ------------------------------------------------------------------

    def _search_many(self, q: np.ndarray) -> list[list[Match]]:
        if not self._workers:
            return [[] for _ in range(len(q))]
        if self._index is None:
            return self._search_exact(q)
        return self._search_index(q)

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
        _, ids = self._index.search(q, k)
        rows = ids & _ROW_MASK
        rows[(ids < 0) | (rows >= self._size)] = 0
        valid = (ids >= 0) & (self._tag[rows] == ids)  # a removed template's id is stale
        results: list[list[Match]] = []
        need_exact: list[int] = []
        for i in range(len(q)):
            cand = rows[i][valid[i]]
            diff = self._vecs[cand] - q[i]
            order = np.argsort(np.einsum("ij,ij->i", diff, diff), kind="stable")
            slots = list(dict.fromkeys(self._owner[cand[order]].tolist()))[:RERANK_WORKERS]
            if len(slots) < 2 and len(self._workers) >= 2:
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
