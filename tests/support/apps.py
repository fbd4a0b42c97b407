"""Every service's FastAPI app as its OpenAPI snapshot is made of it (``tools/gen_openapi.py``,
with the tool's own settings), for the tests that read every service's routes or OpenAPI."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
try:
    import gen_openapi
finally:
    sys.path.pop(0)

# Each service's package and settings class: the snapshotted ones, and the gateway.
SERVICES = {**gen_openapi.SERVICES, "gateway": ("punchcard_gateway", "GatewaySettings")}


def service_app(name: str) -> FastAPI:
    return gen_openapi.service_app(*SERVICES[name])
