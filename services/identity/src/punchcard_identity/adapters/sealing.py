"""PINs travel sealed: the edge seals ``"<attempt_id>:<pin>"`` to identity's public key with a
libsodium sealed box (the kit's ``punchcard_kit.sealing``); only identity, holding the private
key, can open it. Binding the attempt id inside the box stops a captured box from being
replayed in another attempt."""

from __future__ import annotations

from punchcard.v1 import common_pb2
from punchcard_kit import sealing
from punchcard_kit.sealing import SealingKey, device_pin_binding, seal_bound

from ..domain.pin_attempts import UnsealError

__all__ = ["DevicePinSealer", "PinOpener", "SealingKey", "UnsealError", "seal_pin"]


def seal_pin(public_key: bytes, attempt_id: str, pin: str) -> bytes:
    """What the edge does with a kiosk's PIN, at once (also used by tests and benchmarks)."""
    return seal_bound(public_key, attempt_id, pin)


class PinOpener(sealing.SealedOpener):
    def open(self, key_id: str, ciphertext: bytes, attempt_id: str) -> str:
        try:
            return super().open(key_id, ciphertext, attempt_id)
        except sealing.UnsealError as error:
            raise UnsealError(str(error)) from None


class DevicePinSealer:
    """A worker's PIN sealed to device-sync (hardware clocks that verify PINs), bound to
    ``<tenant_id>/<worker_id>``: only device-sync opens it, and only for that worker."""

    def __init__(self, public_key: bytes, key_id: str) -> None:
        self._key, self._key_id = public_key, key_id

    def seal(self, tenant_id: str, worker_id: str, pin: str) -> common_pb2.SealedBox:
        ciphertext = seal_bound(self._key, device_pin_binding(tenant_id, worker_id), pin)
        return common_pb2.SealedBox(ciphertext=ciphertext, recipient_key_id=self._key_id)
