"""TFX's ImportExampleGen, copying prepared shards as they are instead of reshuffling every record.

Why: ImportExampleGen writes each split through ``beam.Reshuffle``.  On the
DirectRunner that holds every record in memory: at 128,000 32-px PNGs it
peaked at 2,427 MB, against 1,017 MB at 2,000.  Data preparation
(``ingest/shards.py``) already writes its records in a seeded shuffled order
and says so in its manifest, so for such data the shuffle buys nothing and
this executor copies the shard files byte for byte: the same records, no
decoding, memory independent of the data's size.

Anything else goes through TFX's own code, shuffle included: a user's own
TFRecords (their order is unknown, and a class-sorted file would starve the
Trainer's bounded shuffle buffer), a hash split of one input split, or shards
of another kind.  The output artifact's ``record_order`` property says which
path wrote it.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List, Optional

import tensorflow as tf
from tfx.components.example_gen import utils
from tfx.components.example_gen import write_split
from tfx.components.example_gen.import_example_gen import executor as import_executor
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from common import names

#: The output artifact's custom property naming how its records were ordered.
RECORD_ORDER_PROPERTY = "record_order"
COPIED = "copied: prepared shards in a seeded shuffled order"
#: TFX's own name for its shards (``write_split.DEFAULT_FILE_NAME``, marked for deprecation there).
SHARD_PREFIX = "data_tfrecord"
SHUFFLED_BY_TFX = "shuffled by TFX's ImportExampleGen"


def copy_plan(input_base: str, input_config: example_gen_pb2.Input,
              output_config: example_gen_pb2.Output) -> Optional[Dict[str, List[str]]]:
    """Split name -> the shard files to copy, or None (with the reason logged) when TFX must shuffle.

    Copying needs a prepared dataset whose manifest records the shuffled
    order, one output split per input split, and shards of the prepared kind.
    """
    manifest_path = os.path.join(input_base, names.MANIFEST_FILENAME)
    if not tf.io.gfile.exists(manifest_path):
        logging.info("%s: no %s, so not prepared data; TFX shuffles it.", input_base, names.MANIFEST_FILENAME)
        return None
    with tf.io.gfile.GFile(manifest_path) as handle:
        order = json.load(handle).get(names.RECORD_ORDER_KEY)
    if order != names.SHUFFLED_RECORD_ORDER:
        logging.info("%s: records not in a recorded shuffled order (%r); TFX shuffles them.", input_base, order)
        return None
    if output_config.split_config.splits:
        logging.info("Output splits are hashed from one input split; TFX partitions and shuffles them.")
        return None
    plan = {}
    for split in input_config.splits:
        files = sorted(tf.io.gfile.glob(os.path.join(input_base, split.pattern)))
        if not files or not all(path.endswith(names.TFRECORD_SUFFIX) for path in files):
            logging.info("Split %s: pattern %s matches no prepared %s shards; TFX reads it.", split.name,
                         split.pattern, names.TFRECORD_SUFFIX)
            return None
        plan[split.name] = files
    return plan


class Executor(import_executor.Executor):
    """See the module docstring."""

    def Do(self, input_dict, output_dict, exec_properties: Dict[str, Any]) -> None:
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
        plan = copy_plan(exec_properties[standard_component_specs.INPUT_BASE_KEY], input_config, output_config)
        examples = output_dict[standard_component_specs.EXAMPLES_KEY]
        if plan is None:
            super().Do(input_dict, output_dict, exec_properties)
            for artifact in examples:
                artifact.set_string_custom_property(RECORD_ORDER_PROPERTY, SHUFFLED_BY_TFX)
            return

        artifact = artifact_utils.get_single_instance(examples)
        artifact.split_names = artifact_utils.encode_split_names(
            utils.generate_output_split_names(input_config, output_config))
        copied = 0
        for split, files in plan.items():
            split_uri = artifact_utils.get_split_uri(examples, split)
            tf.io.gfile.makedirs(split_uri)
            for index, source in enumerate(files):
                # TFX's own name pattern for its shards; the ".gz" suffix tells readers the compression.
                target = os.path.join(split_uri, f"{SHARD_PREFIX}-{index:05d}-of-{len(files):05d}.gz")
                tf.io.gfile.copy(source, target, overwrite=True)
                copied += 1
        payload_format = exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY)
        if payload_format:
            examples_utils.set_payload_format(artifact, payload_format)
        file_format = exec_properties.get(standard_component_specs.OUTPUT_FILE_FORMAT_KEY)
        if file_format:
            examples_utils.set_file_format(artifact, write_split.to_file_format_str(file_format))
        artifact.set_string_custom_property(RECORD_ORDER_PROPERTY, COPIED)
        logging.info("Copied %d prepared shard(s) of splits %s.", copied, ", ".join(plan))
