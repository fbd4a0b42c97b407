"""PIN hashing: argon2id (argon2-cffi) of the PIN keyed with a server-side pepper.

    stored = argon2id( HMAC-SHA256(pepper[key_id], pin) )   plus key_id beside it

A stolen database alone cannot be brute-forced (10^4–10^6 PINs would otherwise fall in
minutes): the pepper lives only in the service's secret settings. Several peppers may be
configured; new hashes use the current one, and old hashes keep verifying with theirs until the
worker's PIN is next set (rotation).

Parameters: OWASP's minimum for argon2id is m=19 MiB, t=2, p=1; we use exactly that by
default (``bench/pin_verification.py`` measures its cost on this machine).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from prometheus_client import Counter, Histogram

from ..domain.model import StoredPin

__all__ = ["PinHasher", "StoredPin"]

OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1

# What PIN hashing costs where it runs (argon2 on a worker thread, with the pepper's HMAC): the
# wall time of each hash or check, and the CPU it took. Sizing identity is sizing this.
HASH_SECONDS = Histogram(
    "identity_pin_hash_seconds",
    "Wall time of one PIN hash (op=hash) or check (op=verify), argon2id with the pepper",
    ["op"],
    buckets=(0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0),
)
HASH_CPU = Counter(
    "identity_pin_hash_cpu_seconds_total",
    "CPU time spent hashing (op=hash) and checking (op=verify) PINs, on the hashing threads",
    ["op"],
)


class PinHasher:
    def __init__(
        self,
        peppers: dict[str, bytes],
        current_key_id: str,
        *,
        memory_kib: int = OWASP_MEMORY_KIB,
        time_cost: int = OWASP_TIME_COST,
        parallelism: int = OWASP_PARALLELISM,
    ) -> None:
        if current_key_id not in peppers:
            raise ValueError(f"no pepper with key id {current_key_id!r}")
        if any(len(p) < 32 for p in peppers.values()):
            raise ValueError("each pepper must be at least 32 bytes")
        if memory_kib < OWASP_MEMORY_KIB or time_cost < OWASP_TIME_COST:
            raise ValueError("argon2id parameters below the OWASP minimum (m=19 MiB, t=2)")
        self._peppers = dict(peppers)
        self.current_key_id = current_key_id
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        # Verified against when the Employee ID is unknown, so that answer costs the same time.
        self._dummy = self._hasher.hash(self._keyed("000000", current_key_id))

    def _keyed(self, pin: str, key_id: str) -> bytes:
        return hmac.new(self._peppers[key_id], pin.encode(), hashlib.sha256).digest()

    def hash(self, pin: str) -> StoredPin:
        with _measured("hash"):
            return StoredPin(
                self._hasher.hash(self._keyed(pin, self.current_key_id)), self.current_key_id
            )

    def verify(self, pin: str, stored: StoredPin | None) -> bool:
        """True when ``pin`` matches; with ``stored=None`` (no such worker / no PIN) the same
        work is done against a dummy hash and the answer is False."""
        with _measured("verify"):
            if stored is None or stored.key_id not in self._peppers:
                self._check(self._dummy, self._keyed(pin, self.current_key_id))
                return False
            return self._check(stored.hash, self._keyed(pin, stored.key_id))

    def _check(self, encoded: str, secret: bytes) -> bool:
        try:
            return self._hasher.verify(encoded, secret)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: StoredPin) -> bool:
        return stored.key_id != self.current_key_id or self._hasher.check_needs_rehash(stored.hash)


# Each op's children, looked up once.
_TIMED = {op: (HASH_CPU.labels(op), HASH_SECONDS.labels(op)) for op in ("hash", "verify")}


@contextmanager
def _measured(op: str) -> Iterator[None]:
    """Time a hash on the thread that runs it: ``thread_time`` is that thread's CPU alone."""
    cpu_seconds, seconds = _TIMED[op]
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        cpu_seconds.inc(time.thread_time() - cpu)
        seconds.observe(time.perf_counter() - wall)
