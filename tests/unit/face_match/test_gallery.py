"""The in-memory face gallery (domain/gallery.py): exact and FAISS-indexed 1:N search."""

from __future__ import annotations

import numpy as np
import pytest
from punchcard_face_match.domain import gallery as gallery_module
from punchcard_face_match.domain.gallery import Galleries, Gallery

DIMS = 128
# Like Dlib embeddings: different people ~0.9 apart, two samples of one person ~0.35 apart.
CENTRE_SCALE = 0.9 / np.sqrt(2 * DIMS)
SAMPLE_SCALE = 0.35 / np.sqrt(2 * DIMS)


def centres(rng: np.random.Generator, n: int) -> np.ndarray:
    return (rng.standard_normal((n, DIMS)) * CENTRE_SCALE).astype(np.float32)


def samples(rng: np.random.Generator, centre: np.ndarray, k: int) -> np.ndarray:
    return (centre + rng.standard_normal((k, DIMS)) * SAMPLE_SCALE).astype(np.float32)


def reference(enrolled: dict[str, np.ndarray], query: np.ndarray) -> list[tuple[str, float]]:
    """Brute force, the slow obvious way: each worker's minimum np.linalg.norm."""
    best = sorted(
        (float(np.linalg.norm(t.astype(np.float64) - query, axis=1).min()), w)
        for w, t in enrolled.items()
    )
    return [(w, d) for d, w in best[:2]]


def assert_matches(got, want) -> None:
    assert [w for w, _ in got] == [w for w, _ in want]
    np.testing.assert_allclose([d for _, d in got], [d for _, d in want], rtol=1e-5, atol=1e-6)


def unit(i: int) -> np.ndarray:
    v = np.zeros(DIMS, dtype=np.float32)
    v[i] = 1.0
    return v


def test_upsert_replace_remove():
    g = Gallery("Dlib", DIMS)
    assert len(g) == 0 and g.template_count == 0 and "a" not in g
    assert g.upsert("a", np.stack([unit(0), unit(1)]), revision=1)
    assert g.upsert("b", unit(2), revision=7)
    assert len(g) == 2 and g.template_count == 3 and "a" in g
    assert g.revision_of("a") == 1 and g.revision_of("b") == 7 and g.revision_of("x") is None

    # A newer revision replaces the whole template set.
    assert g.upsert("a", np.stack([unit(3), unit(4), unit(5)]), revision=2)
    assert g.template_count == 4 and g.revision_of("a") == 2
    assert g.distance_to("a", unit(3)) == pytest.approx(0.0, abs=1e-6)
    assert g.distance_to("a", unit(0)) == pytest.approx(np.sqrt(2), rel=1e-6)

    assert g.remove("a")
    assert not g.remove("a")
    assert len(g) == 1 and g.template_count == 1 and "a" not in g
    assert g.revision_of("a") is None
    assert g.search(unit(3))[0][0] == "b"
    # Removed workers can be enrolled again, at any revision.
    assert g.upsert("a", unit(6), revision=1)
    assert g.search(unit(6))[0] == ("a", pytest.approx(0.0, abs=1e-6))


def test_older_or_equal_revision_is_ignored():
    g = Gallery("Dlib", DIMS)
    g.upsert("a", unit(0), revision=5)
    assert not g.upsert("a", unit(1), revision=4)
    assert not g.upsert("a", unit(1), revision=5)
    assert g.revision_of("a") == 5
    assert g.distance_to("a", unit(0)) == pytest.approx(0.0, abs=1e-6)
    # A stale payload is still checked.
    with pytest.raises(ValueError):
        g.upsert("a", np.zeros(64, dtype=np.float32), revision=1)


def test_best_two_distinct_workers_with_several_templates_each():
    rng = np.random.default_rng(3)
    g = Gallery("Dlib", DIMS)
    q = unit(0) * 0.5
    # Worker a holds the three nearest templates overall: the runner-up must still be b.
    a = np.stack([q + 0.01 * unit(1), q + 0.02 * unit(2), q + 0.03 * unit(3), unit(9)])
    b = np.stack([unit(10), q + 0.2 * unit(4)])
    c = np.stack([q + 0.5 * unit(5)])
    g.upsert("a", a, 1)
    g.upsert("b", b, 1)
    g.upsert("c", c, 1)
    for w in range(20):
        g.upsert(f"far{w}", samples(rng, np.full(DIMS, 0.3, np.float32), 3), 1)
    got = g.search(q)
    assert got == [("a", pytest.approx(0.01, rel=1e-4)), ("b", pytest.approx(0.2, rel=1e-4))]
    assert_matches(got, reference({"a": a, "b": b, "c": c}, q))


