"""dlib's face recognition ResNet rebuilt as a Keras 3 model (``FACE_MODEL=DlibKeras``).

The same network as ``dlib_face_recognition_resnet_model_v1.dat`` (adapters/dlib_format.py
reads it), layer for layer, so its embeddings are dlib's to within float rounding (1e-4 max
abs difference, tests/integration/face_match/test_dlib_keras.py), but batched and on any
backend Keras runs on (TensorFlow here; JAX or PyTorch where a GPU node has those).

How dlib computes, and how the model here matches it:

- input: a 150×150 RGB chip; dlib subtracts its mean (122.782, 117.001, 104.298 by channel)
  and divides by 256 — a Normalization layer with those means and a variance of 256²;
- ``con``: a cross-correlation like Keras' Conv2D, filters stored [filters, channels, rows,
  cols] (transposed to Keras' [rows, cols, channels, filters]). dlib pads ``filter/2`` when
  the stride is 1 and nothing when it is 2 (the stem's 7×7/2 and each ``ares_down``), which
  is Keras' ``'valid'`` after an explicit ZeroPadding2D, not ``'same'`` (which pads stride-2
  layers asymmetrically);
- ``affine``: batch norm folded into per-channel gamma/beta; it always follows a ``con`` here,
  so it is folded once more into that convolution's kernel and bias (k·γ, b·γ + β);
- ``max_pool<3,3,2,2>`` and ``avg_pool<2,2,2,2>`` without padding: 'valid' pools;
- ``add_prev``: the sum of two tensors of *different* shapes when the block went down a
  level: dlib's output takes the larger size of each dimension and adds the two top-left
  aligned, zeros elsewhere (more channels after ``ares_down``; and at 8×8 → the 3×3/2
  convolution gives 3×3 where the 2×2/2 average pool of the skip gives 4×4). ``DlibAdd``
  does exactly that;
- ``avg_pool_everything`` then ``fc_no_bias<128>``: GlobalAveragePooling2D and a Dense layer
  without bias; the output is the descriptor as dlib returns it (not normalised).

The converted weights live next to dlib's file as ``dlib_face_recognition_resnet_model_v1
.weights.h5`` (``punchcard-face-weights convert``; never committed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .dlib_format import FILE_NAME, LEVELS, Layer, Network, read_network
from .models import prepare_tensorflow

WEIGHTS_NAME = FILE_NAME.removesuffix(".dat") + ".weights.h5"
SIZE = 150
DIMS = 128
MEAN_RGB = (122.782, 117.001, 104.298)

_ADD = None


def _keras():
    """Keras, imported (with TensorFlow under it) only after TensorFlow's settings are in
    place (models.prepare_tensorflow)."""
    prepare_tensorflow()
    import keras

    return keras


def _dlib_add_class():
    """``DlibAdd`` (defined on first use so that importing this module imports no Keras)."""
    global _ADD
    if _ADD is None:
        keras = _keras()

        @keras.saving.register_keras_serializable(package="punchcard")
        class DlibAdd(keras.layers.Layer):
            """dlib's add_prev: pads both inputs with zeros to the larger of each dimension
            (rows, cols, channels; top-left aligned), then adds them."""

            def call(self, inputs):
                a, b = inputs
                shape = [max(x, y) for x, y in zip(a.shape[1:], b.shape[1:], strict=True)]

                def pad(t):
                    sizes = zip(shape, t.shape[1:], strict=True)
                    widths = [(0, 0)] + [(0, s - d) for s, d in sizes]
                    if all(after == 0 for _, after in widths):
                        return t
                    return keras.ops.pad(t, widths)

                return pad(a) + pad(b)

            def compute_output_shape(self, input_shapes):
                a, b = input_shapes
                return (a[0], *(max(x, y) for x, y in zip(a[1:], b[1:], strict=True)))

        _ADD = DlibAdd
    return _ADD


def build_model(name: str = "dlib_face_resnet"):
    """The network's graph with untrained weights (``load`` or ``convert`` fills them)."""
    keras = _keras()
    layers = keras.layers
    DlibAdd = _dlib_add_class()
    counter = iter(range(1, 1000))

    def conv(x, filters: int, size: int, stride: int):
        pad = size // 2 if stride == 1 else 0  # dlib's default padding
        if pad:
            x = layers.ZeroPadding2D(pad)(x)
        return layers.Conv2D(
            filters, size, strides=stride, padding="valid", name=f"con_{next(counter)}"
        )(x)

    def block(x, filters: int, stride: int):
        x = layers.ReLU()(conv(x, filters, 3, stride))
        return conv(x, filters, 3, 1)

    inputs = keras.Input((SIZE, SIZE, 3), name="rgb_chip")
    x = layers.Normalization(mean=list(MEAN_RGB), variance=[256.0**2] * 3, name="dlib_input")(
        inputs
    )
    x = layers.ReLU()(conv(x, 32, 7, 2))
    x = layers.MaxPooling2D(3, 2, padding="valid")(x)
    for filters, units in LEVELS:
        for unit in units:
            if unit == "ares":
                x = layers.ReLU()(DlibAdd()([block(x, filters, 1), x]))
            else:
                skip = layers.AveragePooling2D(2, 2, padding="valid")(x)
                x = layers.ReLU()(DlibAdd()([skip, block(x, filters, 2)]))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(DIMS, use_bias=False, name="fc")(x)
    return keras.Model(inputs, outputs, name=name)


