"""An image's dimensions read from its header alone, before anything is decoded: a small file
may declare a huge picture (a decompression bomb: a 30000 × 30000 PNG of a few KiB decodes to
2.7 GB). Pillow reads the header lazily (``Image.open`` without ``load``); Pillow's and
OpenCV's own decoders are capped as well (``Image.MAX_IMAGE_PIXELS``,
``OPENCV_IO_MAX_IMAGE_PIXELS``), so nothing decodes past ``DECODE_MAX_PIXELS`` anywhere in the
process."""

from __future__ import annotations

import io
import os
import warnings

from PIL import Image, UnidentifiedImageError

# The hard ceiling of every decode in the process (enrolment's setting may be lower).
DECODE_MAX_PIXELS = 50_000_000
# OpenCV reads it at its first decode.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(DECODE_MAX_PIXELS))
Image.MAX_IMAGE_PIXELS = DECODE_MAX_PIXELS
# Width × height a header declares when Pillow refuses to even open it (over twice its cap).
BOMB = (2**31, 2**31)


def declared_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) as the header declares them; None if it is no image Pillow can read.
    A header over Pillow's cap reads as ``BOMB``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                return image.size
    except Image.DecompressionBombError:
        return BOMB
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
