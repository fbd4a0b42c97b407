"""Evidence photos encrypted at rest: AES-256-GCM with face-match's own key
(``EVIDENCE_PHOTO_KEY``, 32 bytes in base64), a fresh 96-bit nonce per photo, and the photo's
tenant and attempt id as associated data, so a row copied onto another attempt or tenant does
not open. Stored as ``version (1 byte) || nonce (12) || ciphertext+tag``."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"


class PhotoUnreadable(Exception):
    """The stored photo does not open with this key for this attempt."""


class EvidenceCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("EVIDENCE_PHOTO_KEY must be 32 bytes (base64)")
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, key: str) -> EvidenceCipher:
        return cls(base64.b64decode(key, validate=True))

    @staticmethod
    def _aad(tenant_id: str, attempt_id: str) -> bytes:
        return f"punchcard-evidence:{tenant_id}/{attempt_id}".encode()

    def seal(self, tenant_id: str, attempt_id: str, photo: bytes) -> bytes:
        nonce = os.urandom(12)
        return VERSION + nonce + self._aead.encrypt(nonce, photo, self._aad(tenant_id, attempt_id))

    def open(self, tenant_id: str, attempt_id: str, sealed: bytes) -> bytes:
        if sealed[:1] != VERSION:
            raise PhotoUnreadable("unknown evidence photo format")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], self._aad(tenant_id, attempt_id))
        except InvalidTag:
            raise PhotoUnreadable("the evidence photo does not open with this key") from None
