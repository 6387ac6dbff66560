"""The one image-example format every stage of the pipeline agrees on.

Data prep writes it, ImportExampleGen ingests it, TFDV profiles it, Transform
reads it and the serving signatures rebuild it from raw bytes.  The feature
names come from :mod:`common.names`, which every reader imports too, so a
renamed feature cannot silently drift between the writer and the readers.

A classification example is a ``tf.train.Example`` with:

=============  =======  ==================================================
feature        type     content
=============  =======  ==================================================
``image``      bytes    the encoded image exactly as given (JPEG/PNG/...)
``label``      int64    class id, index into the label vocabulary
``label_name`` bytes    class name (human readable, for slicing/reports)
``filename``   bytes    source file name relative to the dataset root
=============  =======  ==================================================
"""

from __future__ import annotations

from typing import Sequence

from common import names


class _LazyTensorFlow:
    """``tf`` on first use: ``python -m ingest.data_prep --help`` answers without importing TensorFlow."""

    def __getattr__(self, name):
        import tensorflow

        return getattr(tensorflow, name)


tf = _LazyTensorFlow()


def _bytes(value: bytes) -> "tf.train.Feature":
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int64(value: int) -> "tf.train.Feature":
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def make_image_example(image_bytes: bytes, label: int, label_name: str, filename: str) -> "tf.train.Example":
    """Builds one classification example in the documented format."""
    features = {
        names.DEFAULT_IMAGE_KEY: _bytes(image_bytes),
        names.DEFAULT_LABEL_KEY: _int64(label),
        names.LABEL_NAME_KEY: _bytes(label_name.encode("utf-8")),
        names.FILENAME_KEY: _bytes(filename.encode("utf-8")),
    }
    return tf.train.Example(features=tf.train.Features(feature=features))


def make_unlabelled_example(image_bytes: bytes, filename: str) -> "tf.train.Example":
    """A new image to predict (``--predict``): the image and its file name, no label."""
    features = {names.DEFAULT_IMAGE_KEY: _bytes(image_bytes), names.FILENAME_KEY: _bytes(filename.encode("utf-8"))}
    return tf.train.Example(features=tf.train.Features(feature=features))


def make_segmentation_example(
    image_bytes: bytes, mask_png: bytes, class_names: Sequence[str], filename: str
) -> "tf.train.Example":
    """Builds one segmentation example: image, class-id mask PNG, class names, file name."""
    features = {
        names.DEFAULT_IMAGE_KEY: _bytes(image_bytes),
        names.DEFAULT_MASK_KEY: _bytes(mask_png),
        names.CLASS_NAMES_KEY: tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[n.encode("utf-8") for n in class_names])),
        names.FILENAME_KEY: _bytes(filename.encode("utf-8")),
    }
    return tf.train.Example(features=tf.train.Features(feature=features))


def make_detection_example(image_bytes: bytes, boxes: Sequence[Sequence[float]], class_ids: Sequence[int],
                           class_names: Sequence[str], filename: str) -> "tf.train.Example":
    """Builds one detection example: image, boxes normalised to [0, 1] (xmin, ymin, xmax, ymax), class ids."""
    columns = list(zip(*boxes)) if boxes else [(), (), (), ()]
    features = {
        names.DEFAULT_IMAGE_KEY: _bytes(image_bytes),
        **{key: tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))
           for key, values in zip(names.BOX_COORDINATE_KEYS, columns)},
        names.BOX_CLASS_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=list(class_ids))),
        names.CLASS_NAMES_KEY: tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[n.encode("utf-8") for n in class_names])),
        names.FILENAME_KEY: _bytes(filename.encode("utf-8")),
    }
    return tf.train.Example(features=tf.train.Features(feature=features))
