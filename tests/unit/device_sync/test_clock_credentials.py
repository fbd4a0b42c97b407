"""A clock's new credential is an event on the clock's history (punchcard.device.clocks.v1),
so every gateway replica forgets who the old credential was; the event carries no credential."""

import uuid

from punchcard.v1 import device_pb2
from punchcard_device_sync.service_layer import admin
from punchcard_kit.internal_auth import Caller
from punchcard_kit.messaging.catalogue import DEVICE_CLOCKS
from punchcard_kit.messaging.envelope import unpack_payload

from .fakes import Store, factory


async def test_a_rotated_credential_is_published_without_the_credential():
    tenant = str(uuid.uuid4())
    caller = Caller(tenant, "u1", "sysadmin")
    store = Store()
    registered = await admin.register_clock(
        admin.RegisterClock(caller, "K1", "Tablet", "", "UTC"), factory(store)
    )
    store.published.clear()
    credential = await admin.rotate_credential(
        admin.RotateCredential(caller, registered.clock_id), factory(store)
    )
    [(topic, key, envelope)] = store.published
    assert topic == DEVICE_CLOCKS.name
    assert key == DEVICE_CLOCKS.key(tenant_id=tenant, clock_id=registered.clock_id)
    event = unpack_payload(envelope)
    assert isinstance(event, device_pb2.ClockCredentialRotated)
    assert event.clock_id == registered.clock_id
    assert credential.encode() not in envelope.SerializeToString()
    assert registered.clock_id in store.credentials_changed
