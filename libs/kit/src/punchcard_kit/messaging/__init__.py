"""Events in and out: the envelope, the transactional outbox and its relay, the consumer loop."""

from .envelope import Message, decode_envelope, encode_envelope, new_envelope, unpack_payload
from .outbox import OutboxRecord, add_records, add_to_outbox, outbox_record, tombstone_record

__all__ = [
    "Message",
    "OutboxRecord",
    "add_records",
    "add_to_outbox",
    "decode_envelope",
    "encode_envelope",
    "new_envelope",
    "outbox_record",
    "tombstone_record",
    "unpack_payload",
]
