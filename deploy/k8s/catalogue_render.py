"""What deploy/k8s/render-topics.py and render-kafka-users.py share: where the catalogue is,
the Strimzi cluster, and the command line (write the file, or --check that it is current).

Needs only the standard library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_CATALOGUE = REPO / "deploy" / "topics.yaml"
API_VERSION = "kafka.strimzi.io/v1beta2"
CLUSTER = "punchcard"


def parser(doc: str, default_output: Path) -> argparse.ArgumentParser:
    """The renderers' common arguments: --catalogue, --output, --cluster, --group-suffix,
    --check."""
    found = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    found.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE)
    found.add_argument("--output", type=Path, default=default_output)
    found.add_argument("--cluster", default=CLUSTER, help="value of the strimzi.io/cluster label")
    found.add_argument(
        "--group-suffix", default="", help="the deployment's CONSUMER_GROUP_SUFFIX, if any"
    )
    found.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    return found


def dead_letter_topics(document: dict, group_suffix: str = "") -> list[tuple[str, int, dict]]:
    """(name, partitions, config) of every consumer group's "<group><suffix>.dlq": the
    catalogue's ``dead_letters`` config, then the group's own. The same rule as the kit's
    ``punchcard_kit.messaging.topics.dead_letter_topics`` (which needs the kit installed; this
    needs only PyYAML): tests/unit/deploy checks that the two agree."""
    letters = document.get("dead_letters") or {}
    partitions = int(letters.get("partitions", 3))
    base = {str(k): str(v) for k, v in (letters.get("config") or {}).items()}
    own = letters.get("groups") or {}
    found = []
    for groups in (document.get("consumer_groups") or {}).values():
        for group in groups or []:
            config = {**base, **{str(k): str(v) for k, v in (own.get(group) or {}).items()}}
            found.append((f"{group}{group_suffix}.dlq", partitions, config))
    return found


def emit(args: argparse.Namespace, text: str, script: str, counted: Callable[[str], str]) -> int:
    """Write ``text`` to ``args.output``, or with --check compare (exit status 1 if stale)."""
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date; run {Path(script).name}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output} ({counted(text)})")
    return 0
