"""Simulated kiosks (clocks) that speak device-sync's clock API (docs/device-sync.md), and
simulated hardware clocks that speak ZKTeco PUSH (ADMS) to its /iclock edge (`ZkDevice`,
`ZkFleet`).

A client only: it implements the contracts (sync loop, acks, roster digest; the PUSH wire
format) on its own and imports no service package.
"""

from punchcard_kiosk_sim.admin import (
    RegistrationError,
    register_clocks,
    register_zk_clocks,
    serial_number,
)
from punchcard_kiosk_sim.clock import (
    FULL_RESYNC,
    REMOVE_WORKER,
    RESULT_NO_SPACE,
    RESULT_OK,
    RESULT_PARAMETER_ERROR,
    RESULT_READ_WRITE_ERROR,
    RESULT_UNKNOWN_COMMAND,
    UPSERT_WORKER,
    Roster,
    SimulatedClock,
    SyncError,
    Unauthorized,
    clock_id_from_credential,
)
from punchcard_kiosk_sim.digest import EMPTY_DIGEST, profile_line, roster_digest
from punchcard_kiosk_sim.fleet import ClockFleet, make_session, raise_fd_limit
from punchcard_kiosk_sim.zk import (
    DeviceOffline,
    HandshakeRefused,
    Punch,
    RequestFailed,
    ZkDevice,
)
from punchcard_kiosk_sim.zk_fleet import Latencies, ZkFleet
from punchcard_kiosk_sim.zk_protocol import Command as ZkCommand

__all__ = [
    "EMPTY_DIGEST",
    "FULL_RESYNC",
    "REMOVE_WORKER",
    "RESULT_NO_SPACE",
    "RESULT_OK",
    "RESULT_PARAMETER_ERROR",
    "RESULT_READ_WRITE_ERROR",
    "RESULT_UNKNOWN_COMMAND",
    "UPSERT_WORKER",
    "ClockFleet",
    "DeviceOffline",
    "HandshakeRefused",
    "Latencies",
    "Punch",
    "RequestFailed",
    "RegistrationError",
    "Roster",
    "SimulatedClock",
    "SyncError",
    "Unauthorized",
    "ZkCommand",
    "ZkDevice",
    "ZkFleet",
    "clock_id_from_credential",
    "make_session",
    "profile_line",
    "raise_fd_limit",
    "register_clocks",
    "register_zk_clocks",
    "roster_digest",
    "serial_number",
]
