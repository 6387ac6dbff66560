"""Beam writes of TFRecord shards and JSON Lines files, through TensorFlow's C++ writers.

Why not ``beam.io.WriteToTFRecord`` / ``WriteToText``: on the DirectRunner their Python file sinks
cost 0.1-0.3 ms per record (per-record framing and CRC in Python, GZIP, a grouped finalize),
as much as checking a small image.  Here each bundle writes one staged file with TensorFlow's writer
(C++, ~µs per record); when every bundle is done, one step moves the staged files to their final
names.  A retried bundle's staged file is never named to the finalize step, so it is deleted with the
staging folder: nothing is written twice and nothing partial is left.
"""

from __future__ import annotations

import functools
import os
import uuid
from typing import Callable, List

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue


def _plain_writer(path: str):
    import tensorflow as tf

    return tf.io.TFRecordWriter(path)


def _gzip_writer(path: str):
    import tensorflow as tf

    return tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type="GZIP"))


class _EachRecord:
    """A writer of lists of records: one Python call per batch instead of per record."""

    def __init__(self, writer):
        self._writer = writer

    def write(self, records) -> None:
        for record in records:
            self._writer.write(record)

    def close(self) -> None:
        self._writer.close()


class _TextWriter:
    """One line per element (str), through ``tf.io.gfile`` so object storage works as local disk does."""

    def __init__(self, path: str):
        import tensorflow as tf

        self._handle = tf.io.gfile.GFile(path, "w")

    def write(self, line: str) -> None:
        self._handle.write(line + "\n")

    def close(self) -> None:
        self._handle.close()


class _WriteBundles(beam.DoFn):
    """Writes each bundle's elements to one staged file; emits its path when the bundle is done."""

    def __init__(self, staging_dir: str, open_writer: Callable[[str], object]):
        super().__init__()
        self._staging_dir = staging_dir
        self._open_writer = open_writer

    def start_bundle(self):
        self._writer, self._path = None, None

    def process(self, element):
        if self._writer is None:
            import tensorflow as tf

            tf.io.gfile.makedirs(self._staging_dir)
            self._path = os.path.join(self._staging_dir, uuid.uuid4().hex)
            self._writer = self._open_writer(self._path)
        self._writer.write(element)
        # Nothing per element (the staged path comes out of finish_bundle); returning None makes Beam log a
        # warning for every bundle.
        return ()

    def finish_bundle(self):
        if self._writer is not None:
            self._writer.close()
            yield WindowedValue(self._path, 0, [GlobalWindow()])


def _finalize(staged: List[str], staging_dir: str, final_paths: Callable[[int], List[str]],
              join: bool, open_writer: Callable[[str], object], empty_file: bool = True) -> List[str]:
    """Moves the staged files to their final names (or joins them into one) and removes the staging folder."""
    import tensorflow as tf

    staged = sorted(staged)
    tf.io.gfile.makedirs(os.path.dirname(final_paths(1)[0]))
    if join:
        target = final_paths(1)[0]
        with tf.io.gfile.GFile(target, "wb") as out:
            out.write(b"")  # GFile creates its file on the first write: an empty result is a file too
            for path in staged:
                with tf.io.gfile.GFile(path, "rb") as part:
                    out.write(part.read())
        written = [target]
    elif staged:
        written = final_paths(len(staged))
        for source, target in zip(staged, written):
            tf.io.gfile.rename(source, target, overwrite=True)
    elif empty_file:  # no element: one empty, valid file, as Beam's own sinks leave
        written = final_paths(1)
        open_writer(written[0]).close()
    else:
        written = []
    if tf.io.gfile.exists(staging_dir):
        tf.io.gfile.rmtree(staging_dir)
    return written


class _WriteStaged(beam.PTransform):
    def __init__(self, directory: str, final_paths: Callable[[int], List[str]], open_writer, join: bool,
                 empty_file: bool = True):
        super().__init__()
        self._directory, self._final_paths, self._open_writer, self._join = directory, final_paths, open_writer, join
        self._empty_file = empty_file

    def expand(self, elements):
        staging_dir = os.path.join(self._directory, f".staging-{uuid.uuid4().hex}")
        return (elements
                | "WriteBundles" >> beam.ParDo(_WriteBundles(staging_dir, self._open_writer))
                | "AllStaged" >> beam.combiners.ToList()
                | "Finalize" >> beam.Map(_finalize, staging_dir, self._final_paths, self._join, self._open_writer,
                                         self._empty_file))


def write_tfrecords(directory: str, prefix: str = "data_tfrecord", gzip: bool = False,
                    empty_file: bool = True, batches: bool = False) -> beam.PTransform:
    """Serialized records to ``directory/<prefix>-NNNNN-of-MMMMM`` TFRecord shards, one a bundle.

    Plain by default: encoded images do not compress, and GZIP cost ~80 µs per 3 KB PNG (~3 ms per
    100 KB photo) for nothing.  ``gzip``: GZIP with a ``.gz`` suffix, from which TFX's readers (and
    :func:`common.examples_io.record_dataset`) tell the compression.  With no element, one empty file
    is written unless ``empty_file`` is false (for a second writer into a folder that has its own).
    ``batches``: each element is a list of serialized records (a batch encoded at once), not one record.

    Several writers may share ``directory`` under different prefixes.  Why: on the DirectRunner a
    ``Flatten`` of PCollections from different stages in front of one writer holds its whole input in
    memory (the ImageValidator's good records: 260 MB more at 32,000 small PNGs); a writer per input
    streams.
    """
    suffix = ".gz" if gzip else ""

    def final_paths(count: int) -> List[str]:
        return [os.path.join(directory, f"{prefix}-{i:05d}-of-{count:05d}{suffix}") for i in range(count)]

    open_writer = _gzip_writer if gzip else _plain_writer
    if batches:
        open_writer = functools.partial(_batch_writer, open_writer)
    return _WriteStaged(directory, final_paths, open_writer, join=False, empty_file=empty_file)


def _batch_writer(open_writer: Callable[[str], object], path: str) -> _EachRecord:
    return _EachRecord(open_writer(path))


def write_lines(path: str) -> beam.PTransform:
    """Strings to the one text file ``path``, a line each (bundles are joined in the finalize step)."""
    return _WriteStaged(os.path.dirname(path), lambda count: [path], _TextWriter, join=True)