def _conv_layers(model) -> list:
    return [layer for layer in model.layers if layer.name.startswith("con_")]


def assign(model, network: Network) -> None:
    """Put dlib's weights into ``build_model()``'s layers, checking every shape and option."""
    if network.size != SIZE or not np.allclose(network.mean_rgb, MEAN_RGB, atol=1e-3):
        raise ValueError("the dlib network's input is not the 150 px chip this model expects")
    layers: Iterator[Layer] = iter(network.layers)
    convs = iter(_conv_layers(model))
    fc = None
    for layer in layers:
        if layer.kind == "con":
            affine = next(layers)
            if affine.kind != "affine":
                raise ValueError("a con layer without its affine layer")
            target = next(convs)
            stride = layer.options["stride_y"]
            size = layer.options["nr"]
            expected_pad = size // 2 if stride == 1 else 0
            if (
                layer.options["padding_y"] != expected_pad
                or layer.options["padding_x"] != expected_pad
                or layer.options["stride_x"] != stride
                or target.strides != (stride, stride)
            ):
                raise ValueError(f"{target.name}: dlib's padding/stride differ from the model's")
            gamma, beta = affine.arrays["gamma"], affine.arrays["beta"]
            kernel = layer.arrays["filters"].transpose(2, 3, 1, 0) * gamma
            bias = layer.arrays["biases"] * gamma + beta
            target.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
        elif layer.kind in ("max_pool", "avg_pool"):
            if layer.options["padding_y"] or layer.options["padding_x"]:
                raise ValueError(f"{layer.kind} with padding: not this model")
        elif layer.kind == "fc":
            fc = layer.arrays["weights"]
    if next(convs, None) is not None or fc is None:
        raise ValueError("the dlib network has fewer layers than the model")
    model.get_layer("fc").set_weights([fc.astype(np.float32)])


def convert(dlib_file: Path, target: Path | None = None) -> Path:
    """dlib's .dat -> the Keras weights file next to it (or at ``target``)."""
    model = build_model()
    assign(model, read_network(dlib_file))
    target = target or dlib_file.with_name(WEIGHTS_NAME)
    temporary = target.with_name(target.name.removesuffix(".weights.h5") + ".part.weights.h5")
    model.save_weights(temporary)
    temporary.replace(target)
    return target


def load(weights_file: Path):
    model = build_model()
    model.load_weights(weights_file)
    return model


class DlibKerasEmbedder:
    """Embeds aligned 150 px RGB chips (dlib's get_face_chip) in batches."""

    dims = DIMS
    chip_size = SIZE

    def __init__(self, weights_file: Path) -> None:
        keras = _keras()
        self.model = load(weights_file)
        if keras.backend.backend() == "tensorflow":
            # One traced graph for every batch size (reduce_retracing: the batch dimension
            # becomes unknown after the second size): a fraction of predict_on_batch's
            # per-call overhead, which is most of a single chip's time on a CPU.
            import tensorflow as tf

            self._forward = tf.function(
                lambda x: self.model(x, training=False), reduce_retracing=True
            )
        else:
            self._forward = self.model.predict_on_batch

    def embed(self, chips_rgb: Sequence[np.ndarray]) -> np.ndarray:
        batch = np.ascontiguousarray(np.stack(chips_rgb), dtype=np.float32)
        out = self._forward(batch)
        return np.asarray(out, dtype=np.float32).reshape(len(chips_rgb), DIMS)
