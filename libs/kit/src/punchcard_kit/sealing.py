"""Secrets sealed to one service: a libsodium sealed box (``crypto_box_seal``; PyNaCl) to the
recipient's X25519 public key, whose plaintext is ``"<binding>:<secret>"``. Only the holder
of the private key opens it; the sender cannot open it again. The binding (a kiosk attempt's
id, a ``tenant/worker``) is checked on opening, so a captured box does not open for another
attempt or another worker.

One implementation for every sealed PIN: the kiosk edge seals a typed PIN to identity;
identity seals a worker's PIN to device-sync for clocks that verify PINs themselves."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

__all__ = [
    "PUBLIC_KEY_BYTES",
    "SealedOpener",
    "SealingKey",
    "UnsealError",
    "device_pin_binding",
    "seal_bound",
]

PUBLIC_KEY_BYTES = PublicKey.SIZE


class UnsealError(Exception):
    """The box cannot be opened (another key, altered) or is bound to something else."""


@dataclass(frozen=True)
class SealingKey:
    key_id: str
    public_key_b64: str


def seal_bound(public_key: bytes, binding: str, secret: str) -> bytes:
    """Seal ``secret`` bound to ``binding`` to the recipient's public key."""
    return SealedBox(PublicKey(public_key)).encrypt(f"{binding}:{secret}".encode())


def device_pin_binding(tenant_id: object, worker_id: object) -> str:
    """What a worker's PIN sealed to device-sync (``DevicePinSealed``) is bound to."""
    return f"{tenant_id}/{worker_id}"


class SealedOpener:
    """The recipient's side: its private keys by id (old ones kept a while after a rotation
    so boxes in flight still open) and the id of the current one."""

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

    def open(self, key_id: str, ciphertext: bytes, binding: str) -> str:
        box = self._boxes.get(key_id)
        if box is None:
            raise UnsealError(f"unknown sealing key {key_id!r}")
        try:
            plain = box.decrypt(ciphertext).decode()
        except (CryptoError, UnicodeDecodeError):
            raise UnsealError("the sealed box cannot be opened") from None
        bound, sep, secret = plain.partition(":")
        if not sep or bound != binding:
            raise UnsealError("the sealed box is bound to something else")
        return secret
