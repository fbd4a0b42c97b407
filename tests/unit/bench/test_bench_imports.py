"""bench/ drives the services through their public interfaces (HTTP, Kafka topics with
punchcard.v1 envelopes, the punchcard-* console scripts): only bench/support.py may import a
service's own modules, so that a refactor of a service breaks at most that one file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
SERVICES = (
    "punchcard_identity",
    "punchcard_punch",
    "punchcard_face_match",
    "punchcard_device_sync",
    "punchcard_gateway",
)
BENCHES = sorted(p for p in BENCH.glob("*.py") if p.name != "support.py")


def service_imports(source: str) -> list[str]:
    """The modules of a service that ``source`` imports (anywhere: top level or in a
    function)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [n for n in names if n.split(".", 1)[0] in SERVICES]
    return found


def test_there_are_benches_to_check() -> None:
    assert len(BENCHES) >= 8
    assert (BENCH / "support.py").is_file()


@pytest.mark.parametrize("bench", BENCHES, ids=lambda p: p.name)
def test_a_bench_imports_no_service_internals(bench: Path) -> None:
    assert service_imports(bench.read_text()) == [], (
        f"{bench.name} imports a service's modules: drive the service through its public"
        " interface, or add one small function to bench/support.py"
    )


def test_the_check_sees_every_form_of_import() -> None:
    source = (
        "import punchcard_punch.main\n"
        "from punchcard_identity.domain import pin_policy\n"
        "def f():\n    from punchcard_face_match.domain.gallery import Gallery\n"
        "import punchcard_kit.messaging, punchcard_gateway as g\n"
        "from punchcard.v1 import punch_pb2\n"
    )
    assert sorted(service_imports(source)) == [
        "punchcard_face_match.domain.gallery",
        "punchcard_gateway",
        "punchcard_identity.domain",
        "punchcard_punch.main",
    ]