def test_fewer_workers_and_empty_gallery():
    g = Gallery("Dlib", DIMS)
    assert g.search(unit(0)) == []
    assert g.search_many(np.stack([unit(0), unit(1)])) == [[], []]
    assert g.search(unit(0), restrict=["a"]) == []
    assert g.distance_to("a", unit(0)) is None
    g.upsert("a", np.stack([unit(0), unit(1), unit(2)]), 1)
    assert g.search(unit(1)) == [("a", pytest.approx(0.0, abs=1e-6))]
    g.remove("a")
    assert g.search(unit(1)) == []


def test_restrict_searches_only_the_given_workers():
    g = Gallery("Dlib", DIMS)
    for i in range(10):
        g.upsert(f"w{i}", np.stack([unit(i), unit(i) + 0.1 * unit(i + 20)]), 1)
    q = unit(3) + 0.3 * unit(7) + 0.1 * unit(5)
    assert g.search(q)[0][0] == "w3"
    got = g.search(q, restrict={"w5", "w7", "w8", "nobody"})
    assert [w for w, _ in got] == ["w7", "w5"]
    assert got[0][1] == pytest.approx(np.linalg.norm(q - unit(7)), rel=1e-6)
    assert got[1][1] == pytest.approx(np.linalg.norm(q - unit(5)), rel=1e-6)
    assert g.search(q, restrict=["w8"]) == [
        ("w8", pytest.approx(np.linalg.norm(q - unit(8)), rel=1e-6))
    ]
    assert g.search(q, restrict=[]) == []
    assert g.search(q, restrict=["nobody"]) == []
    with pytest.raises(TypeError):
        g.search(q, restrict="w5")


def test_distance_to_is_the_minimum_over_templates():
    rng = np.random.default_rng(5)
    g = Gallery("Dlib", DIMS)
    t = samples(rng, centres(rng, 1)[0], 4)
    g.upsert("a", t, 1)
    g.upsert("b", samples(rng, centres(rng, 1)[0], 2), 1)
    q = samples(rng, t.mean(axis=0), 1)[0]
    want = np.linalg.norm(t.astype(np.float64) - q, axis=1).min()
    assert g.distance_to("a", q) == pytest.approx(want, rel=1e-5)
    assert g.distance_to("nobody", q) is None


def test_dimension_and_count_errors():
    g = Gallery("Dlib", DIMS)
    with pytest.raises(ValueError):
        g.upsert("a", np.zeros((2, 512), np.float32), 1)
    with pytest.raises(ValueError):
        g.upsert("a", np.zeros((0, DIMS), np.float32), 1)
    with pytest.raises(ValueError):
        g.upsert("a", np.zeros((6, DIMS), np.float32), 1)
    with pytest.raises(ValueError):
        g.upsert("a", np.full((1, DIMS), np.nan, np.float32), 1)
    assert len(g) == 0 and g.template_count == 0
    g.upsert("a", unit(0), 1)
    with pytest.raises(ValueError):
        g.search(np.zeros(512, np.float32))
    with pytest.raises(ValueError):
        g.search_many(np.zeros((3, 64), np.float32))
    with pytest.raises(ValueError):
        g.distance_to("a", np.zeros(127, np.float32))


def test_distances_are_true_euclidean_and_batch_matches_single():
    rng = np.random.default_rng(11)
    cs = centres(rng, 60)
    enrolled = {f"w{i}": samples(rng, c, 1 + i % 5) for i, c in enumerate(cs)}
    g = Gallery("Dlib", DIMS)
    for w, t in enrolled.items():
        g.upsert(w, t, 1)
    queries = np.stack([samples(rng, cs[i], 1)[0] for i in range(0, 60, 3)])
    # A stored template itself: distance 0 exactly, no float32 cancellation noise.
    queries = np.vstack([queries, enrolled["w7"][0]])
    batch = g.search_many(queries)
    for q, got in zip(queries, batch, strict=True):
        assert_matches(got, reference(enrolled, q))
        assert g.search(q) == got
    assert batch[-1][0] == ("w7", 0.0)


