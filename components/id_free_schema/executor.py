"""TFX's SchemaGen, minus the value domains of per-example identifiers (file names, ids).

Why: TFDV turns a string feature with few distinct values into an enumerated
domain.  On a small dataset the file name qualifies ("one of 101: …"), so the
next run's new files would all be anomalies.  After TFX's own inference this
executor drops the domain of every identifier feature: the configured file-name
key, and any string feature whose every value is distinct in every split (at
least ``MIN_IDENTIFIER_COUNT`` of them, so that a tiny class-name column is
not mistaken for one).  Presence and type are still checked.
"""

from __future__ import annotations

import logging
import os
from typing import Iterable, Set

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2
from tfx.components.schema_gen import executor as schema_gen_executor
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils

from common import names

MIN_IDENTIFIER_COUNT = 10


def identifier_features(statistics: Iterable[statistics_pb2.DatasetFeatureStatistics]) -> Set[str]:
    """String features whose values are all distinct in every split given (the file name always)."""
    found, other = {names.FILENAME_KEY}, set()
    for dataset in statistics:
        for feature in dataset.features:
            name = feature.path.step[0] if feature.path.step else feature.name
            if not feature.HasField("string_stats"):
                continue
            count = feature.string_stats.common_stats.num_non_missing
            if count >= MIN_IDENTIFIER_COUNT and feature.string_stats.unique == count:
                found.add(name)
            else:
                other.add(name)
    return (found - other) | {names.FILENAME_KEY}


def drop_identifier_domains(schema: schema_pb2.Schema, identifiers: Set[str]) -> Set[str]:
    """Removes the enumerated domains of ``identifiers`` from ``schema``; returns the features changed."""
    changed, dropped_domains = set(), set()
    for feature in schema.feature:
        if feature.name not in identifiers:
            continue
        if feature.HasField("domain"):
            dropped_domains.add(feature.domain)
            feature.ClearField("domain")
            changed.add(feature.name)
        elif feature.HasField("string_domain"):
            feature.ClearField("string_domain")
            changed.add(feature.name)
    still_used = {f.domain for f in schema.feature if f.HasField("domain")}
    kept = [d for d in schema.string_domain if d.name not in dropped_domains - still_used]
    del schema.string_domain[:]
    schema.string_domain.extend(kept)
    return changed


class Executor(schema_gen_executor.Executor):
    """See the module docstring."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        super().Do(input_dict, output_dict, exec_properties)
        from tfx.components.statistics_gen import stats_artifact_utils

        stats_artifact = artifact_utils.get_single_instance(input_dict[standard_component_specs.STATISTICS_KEY])
        statistics = [stats_artifact_utils.load_statistics(stats_artifact, split).proto().datasets[0]
                      for split in artifact_utils.decode_split_names(stats_artifact.split_names)]
        path = os.path.join(artifact_utils.get_single_uri(output_dict[standard_component_specs.SCHEMA_KEY]),
                            schema_gen_executor.DEFAULT_FILE_NAME)
        schema = io_utils.SchemaReader().read(path)
        changed = drop_identifier_domains(schema, identifier_features(statistics))
        if changed:
            io_utils.write_pbtxt_file(path, schema)
            logging.info("SchemaGen: no value domain for identifier feature(s) %s", sorted(changed))
