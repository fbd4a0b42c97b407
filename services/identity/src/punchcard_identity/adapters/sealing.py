"""PINs travel sealed: the edge seals ``"<attempt_id>:<pin>"`` to identity's public key with a
libsodium sealed box (PyNaCl); only identity, holding the private key, can open it. Binding the
attempt id inside the box stops a captured box from being replayed in another attempt."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from ..domain.pin_attempts import UnsealError

__all__ = ["PinOpener", "SealingKey", "UnsealError", "seal_pin"]


@dataclass(frozen=True)
class SealingKey:
    key_id: str
    public_key_b64: str


def seal_pin(public_key: bytes, attempt_id: str, pin: str) -> bytes:
    """What the edge does with a kiosk's PIN, at once (also used by tests and benchmarks)."""
    return SealedBox(PublicKey(public_key)).encrypt(f"{attempt_id}:{pin}".encode())


class PinOpener:
    def __init__(self, private_keys: dict[str, bytes], current_key_id: str) -> None:
        if current_key_id not in private_keys:
            raise ValueError(f"no sealing key with id {current_key_id!r}")
        self._boxes = {k: SealedBox(PrivateKey(v)) for k, v in private_keys.items()}
        self._public = {k: bytes(PrivateKey(v).public_key) for k, v in private_keys.items()}
        self.current_key_id = current_key_id

    @property
    def current(self) -> SealingKey:
        key = self._public[self.current_key_id]
        return SealingKey(self.current_key_id, base64.b64encode(key).decode())

    def public_key(self, key_id: str | None = None) -> bytes:
        return self._public[key_id or self.current_key_id]

    def open(self, key_id: str, ciphertext: bytes, attempt_id: str) -> str:
        box = self._boxes.get(key_id)
        if box is None:
            raise UnsealError(f"unknown sealing key {key_id!r}")
        try:
            plain = box.decrypt(ciphertext).decode()
        except (CryptoError, UnicodeDecodeError):
            raise UnsealError("the sealed PIN cannot be opened") from None
        bound_attempt, sep, pin = plain.partition(":")
        if not sep or bound_attempt != attempt_id:
            raise UnsealError("the sealed PIN belongs to another attempt")
        return pin