def test_random_churn_with_compaction_matches_reference():
    rng = np.random.default_rng(17)
    cs = centres(rng, 400)
    g = Gallery("Dlib", DIMS)
    enrolled: dict[str, np.ndarray] = {}
    revisions: dict[str, int] = {}
    for step in range(3000):
        i = int(rng.integers(0, 400))
        w = f"w{i}"
        if rng.random() < 0.4 and w in enrolled:
            assert g.remove(w)
            del enrolled[w]
        else:
            t = samples(rng, cs[i], int(rng.integers(1, 6)))
            revisions[w] = revisions.get(w, 0) + 1
            assert g.upsert(w, t, revisions[w])
            enrolled[w] = t
        if step % 150 == 0:
            q = samples(rng, cs[i], 1)[0]
            assert_matches(g.search(q), reference(enrolled, q))
    assert len(g) == len(enrolled)
    assert g.template_count == sum(len(t) for t in enrolled.values())
    # Remove most workers: the matrix compacts and search stays right.
    for w in list(enrolled)[: len(enrolled) - 5]:
        g.remove(w)
        del enrolled[w]
    for i in range(5):
        q = samples(rng, cs[i], 1)[0]
        assert_matches(g.search(q), reference(enrolled, q))


def enrol_population(g: Gallery, rng: np.random.Generator, n: int, prefix: str = "w"):
    cs = centres(rng, n)
    enrolled = {}
    for i, c in enumerate(cs):
        t = samples(rng, c, 1 + i % 5)
        g.upsert(f"{prefix}{i}", t, 1)
        enrolled[f"{prefix}{i}"] = t
    return cs, enrolled


def agreement(g: Gallery, enrolled, queries) -> float:
    """Fraction of queries whose best worker equals brute force's; returned distances exact."""
    same = 0
    for q, got in zip(queries, g.search_many(queries), strict=True):
        want = reference(enrolled, q)
        same += got[0][0] == want[0][0]
        for w, d in got:
            assert d == pytest.approx(np.linalg.norm(enrolled[w] - q, axis=1).min(), rel=1e-5)
    return same / len(queries)


@pytest.mark.parametrize("nprobe", [None, 4])
def test_faiss_index_agrees_with_exact_search_through_changes(nprobe):
    rng = np.random.default_rng(23)
    g = Gallery("Dlib", DIMS, index_threshold=500, nprobe=nprobe)
    cs, enrolled = enrol_population(g, rng, 1000)  # 3000 templates
    assert g.indexed and g.template_count == 3000
    info = g.index_info()
    assert info is not None and info["ntotal"] - info["stale"] == 3000 and info["nlist"] >= 16
    if nprobe is not None:
        assert info["nprobe"] == nprobe < info["nlist"]  # really approximate, not a full scan
    enough = 0.99 if nprobe is None else 0.93  # nprobe 4 of 64 lists: a coarse search
    pick = rng.choice(len(cs), 200, replace=False)
    queries = np.stack([samples(rng, cs[i], 1)[0] for i in pick])
    assert agreement(g, enrolled, queries) >= enough

    # Changes after training: removals, re-enrolments, newcomers.
    for i in range(0, 1000, 4):
        assert g.remove(f"w{i}")
        del enrolled[f"w{i}"]
    for i in range(1, 1000, 8):
        t = samples(rng, cs[i], 3)
        assert g.upsert(f"w{i}", t, 2)
        enrolled[f"w{i}"] = t
    more = centres(rng, 300)
    for i, c in enumerate(more):
        t = samples(rng, c, 2)
        g.upsert(f"n{i}", t, 1)
        enrolled[f"n{i}"] = t
    assert g.indexed
    info = g.index_info()
    assert info["stale"] > 0  # replaced templates are still in the index, ignored
    assert info["ntotal"] - info["stale"] == g.template_count == sum(map(len, enrolled.values()))
    kept = [i for i in range(1000) if i % 4]
    pick = rng.choice(kept, 300, replace=False)
    queries = np.stack(
        [samples(rng, cs[i], 1)[0] for i in pick] + [samples(rng, c, 1)[0] for c in more[:100]]
    )
    assert agreement(g, enrolled, queries) >= enough
    # Removed people are strangers now: never returned, nobody else near.
    removed = {f"w{i}" for i in range(0, 1000, 4)}
    strangers = np.stack([samples(rng, cs[i], 1)[0] for i in range(0, 400, 4)])
    for got in g.search_many(np.vstack([queries, strangers])):
        assert not removed & {w for w, _ in got}
    assert min(got[0][1] for got in g.search_many(strangers)) > 0.5
    # Restricted search stays exact while the index is in use.
    q = queries[0]
    some = list(enrolled)[:50]
    assert_matches(g.search(q, restrict=some), reference({w: enrolled[w] for w in some}, q))


