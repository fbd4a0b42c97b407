import secrets

import pytest
from punchcard_identity.adapters.pin_hasher import PinHasher, StoredPin

PEPPER_A = secrets.token_bytes(32)
PEPPER_B = secrets.token_bytes(32)


@pytest.fixture(scope="module")
def hasher():
    return PinHasher({"a": PEPPER_A}, "a")


def test_right_pin_verifies_wrong_pin_does_not(hasher):
    stored = hasher.hash("8351")
    assert stored.key_id == "a" and stored.hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify("8351", stored)
    assert not hasher.verify("8352", stored)


def test_the_pin_is_not_in_what_is_stored(hasher):
    stored = hasher.hash("639172")
    assert "639172" not in stored.hash


def test_same_pin_twice_gives_different_hashes(hasher):
    assert hasher.hash("8351").hash != hasher.hash("8351").hash


def test_without_the_pepper_the_hash_is_useless(hasher):
    stored = hasher.hash("8351")
    other = PinHasher({"a": PEPPER_B}, "a")
    assert not other.verify("8351", stored)


def test_unknown_worker_is_false_after_the_same_work(hasher):
    assert hasher.verify("8351", None) is False


def test_rotation_old_hashes_verify_new_ones_use_the_new_key():
    old = PinHasher({"a": PEPPER_A}, "a").hash("8351")
    rotated = PinHasher({"a": PEPPER_A, "b": PEPPER_B}, "b")
    assert rotated.verify("8351", old)
    assert rotated.needs_rehash(old)
    assert rotated.hash("8351").key_id == "b"
    assert not rotated.verify("8351", StoredPin(old.hash, "gone"))


def test_weak_parameters_and_short_peppers_are_refused():
    with pytest.raises(ValueError):
        PinHasher({"a": b"short"}, "a")
    with pytest.raises(ValueError):
        PinHasher({"a": PEPPER_A}, "a", memory_kib=4096)
    with pytest.raises(ValueError):
        PinHasher({"a": PEPPER_A}, "missing")


def test_each_hash_and_check_is_measured_on_its_own_thread(hasher):
    """``identity_pin_hash_seconds`` and ``identity_pin_hash_cpu_seconds_total`` (what sizing
    identity means, and what the PIN bench subtracts to find the cost beyond argon2): a check
    against no PIN is measured too, since it does the same work."""
    import threading

    from prometheus_client import REGISTRY

    def sample(name: str, op: str) -> float:
        return REGISTRY.get_sample_value(name, {"op": op}) or 0.0

    before = {
        (name, op): sample(name, op)
        for name in ("identity_pin_hash_seconds_count", "identity_pin_hash_cpu_seconds_total")
        for op in ("hash", "verify")
    }
    stored = hasher.hash("8351")
    checks = [threading.Thread(target=hasher.verify, args=(pin, stored)) for pin in ("8351", "1")]
    checks.append(threading.Thread(target=hasher.verify, args=("8351", None)))
    for t in checks:
        t.start()
    for t in checks:
        t.join()
    gained = {key: sample(*key) - value for key, value in before.items()}
    assert gained[("identity_pin_hash_seconds_count", "hash")] == 1
    assert gained[("identity_pin_hash_seconds_count", "verify")] == 3
    # argon2id at m=19 MiB, t=2 takes milliseconds of CPU, whichever thread ran it.
    assert gained[("identity_pin_hash_cpu_seconds_total", "hash")] > 0.001
    assert gained[("identity_pin_hash_cpu_seconds_total", "verify")] > 0.003
