"""The one service shape (docs/architecture.md, "Inside a service"), checked on the source:
all five services have the same folders with the same meaning, the domain and the service
layer stay pure of transport and drivers, HTTP errors are raised only by entrypoints, topics
are named only through the kit's catalogue, and no service imports another."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SERVICES = {
    "gateway": "punchcard_gateway",
    "identity": "punchcard_identity",
    "face-match": "punchcard_face_match",
    "punch": "punchcard_punch",
    "device-sync": "punchcard_device_sync",
}
PACKAGES = set(SERVICES.values())

# What the pure layers may never import (directly): transports, drivers, the kit's I/O.
TRANSPORT = ("fastapi", "starlette", "httpx", "uvicorn")
DRIVERS = ("asyncpg", "redis", "aiokafka", "deepface", "tensorflow", "cv2", "dlib")
KIT_HTTP = ("punchcard_kit.http_errors", "punchcard_kit.internal_auth", "punchcard_kit.service")
KIT_IO = KIT_HTTP + (
    "punchcard_kit.db",
    "punchcard_kit.unit_of_work",
    "punchcard_kit.tenancy",
    "punchcard_kit.messaging.consumer",
    "punchcard_kit.messaging.relay",
    "punchcard_kit.messaging.producer",
    "punchcard_kit.messaging.follower",
)
TOPIC_LITERAL = re.compile(r"^punchcard\.[a-z-]+\.[a-z-]+\.v\d+$")


def _package(service: str) -> Path:
    return ROOT / "services" / service / "src" / SERVICES[service]


def _modules(service: str, below: str = "") -> list[Path]:
    base = _package(service) / below
    files = [base] if base.suffix == ".py" else sorted(base.rglob("*.py"))
    return [f for f in files if "migrations" not in f.parts]


def _imports(path: Path) -> list[tuple[str, int]]:
    """(module, level) of each import; ``from ..adapters import x`` is ("adapters", 2)."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


def _absolute(path: Path, service: str, module: str, level: int) -> str:
    if level == 0:
        return module
    package = path.relative_to(_package(service).parent).with_suffix("").parts[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join((*base, module) if module else base)


def _starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_folders(service: str) -> None:
    package = _package(service)
    for part in (
        "domain/__init__.py",
        "service_layer/unit_of_work.py",
        "adapters",
        "entrypoints/deps.py",
        "views.py",
        "bootstrap.py",
        "main.py",
        "settings.py",
    ):
        assert (package / part).exists(), f"{service} has no {part}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_imports_no_transport_driver_adapter_or_kit_io(service: str) -> None:
    own = SERVICES[service]
    for path in _modules(service, "domain"):
        for module, level in _imports(path):
            name = _absolute(path, service, module, level)
            assert not _starts(name, TRANSPORT + DRIVERS + KIT_IO), f"{path}: {name}"
            for layer in ("adapters", "service_layer", "entrypoints", "views", "bootstrap"):
                assert not _starts(name, (f"{own}.{layer}",)), f"{path}: {name}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_layer_imports_no_transport_driver_or_adapter(service: str) -> None:
    own = SERVICES[service]
    for path in _modules(service, "service_layer"):
        for module, level in _imports(path):
            name = _absolute(path, service, module, level)
            assert not _starts(name, TRANSPORT + DRIVERS + KIT_HTTP), f"{path}: {name}"
            for layer in ("adapters", "entrypoints", "bootstrap", "main"):
                assert not _starts(name, (f"{own}.{layer}",)), f"{path}: {name}"


@pytest.mark.parametrize("service", SERVICES)
def test_only_entrypoints_speak_http_errors(service: str) -> None:
    for path in _modules(service):
        if "entrypoints" in path.parts:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in ("ApiError", "HTTPException"):
                pytest.fail(f"{path}:{node.lineno} uses {node.id} outside entrypoints")


@pytest.mark.parametrize("service", SERVICES)
def test_topics_are_named_only_through_the_kit_catalogue(service: str) -> None:
    for path in _modules(service):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not TOPIC_LITERAL.match(node.value), (
                    f"{path}:{node.lineno} names topic {node.value!r}; use "
                    "punchcard_kit.messaging.catalogue"
                )


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = tuple(PACKAGES - {SERVICES[service]})
    for path in _modules(service):
        for module, level in _imports(path):
            if level == 0:
                assert not _starts(module, others), f"{path} imports {module}"


def test_the_kit_imports_no_service() -> None:
    for path in sorted((ROOT / "libs/kit/src/punchcard_kit").rglob("*.py")):
        for module, level in _imports(path):
            if level == 0:
                assert not _starts(module, tuple(PACKAGES)), f"{path} imports {module}"
