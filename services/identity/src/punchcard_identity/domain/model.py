"""Workers as identity sees them, and the errors its rules raise (the kit's family, with
identity's codes)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from punchcard.v1 import common_pb2
from punchcard_kit.contract_enums import to_proto
from punchcard_kit.errors import Conflict, NotFound


class WorkerStatus(enum.StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"

    def proto(self) -> int:
        return to_proto(common_pb2.WorkerStatus, self)


@dataclass(frozen=True)
class Worker:
    id: str
    tenant_id: str
    employee_id: str
    name: str
    job_title: str
    site_id: str
    status: WorkerStatus
    pin_allowed: bool
    pin_set_at: datetime | None
    pin_locked_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def pin_set(self) -> bool:
        return self.pin_set_at is not None

    def pin_locked(self, now: datetime) -> bool:
        return self.pin_locked_until is not None and self.pin_locked_until > now

    def may_have_pin(self) -> bool:
        return self.status in (WorkerStatus.ACTIVE, WorkerStatus.PENDING)


@dataclass(frozen=True)
class StoredPin:
    """A PIN as stored: its argon2id hash and the id of the pepper it was keyed with."""

    hash: str
    key_id: str


# -- errors ------------------------------------------------------------------------------------
def worker_not_found() -> NotFound:
    return NotFound.of("worker")


class DuplicateEmployeeId(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "another worker has this Employee ID (capitals and small letters count as the same)",
            "employee_id",
            code="DUPLICATE_EMPLOYEE_ID",
        )


class WorkerInactive(Conflict):
    def __init__(self) -> None:
        super().__init__("an Inactive worker cannot have a PIN", "pin", code="WORKER_INACTIVE")


class DevicePinsNotConfigured(Conflict):
    """The tenant asks for hardware clocks that verify PINs, but this installation has no
    key for device-sync (DEVICE_PIN_PUBLIC_KEY)."""

    def __init__(self) -> None:
        super().__init__(
            "hardware clocks cannot verify PINs here: no device PIN key is configured",
            "devices_verify_pins",
            code="DEVICE_PINS_NOT_CONFIGURED",
        )
