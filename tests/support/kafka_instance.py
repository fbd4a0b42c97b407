"""A throw-away broker of a test's own (`scripts/stack kafka-instance`), for chaos and security
tests that stop, kill or reconfigure Kafka while the shared one keeps serving the other tests.

Its ports are picked below the kernel's ephemeral range: a port in that range may be taken at
any moment by some client's outgoing connection (the services, the tests, Kafka itself), and a
broker that cannot bind its listener shuts down at start. Should the start fail all the same
(a port taken between the check and the bind), it is tried again on other ports."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
from pathlib import Path

from .stack import REPO

FIRST_PORT = 20000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int) -> int:
    """A port p with p .. p+count-1 all free on loopback, outside the ephemeral range."""
    last = max(FIRST_PORT + 1000, _ephemeral_start()) - count
    for _ in range(200):
        port = random.randrange(FIRST_PORT, last)
        sockets = [socket.socket() for _ in range(count)]
        try:
            for offset, sock in enumerate(sockets):
                sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return port
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


def stack(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KAFKA_HEAP_OPTS": "-Xms128m -Xmx512m"}  # a test's broker is small
    done = subprocess.run(
        [str(REPO / "scripts" / "stack"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, f"scripts/stack {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done


def start(directory: Path, count: int = 2, configure=None, tries: int = 3) -> int:
    """Start a broker in `directory` on fresh ports (p: PLAINTEXT, p+1: controller, p+2..:
    whatever `configure(directory, p)` writes to extra.properties); answers p."""
    for attempt in range(tries):
        port = free_ports(count)
        if configure is not None:
            configure(directory, port)
        try:
            stack("kafka-instance", "up", str(directory), str(port), str(port + 1))
            return port
        except AssertionError:
            if attempt == tries - 1:
                raise
            stack("kafka-instance", "kill", str(directory))
            shutil.rmtree(directory / "data", ignore_errors=True)  # formatted for those ports
    raise AssertionError("unreachable")


def restart(directory: Path) -> None:
    """Start it again on the ports it had (its clients know them)."""
    stack("kafka-instance", "up", str(directory))


def kill(directory: Path) -> None:
    stack("kafka-instance", "kill", str(directory))
