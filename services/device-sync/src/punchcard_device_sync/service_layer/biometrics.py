"""The seam between the ZK edge and biometric templates: what a device uploads in OPERLOG or
BIODATA (``FP``, ``FACE``, ``BIOPHOTO``, ``USER`` lines) goes to ``Biometrics.uploaded``, and
the device lines of the template command kinds come from ``Biometrics.command_lines``. The
edge ships ``NoBiometrics`` (nothing stored, no template commands); the templates' real one
is wired in ``bootstrap``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..domain.model import CommandKind
from ..domain.zk import OperRecord
from .unit_of_work import UnitOfWork


class Biometrics(Protocol):
    async def uploaded(self, uow: UnitOfWork, clock_id: str, records: Sequence[OperRecord]) -> None:
        """In the upload's unit of work (committed with the OPERLOG stamp)."""

    async def command_lines(self, uow: UnitOfWork, kind: CommandKind, body: dict) -> list[str]:
        """The device commands (without ``C:<id>:``) of one queued command of a template
        kind; every line is sent under the command's id. [] acknowledges it at once."""


class NoBiometrics:
    async def uploaded(self, uow: UnitOfWork, clock_id: str, records: Sequence[OperRecord]) -> None:
        return None

    async def command_lines(self, uow: UnitOfWork, kind: CommandKind, body: dict) -> list[str]:
        return []
