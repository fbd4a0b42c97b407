"""What deploy/k8s/render-topics.py and render-kafka-users.py share: where the catalogue is,
the Strimzi cluster, and the command line (write the file, or --check that it is current).

Needs only the standard library (and the kit's standard-library module dead_letters.py, loaded by
its path)."""

from __future__ import annotations

import argparse
import importlib.util
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


def _kit_rule(name: str):
    """A standard-library module of the kit's, loaded by its path (no kit install needed)."""
    path = REPO / "libs" / "kit" / "src" / "punchcard_kit" / "messaging" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_punchcard_kit_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Each consumer group's "<group>.dlq" and its config: the kit's rule (punchcard_kit.messaging.
# dead_letters), the same one punchcard-topics and the consumers use.
_DEAD_LETTERS = _kit_rule("dead_letters")
dead_letter_topic = _DEAD_LETTERS.dead_letter_topic
dead_letter_topics = _DEAD_LETTERS.dead_letter_topics


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
