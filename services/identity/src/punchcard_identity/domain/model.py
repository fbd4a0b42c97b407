"""Workers as identity sees them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from punchcard.v1 import common_pb2


class WorkerStatus(enum.StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"

    def proto(self) -> int:
        return {
            WorkerStatus.PENDING: common_pb2.WORKER_STATUS_PENDING,
            WorkerStatus.ACTIVE: common_pb2.WORKER_STATUS_ACTIVE,
            WorkerStatus.INACTIVE: common_pb2.WORKER_STATUS_INACTIVE,
        }[self]


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
