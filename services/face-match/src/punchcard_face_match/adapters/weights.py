"""``punchcard-face-weights``: place dlib's models where DeepFace looks for them; ``convert``
also turns dlib's ResNet into the Keras model's weights (``FACE_MODEL=DlibKeras``).

DeepFace would download its weights on first use; here nothing is downloaded at run time. The
PyPI package ``face-recognition-models`` (a dependency of this service) carries dlib's ResNet
face recognition model and its 5-point landmark model; ``punchcard-face-weights`` (or ``place``)
copies them into ``$DEEPFACE_HOME/.deepface/weights/``, and ``punchcard-face-weights convert``
places them and writes ``dlib_face_recognition_resnet_model_v1.weights.h5`` next to dlib's file
(adapters/dlib_keras.py). ``make setup`` runs both; a container image runs them at build time.
Both compare contents and are no-ops when their files are already up to date.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

from .dlib_keras import WEIGHTS_NAME
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


def convert(target: Path | None = None) -> Path | None:
    """dlib's ResNet (placed first) -> the Keras weights next to it; None when up to date.

    The weights file records the digest of the dlib file it came from (a ``.source`` file
    beside it), so a changed dlib file is converted again and an unchanged one is not."""
    target = target or weights_folder()
    place(target)
    origin = target / MODEL_WEIGHTS["Dlib"]
    destination = target / WEIGHTS_NAME
    stamp = destination.with_name(destination.name + ".source")
    digest = _sha256(origin)
    if destination.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return None
    from .dlib_keras import convert as convert_weights

    convert_weights(origin, destination)
    stamp.write_text(digest + "\n")
    return destination


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command",
        nargs="?",
        choices=("place", "convert"),
        default="place",
        help="place: copy dlib's models (the default); convert: also write the Keras weights",
    )
    parser.add_argument("--target", type=Path, help="default: $DEEPFACE_HOME/.deepface/weights")
    args = parser.parse_args(argv)
    folder = args.target or weights_folder()
    if args.command == "convert":
        written = convert(args.target)
        print(f"Keras weights in {folder}: " + (written.name if written else "up to date"))
        return
    placed = place(args.target)
    print(f"face weights in {folder}: " + (", ".join(p.name for p in placed) or "up to date"))


if __name__ == "__main__":
    main(sys.argv[1:])
