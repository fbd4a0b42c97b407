"""Where the test servers are: the tests' own local stack (`PUNCHCARD_STACK=test scripts/stack
up`, which `make test` starts), or what the environment says. Never the stack `make run` uses:
whatever a test leaves behind must not reach the running system."""

import ipaddress
import os
import secrets
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:15442")
KAFKA = os.environ.get("TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19102")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:16389/0")
VENV_BIN = REPO / ".venv" / "bin"
# Where `make setup` placed dlib's face models (face-match), unless the environment says.
DEEPFACE_HOME = os.environ.get("DEEPFACE_HOME", str(REPO / ".local" / "deepface"))


def unique(prefix: str) -> str:
    """A fresh name for this test's own database, topic, group or tenant."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def documentation_ip(network: str = "2001:db8::") -> str:
    """A client address of this test's own (IPv6, documentation range): the gateway's login
    throttle counts failures per client address in the shared Redis, so a test's failed logins
    never count against another test's, or a later run's, client."""
    return str(ipaddress.IPv6Address(network) + secrets.randbits(64))
