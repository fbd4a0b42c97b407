"""``punchcard-face-weights``: place dlib's models where DeepFace looks for them.

DeepFace would download its weights on first use; here nothing is downloaded at run time. The
PyPI package ``face-recognition-models`` (a dependency of this service) carries dlib's ResNet
face recognition model and its 5-point landmark model; this command copies them into
``$DEEPFACE_HOME/.deepface/weights/`` (``make setup`` runs it; a container image runs it at
build time). It compares contents and is a no-op when the files are already there.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

from .pipeline import DETECTOR_WEIGHTS, MODEL_WEIGHTS, weights_folder

FILES = (MODEL_WEIGHTS["Dlib"], DETECTOR_WEIGHTS["dlib"])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_folder() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "the package face-recognition-models is not installed (it carries dlib's models)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def place(target: Path | None = None) -> list[Path]:
    source = source_folder()
    target = target or weights_folder()
    target.mkdir(parents=True, exist_ok=True)
    placed = []
    for name in FILES:
        origin, destination = source / name, target / name
        if not origin.is_file():
            raise SystemExit(f"{name} is missing from {source}")
        if destination.is_file() and _sha256(destination) == _sha256(origin):
            continue
        temporary = destination.with_suffix(destination.suffix + ".part")
        shutil.copyfile(origin, temporary)
        temporary.replace(destination)
        placed.append(destination)
    return placed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, help="default: $DEEPFACE_HOME/.deepface/weights")
    args = parser.parse_args(argv)
    placed = place(args.target)
    folder = args.target or weights_folder()
    print(f"face weights in {folder}: " + (", ".join(p.name for p in placed) or "up to date"))


if __name__ == "__main__":
    main(sys.argv[1:])
