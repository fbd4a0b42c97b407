"""Snapshots each upstream service's OpenAPI document into ``proto/openapi/<service>.json``.

The documents are contracts, like the protobuf ones beside them: the gateway merges them into
its own OpenAPI (``punchcard_gateway.entrypoints.openapi``) without ever importing another
service. Each service's app is built in-process with test settings (nothing is opened: no
database, Kafka or Redis is reached) and asked for ``app.openapi()``.

    python tools/gen_openapi.py          # write the snapshots
    python tools/gen_openapi.py --check  # exit 1 if one is stale (a unit test runs this)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "proto" / "openapi"

# service -> (package, settings class)
SERVICES = {
    "identity": ("punchcard_identity", "IdentitySettings"),
    "device-sync": ("punchcard_device_sync", "DeviceSyncSettings"),
    "punch": ("punchcard_punch", "PunchSettings"),
    "face-match": ("punchcard_face_match", "FaceMatchSettings"),
}
# Never connected to: building an app opens nothing.
TEST_SETTINGS = {
    "environment": "test",
    "database_url": "postgresql://openapi@127.0.0.1:1/openapi",
    "kafka_bootstrap_servers": "127.0.0.1:1",
    "redis_url": "redis://127.0.0.1:1/0",
}


def service_app(package: str, settings_name: str):
    """A service's app, built with ``TEST_SETTINGS`` (nothing is connected to)."""
    settings_cls = getattr(importlib.import_module(f"{package}.settings"), settings_name)
    build_app = importlib.import_module(f"{package}.main").build_app
    fields = settings_cls.model_fields
    return build_app(settings_cls(**{k: v for k, v in TEST_SETTINGS.items() if k in fields}))


def document(service: str) -> dict:
    return service_app(*SERVICES[service]).openapi()


def render(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a snapshot is stale")
    args = parser.parse_args(argv)
    os.environ.setdefault("ENVIRONMENT", "test")
    stale = []
    for service in SERVICES:
        path = OUT / f"{service}.json"
        text = render(document(service))
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(
            f"stale: {', '.join(stale)}; run: python tools/gen_openapi.py "
            "(then python tools/gen_portal_client.py)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
