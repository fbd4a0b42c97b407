"""The workers punch knows of (its projection of identity's), as far as deciding goes."""

from __future__ import annotations

from enum import StrEnum


class WorkerStatus(StrEnum):
    """A worker's status as identity publishes it (``common.proto`` ``WorkerStatus``); only an
    ``Active`` worker's attempts are recorded. Stored as these values in ``workers.status``."""

    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"