def test_index_is_retrained_on_growth_and_dropped_on_shrink():
    rng = np.random.default_rng(29)
    g = Gallery("Dlib", DIMS, index_threshold=700)
    cs, enrolled = enrol_population(g, rng, 240)  # 720 templates
    assert g.indexed and g.index_info()["trained_at"] >= 700
    first = g.index_info()["trained_at"]
    more_cs, more = enrol_population(g, rng, 800, prefix="m")  # +2400 templates
    assert g.index_info()["trained_at"] >= 4 * first
    enrolled |= more
    q = samples(rng, more_cs[7], 1)[0]
    assert_matches(g.search(q), reference(enrolled, q))
    for w in list(enrolled)[:-40]:
        g.remove(w)
        del enrolled[w]
    assert not g.indexed  # below index_threshold / 2: exact again
    q = samples(rng, more_cs[-3], 1)[0]
    assert_matches(g.search(q), reference(enrolled, q))


def test_upsert_many_loads_like_single_upserts():
    rng = np.random.default_rng(31)
    cs = centres(rng, 400)
    items = [(f"w{i}", samples(rng, c, 1 + i % 3), 1) for i, c in enumerate(cs)]
    items.append(("w0", samples(rng, cs[0], 2), 3))  # the newest revision wins
    items.append(("w1", samples(rng, cs[1], 2), 0))  # older: ignored
    bulk = Gallery("Dlib", DIMS, index_threshold=700)
    assert bulk.upsert_many(items) == 400
    single = Gallery("Dlib", DIMS, index_threshold=700)
    for w, t, r in items:
        single.upsert(w, t, r)
    assert bulk.indexed and bulk.template_count == single.template_count
    assert bulk.revision_of("w0") == 3 and bulk.revision_of("w1") == 1
    queries = np.stack([samples(rng, c, 1)[0] for c in cs[::10]])
    pairs = zip(bulk.search_many(queries), single.search_many(queries), strict=True)
    for i, (a, b) in zip(range(0, 400, 10), pairs, strict=True):
        assert a[0][0] == b[0][0] == f"w{i}"  # the runner-ups, ~0.9 away, may differ
    with pytest.raises(ValueError):
        bulk.upsert_many([("z", unit(0), 1), ("y", np.zeros(3, np.float32), 1)])
    assert "z" not in bulk


def test_stale_ids_are_purged_and_later_additions_still_found(monkeypatch):
    # Removed templates stay in the index as stale ids until a purge; the purge must not
    # disturb the templates added after it (faiss fast-scan removal leaves dirty slots).
    monkeypatch.setattr(gallery_module, "PURGE_MIN", 50)
    rng = np.random.default_rng(37)
    g = Gallery("Dlib", DIMS, index_threshold=700)
    cs, enrolled = enrol_population(g, rng, 400)  # 1200 templates
    assert g.indexed and g.index_info()["nprobe"] == g.index_info()["nlist"]  # exhaustive
    purges = 0
    for round_ in range(6):
        for i in range(round_, 400, 7):
            w = f"w{i}"
            if w in enrolled and rng.random() < 0.5:
                g.remove(w)
                del enrolled[w]
            else:
                t = samples(rng, cs[i], int(rng.integers(1, 6)))
                g.upsert(w, t, revision=round_ + 2)
                enrolled[w] = t
            stale = g.index_info()["stale"]
            purges += stale == 0
        info = g.index_info()
        assert info["ntotal"] - info["stale"] == g.template_count
    assert purges >= 3
    # Every template is findable through the index (all lists probed: the codes must be intact).
    for w, t in enrolled.items():
        got = g.search(t[-1])
        assert got[0] == (w, pytest.approx(0.0, abs=1e-5))


def test_galleries_registry():
    reg = Galleries()
    assert reg.get("t1", "Dlib") is None
    dlib = reg.for_tenant("t1", "Dlib", 128)
    assert reg.for_tenant("t1", "Dlib", 128) is dlib and reg.get("t1", "Dlib") is dlib
    with pytest.raises(ValueError):
        reg.for_tenant("t1", "Dlib", 512)
    arc = reg.for_tenant("t1", "ArcFace", 512)
    other = reg.for_tenant("t2", "Dlib", 128)
    dlib.upsert("a", np.stack([unit(0), unit(1)]), 1)
    dlib.upsert("b", unit(2), 1)
    arc.upsert("a", np.ones((1, 512), np.float32), 1)
    other.upsert("a", unit(3), 1)
    assert reg.stats() == {"tenants": 2, "galleries": 3, "workers": 3, "templates": 5}
    assert reg.remove_worker("t1", "a")
    assert "a" not in dlib and "a" not in arc and "a" in other
    assert not reg.remove_worker("t1", "a")
    assert not reg.remove_worker("t3", "a")
    assert reg.stats() == {"tenants": 2, "galleries": 3, "workers": 2, "templates": 2}
