"""Reads dlib's serialized face recognition network (``dlib_face_recognition_resnet_model_v1.dat``)
into numpy arrays, without dlib: the weights of the Keras rebuild (adapters/dlib_keras.py).

The file is ``dlib::serialize(anet_type)`` of dlib's ``dnn_face_recognition_ex.cpp``:

    loss_metric<fc_no_bias<128, avg_pool_everything<
        alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

dlib's own encoding, read here as dlib writes it (dlib/serialize.h, dlib/dnn/core.h, layers.h):

- an integer is one control byte (low 4 bits: how many bytes follow; bit 7: negative) and then
  its magnitude, little-endian; a string is its length (an integer) and its bytes; a bool is
  the character ``'1'`` or ``'0'``;
- a float or double is ``float_details``: a mantissa (int64) and an exponent (int16) as two
  such integers, value ``mantissa * 2**exponent``;
- a tensor is a version, its num_samples/k/nr/nc, then its values: version 2 as 4-byte
  little-endian IEEE floats, version 1 as ``float_details``; an alias tensor is only its shape;
- a network is the version of each layer from the top (the loss) down to the input layer,
  then the input layer, then each computational layer's details from the bottom up, each
  followed by the layer's state (flags and cached tensors, empty in a saved model). Tag and
  skip layers write only their version: the graph itself is the template above, and
  ``read_network`` checks that the file's layers are exactly that template's, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FILE_NAME = "dlib_face_recognition_resnet_model_v1.dat"

# float_details' exponents for the values a mantissa cannot hold (dlib/float_details.h).
_INF, _NINF, _NAN = 32000, 32001, 32002


class DlibFormatError(ValueError):
    """The file is not the network this reader knows."""


@dataclass
class Layer:
    """One computational layer, bottom-up; arrays in dlib's own layouts."""

    kind: str  # con, affine, relu, max_pool, avg_pool, add_prev, fc
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    options: dict[str, int] = field(default_factory=dict)


@dataclass
class Network:
    # input_rgb_image_sized: the mean subtracted from each channel (R, G, B) before / 256.
    mean_rgb: tuple[float, float, float]
    size: int
    layers: list[Layer]
    loss_margin: float
    loss_distance_threshold: float


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _need(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise DlibFormatError(f"the file ends early (at byte {self.pos}, {n} more wanted)")

    def integer(self) -> int:
        self._need(1)
        control = self.data[self.pos]
        self.pos += 1
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise DlibFormatError(f"not an integer's control byte at {self.pos - 1}")
        self._need(size)
        value = int.from_bytes(self.data[self.pos : self.pos + size], "little")
        self.pos += size
        return -value if control & 0x80 else value

    def string(self) -> str:
        length = self.integer()
        self._need(length)
        text = self.data[self.pos : self.pos + length]
        self.pos += length
        return text.decode("latin-1")

    def boolean(self) -> bool:
        self._need(1)
        char = self.data[self.pos : self.pos + 1]
        self.pos += 1
        if char not in (b"0", b"1"):
            raise DlibFormatError(f"not a bool at {self.pos - 1}")
        return char == b"1"

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        if exponent == _INF:
            return float("inf")
        if exponent == _NINF:
            return float("-inf")
        if exponent == _NAN:
            return float("nan")
        return float(np.ldexp(float(mantissa), exponent))

    def tensor(self) -> np.ndarray:
        version = self.integer()
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        if version == 2:
            self._need(4 * count)
            values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
            self.pos += 4 * count
        elif version == 1:
            values = np.array([self.real() for _ in range(count)], dtype=np.float64)
        else:
            raise DlibFormatError(f"tensor version {version} at {self.pos}")
        return values.astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        if self.integer() != 1:
            raise DlibFormatError(f"alias_tensor version at {self.pos}")
        shape = tuple(self.integer() for _ in range(4))
        return shape  # type: ignore[return-value]


# -- the template of dnn_face_recognition_ex.cpp ----------------------------------------------
def _block() -> list[str]:  # affine<con<relu<affine<con<...>>>>>, bottom-up
    return ["con", "affine", "relu", "con", "affine"]


def _ares() -> list[str]:  # relu<add_prev1<block<tag1<...>>>>
    return [*_block(), "add_prev", "relu"]


def _ares_down() -> list[str]:  # relu<add_prev2<avg_pool<skip1<tag2<block<tag1<...>>>>>>>
    return [*_block(), "avg_pool", "add_prev", "relu"]


# (filters, [ares_down?, ares, ...]) per level from the input up: alevel4 .. alevel0.
LEVELS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (32, ("ares", "ares", "ares")),
    (64, ("ares_down", "ares", "ares", "ares")),
    (128, ("ares_down", "ares", "ares")),
    (256, ("ares_down", "ares", "ares")),
    (256, ("ares_down",)),
)


