"""Biometric templates sealed at rest: AES-256-GCM under device-sync's BIOMETRIC_KEY, a fresh
96-bit nonce per seal, and the template's owner (tenant, worker, slot) as associated data, so
a sealed template copied to another row does not open."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class SealBroken(Exception):
    """A sealed template that does not open (another key, another row, or altered)."""


class AesGcmSealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("BIOMETRIC_KEY must be 32 bytes (base64)")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except InvalidTag:
            raise SealBroken("the sealed template does not open") from None
