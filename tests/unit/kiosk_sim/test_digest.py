"""The roster digest, against vectors written out by hand from docs/device-sync.md's rule."""

import hashlib

from punchcard_kiosk_sim import EMPTY_DIGEST, SimulatedClock, profile_line, roster_digest

ANA = {
    "worker_id": "w-1",
    "employee_id": "E100",
    "display_name": "Ana Pérez",
    "status": "Active",
    "allowed_methods": ["FACE", "PIN"],
    "pin_set": True,
}
EMILE = {
    "worker_id": "w-2",
    "employee_id": "E101",
    "display_name": "Émile 😀",
    "status": "Pending",
    "allowed_methods": ["PIN"],
    "pin_set": False,
}
ZOE = {
    "worker_id": "w-3",
    "employee_id": "E102",
    "display_name": "Zoë",
    "status": "Active",
    "allowed_methods": ["PIN"],
    "pin_set": True,
}

# Compact, keys sorted, non-ASCII as itself (not \u escapes).
ANA_LINE = (
    '{"allowed_methods":["FACE","PIN"],"display_name":"Ana Pérez","employee_id":"E100",'
    '"pin_set":true,"status":"Active","worker_id":"w-1"}'
)
EMILE_LINE = (
    '{"allowed_methods":["PIN"],"display_name":"Émile 😀","employee_id":"E101",'
    '"pin_set":false,"status":"Pending","worker_id":"w-2"}'
)
ZOE_LINE = (
    '{"allowed_methods":["PIN"],"display_name":"Zoë","employee_id":"E102",'
    '"pin_set":true,"status":"Active","worker_id":"w-3"}'
)
# sha256sum of the three lines above in code-point order (Zoë before Émile: 'Z' < 'É'),
# joined with "\n", no trailing newline; computed outside Python with printf | sha256sum.
THREE_WORKERS = "4b49478e3ee64db96500c03375d4266b0eae7f2f27cafe91cfde5f3ef37c5985"
ONLY_ANA = "043ad222ef0658883f767f24770747eac994930bdbd2f7fd30ef77f5df80b08f"


def test_empty_roster_is_the_sha256_of_nothing():
    assert EMPTY_DIGEST == hashlib.sha256(b"").hexdigest()
    assert EMPTY_DIGEST == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert roster_digest([]) == EMPTY_DIGEST


def test_a_profile_line_is_compact_sorted_json_with_non_ascii_as_is():
    assert profile_line(ANA) == ANA_LINE
    assert profile_line(EMILE) == EMILE_LINE
    assert profile_line(ZOE) == ZOE_LINE


def test_known_vectors():
    assert roster_digest([ANA]) == ONLY_ANA
    assert roster_digest([EMILE, ZOE, ANA]) == THREE_WORKERS
    by_hand = "\n".join([ANA_LINE, ZOE_LINE, EMILE_LINE]).encode("utf-8")
    assert hashlib.sha256(by_hand).hexdigest() == THREE_WORKERS


def test_lines_sort_by_code_point_not_utf16_or_locale():
    # U+FF21 sorts before U+1F600 by code point (UTF-16 code units would put the emoji first).
    a = {"worker_id": "a", "display_name": "\uff21"}
    b = {"worker_id": "b", "display_name": "\U0001f600"}
    expected = "\n".join(
        [
            '{"display_name":"\uff21","worker_id":"a"}',
            '{"display_name":"\U0001f600","worker_id":"b"}',
        ]
    )
    assert roster_digest([b, a]) == hashlib.sha256(expected.encode("utf-8")).hexdigest()


def test_clock_digest_follows_its_roster_and_cache_invalidation():
    clock = SimulatedClock("http://unused", "pcc_x_y", session=None)  # type: ignore[arg-type]
    assert clock.digest() == EMPTY_DIGEST
    clock.roster["w-3"] = ZOE
    clock.roster["w-1"] = ANA
    clock.roster["w-2"] = EMILE
    assert clock.digest() == THREE_WORKERS
    del clock.roster["w-3"]
    clock.roster.pop("w-2")
    assert clock.digest() == ONLY_ANA
    clock.roster = {}
    assert clock.digest() == EMPTY_DIGEST
    clock.roster.update({"w-1": dict(ANA)})
    assert clock.digest() == ONLY_ANA
    clock.roster["w-1"]["display_name"] = "edited in place"  # not seen by the cache ...
    assert clock.digest(fresh=True) != ONLY_ANA  # ... unless asked
