"""Hostile uploads to face-match: a decompression bomb (a tiny file declaring 30000 × 30000
pixels) is refused from its header with IMAGE_TOO_LARGE, nothing decoded, and the service
keeps answering; an upload over its body limit is a 413 before it is read."""

import uuid

import pytest

from tests.support.bombs import jpeg_bomb, png_bomb


@pytest.mark.parametrize("bomb,kind", [(png_bomb, "image/png"), (jpeg_bomb, "image/jpeg")])
async def test_a_decompression_bomb_is_refused_before_decoding(face_match, bomb, kind):
    tenant_id = str(uuid.uuid4())
    async with face_match.admin(tenant_id) as http:
        response = await http.put(
            f"/workers/{uuid.uuid4()}/face", files={"photos": ("bomb", bomb(), kind)}
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "IMAGE_TOO_LARGE"
        assert response.json()["field"] == "photos[0]"
        status = await http.get(f"/workers/{uuid.uuid4()}/face")
        assert status.status_code in (200, 404), status.text
    assert face_match.process.poll() is None


async def test_an_upload_over_its_limit_is_refused(face_match):
    async with face_match.admin(str(uuid.uuid4())) as http:
        response = await http.put(
            f"/workers/{uuid.uuid4()}/face",
            content=b"x" * (42 * 1024 * 1024),
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "TOO_LARGE"
        small = await http.put("/face/settings", content=b" " * (65 * 1024))
        assert small.status_code == 413, small.text
