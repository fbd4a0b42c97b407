"""A hostile image is refused from its header, before anything is decoded."""

import io

import pytest
from PIL import Image
from punchcard_face_match.adapters.images import BOMB, DECODE_MAX_PIXELS, declared_size
from punchcard_face_match.domain.quality import within_pixel_cap

from tests.support.bombs import jpeg_bomb, png_bomb


def test_the_pixel_cap():
    assert within_pixel_cap(640, 480, 640 * 480)
    assert not within_pixel_cap(641, 480, 640 * 480)
    assert not within_pixel_cap(0, 480, 10**9)
    assert not within_pixel_cap(*BOMB, DECODE_MAX_PIXELS)


@pytest.mark.parametrize("bomb", [png_bomb, jpeg_bomb])
def test_a_bomb_declares_its_size_without_being_decoded(bomb):
    data = bomb()
    assert len(data) < 2048
    size = declared_size(data)
    assert size is not None
    assert not within_pixel_cap(*size, DECODE_MAX_PIXELS)


def test_a_real_photo_reads_its_size_and_junk_is_no_image():
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240)).save(buffer, "JPEG")
    assert declared_size(buffer.getvalue()) == (320, 240)
    assert declared_size(b"\xff\xd8\xff not really") is None
