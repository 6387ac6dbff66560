"""SqueezeNet v1.1 feature extractor, with layer names that match the Keras-1 ImageNet weight file.

Why SqueezeNet: 0.72 M parameters and ~0.35 GFLOPs at 227x227 — the backbone
that makes transfer learning on real photos take minutes on a laptop CPU —
and the one ImageNet weight file available offline here
(``squeezenet_v1.1_weights_tf_dim_ordering_tf_kernels_notop.h5`` from
keras-squeezenet; MIT, original Caffe weights BSD-2).  The weights expect
'caffe' preprocessing: BGR, ImageNet mean subtracted, no scaling (see
:class:`trainer.backbones.Normalize`).

The file is a Keras-1 HDF5 weight file: one group per layer (``conv1``,
``fire2/squeeze1x1``, …) holding a kernel (``uniformN``, HWIO) and a bias
(``<layer>_b``).  :func:`load_weights` reads it with h5py, layer by layer, and
refuses a file whose layers or shapes do not match.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from trainer.keras_lib import keras

#: (fire id, squeeze filters, expand filters per branch); a 3x3/2 max pool follows conv1, fire3 and fire5.
FIRES: List[Tuple[int, int, int]] = [(2, 16, 64), (3, 16, 64), (4, 32, 128), (5, 32, 128),
                                     (6, 48, 192), (7, 48, 192), (8, 64, 256), (9, 64, 256)]
POOL_AFTER = {3: "pool3", 5: "pool5"}
#: Side length the ImageNet weights were trained at.
IMAGE_SIZE = 227


def _fire(x, fire_id: int, squeeze: int, expand: int):
    prefix = f"fire{fire_id}"
    x = keras.layers.Conv2D(squeeze, 1, padding="valid", name=f"{prefix}/squeeze1x1")(x)
    x = keras.layers.ReLU(name=f"{prefix}/relu_squeeze1x1")(x)
    left = keras.layers.Conv2D(expand, 1, padding="valid", name=f"{prefix}/expand1x1")(x)
    left = keras.layers.ReLU(name=f"{prefix}/relu_expand1x1")(left)
    right = keras.layers.Conv2D(expand, 3, padding="same", name=f"{prefix}/expand3x3")(x)
    right = keras.layers.ReLU(name=f"{prefix}/relu_expand3x3")(right)
    return keras.layers.Concatenate(axis=-1, name=f"{prefix}/concat")([left, right])


def build_squeezenet(image_size: int = IMAGE_SIZE) -> keras.Model:
    """The v1.1 feature extractor (no classifier): ``[B, S, S, 3]`` caffe-normalised -> 512 channels."""
    inputs = keras.Input((image_size, image_size, 3), name="normalized_image")
    x = keras.layers.Conv2D(64, 3, strides=2, padding="valid", name="conv1")(inputs)
    x = keras.layers.ReLU(name="relu_conv1")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for fire_id, squeeze, expand in FIRES:
        x = _fire(x, fire_id, squeeze, expand)
        if fire_id in POOL_AFTER:
            x = keras.layers.MaxPooling2D(3, strides=2, name=POOL_AFTER[fire_id])(x)
    return keras.Model(inputs, x, name="squeezenet")


def read_weight_file(path: str) -> Dict[str, Tuple]:
    """{layer name: (kernel, bias)} from the Keras-1 HDF5 file."""
    import h5py

    weights = {}
    with h5py.File(path, "r") as handle:
        def visit(name, node):
            # A layer's group holds its kernel, and its bias one group further down (the Keras-1 writer
            # nested "fire2/squeeze1x1_b" under "fire2/squeeze1x1/"), so collect datasets recursively.
            if isinstance(node, h5py.Group):
                arrays = []
                node.visititems(lambda _, item: arrays.append(item[()]) if isinstance(item, h5py.Dataset) else None)
                kernels = [a for a in arrays if a.ndim == 4]
                biases = [a for a in arrays if a.ndim == 1]
                if len(kernels) == 1 and len(biases) == 1:
                    weights[name] = (kernels[0], biases[0])
        handle.visititems(visit)
    return weights


def load_weights(model: keras.Model, path: str) -> int:
    """Sets every conv layer of ``model`` from the file; returns how many were set.

    A layer missing from the file, or a shape mismatch, is an error naming the layer: a half-loaded
    backbone would train, but on wrong features.
    """
    weights = read_weight_file(path)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    for layer in convs:
        if layer.name not in weights:
            raise ValueError(f"{path}: no weights for layer {layer.name!r}; is this the SqueezeNet v1.1 "
                             f"notop file? It holds {sorted(weights)[:5]}...")
        kernel, bias = weights[layer.name]
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [kernel.shape, bias.shape] != expected:
            raise ValueError(f"{path}: layer {layer.name!r} has shapes {kernel.shape}, {bias.shape}; "
                             f"the model needs {expected}")
        layer.set_weights([kernel, bias])
    return len(convs)