def expected_kinds() -> list[str]:
    kinds = ["con", "affine", "relu", "max_pool"]
    for _, units in LEVELS:
        for unit in units:
            kinds += _ares() if unit == "ares" else _ares_down()
    return [*kinds, "avg_pool", "fc"]


# -- layer details ------------------------------------------------------------------------------
def _details(reader: _Reader) -> Layer:
    name = reader.string()
    if name == "con_4":
        params = reader.tensor().reshape(-1)
        num_filters, nr, nc = reader.integer(), reader.integer(), reader.integer()
        stride_y, stride_x = reader.integer(), reader.integer()
        padding_y, padding_x = reader.integer(), reader.integer()
        filters, biases = reader.alias(), reader.alias()
        for _ in range(4):  # learning-rate and weight-decay multipliers
            reader.real()
        size = int(np.prod(filters))
        if filters[0] != num_filters or params.size != size + int(np.prod(biases)):
            raise DlibFormatError("con_: parameters do not match the filters")
        return Layer(
            "con",
            {"filters": params[:size].reshape(filters), "biases": params[size:].copy()},
            {
                "nr": nr,
                "nc": nc,
                "stride_y": stride_y,
                "stride_x": stride_x,
                "padding_y": padding_y,
                "padding_x": padding_x,
            },
        )
    if name in ("affine_", "affine_2"):
        params = reader.tensor().reshape(-1)
        gamma, beta = reader.alias(), reader.alias()
        mode = reader.integer()
        if name == "affine_2":
            reader.boolean()  # disabled
        n = int(np.prod(gamma))
        if mode != 0 or params.size != n + int(np.prod(beta)):  # 0: CONV_MODE (per channel)
            raise DlibFormatError("affine_: not a per-channel affine layer")
        return Layer("affine", {"gamma": params[:n].copy(), "beta": params[n:].copy()})
    if name == "relu_":
        return Layer("relu")
    if name in ("max_pool_2", "avg_pool_2"):
        options = {
            key: reader.integer()
            for key in ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
        }
        return Layer(name[:-2], options=options)
    if name == "add_prev_":
        return Layer("add_prev")
    if name in ("fc_2", "fc_3"):
        num_outputs, num_inputs = reader.integer(), reader.integer()
        params = reader.tensor().reshape(-1)
        weights, _biases = reader.alias(), reader.alias()
        bias_mode = reader.integer()
        for _ in range(4):
            reader.real()
        if name == "fc_3":
            reader.boolean()  # use_bias
        size = int(np.prod(weights))
        if bias_mode != 1 or size != num_inputs * num_outputs:  # 1: FC_NO_BIAS
            raise DlibFormatError("fc_: expected fc_no_bias")
        return Layer("fc", {"weights": params[:size].reshape(num_inputs, num_outputs)})
    raise DlibFormatError(f"unknown layer {name!r} at byte {reader.pos}")


def read_network(path: Path | str) -> Network:
    reader = _Reader(Path(path).read_bytes())
    if reader.integer() != 1 or reader.string() != "loss_metric_2":
        raise DlibFormatError("not a loss_metric network (dlib's face recognition ResNet)")
    margin, distance_threshold = reader.real(), reader.real()
    kinds = expected_kinds()
    # Every layer writes its version first, top-down: the computational layers, and the tag
    # and skip layers between them (one tag per ares; tag1, tag2 and skip1 per ares_down).
    wrappers = sum(1 if unit == "ares" else 3 for _, units in LEVELS for unit in units)
    versions = [reader.integer() for _ in range(len(kinds) + wrappers)]
    if not set(versions[:-1]) <= {1, 2} or versions[-1] not in (2, 3):
        raise DlibFormatError("the layers' versions are not those dlib writes")
    if reader.string() != "input_rgb_image_sized":
        raise DlibFormatError("the input layer is not input_rgb_image_sized")
    mean = (reader.real(), reader.real(), reader.real())
    rows, cols = reader.integer(), reader.integer()
    if rows != cols:
        raise DlibFormatError("input is not square")
    layers = []
    for index in range(len(kinds)):
        layer = _details(reader)
        layers.append(layer)
        # add_layer's state: three flags, x_grad, cached_output, then grad_final and the
        # sample expansion factor (over the input layer) or params_grad (any other layer).
        for _ in range(3):
            reader.boolean()
        reader.tensor()
        reader.tensor()
        reader.tensor()
        if index == 0 and versions[-1] == 3:
            reader.integer()
    if reader.pos != len(reader.data):
        raise DlibFormatError(f"{len(reader.data) - reader.pos} bytes left after the network")
    found = [layer.kind for layer in layers]
    if found != kinds:
        raise DlibFormatError("the layers are not those of dlib's face recognition ResNet")
    return Network(
        mean_rgb=mean,
        size=rows,
        layers=layers,
        loss_margin=margin,
        loss_distance_threshold=distance_threshold,
    )
