"""ImageValidator executor: a Beam pipeline that checks every example and splits good from bad.

Per example (in parallel): decode the image (and mask) and record width,
height, channels, format, brightness and a content hash; flag empty,
undecodable, truncated, too small and extremely elongated images.
Across examples (grouped by content hash): keep the first copy of an image
and quarantine the others — as "exact duplicate" within a split, or as
"leakage" when the copy sits in eval and the original in train.  Near-duplicates
(perceptual hashes a few bits apart: the same picture re-encoded, resized or
lightly edited) are kept but listed in the report, with a warning when a pair
spans train and eval.

Good examples keep their bytes unchanged in ``validated_examples``; bad ones go
to ``quarantine`` with ``quarantine_reason``/``quarantine_detail`` features
added.  ``report`` holds one row per example and the counts, which always add
up: good + quarantined = input, per split.  The run fails only when the bad
fraction exceeds ``max_bad_fraction``; TFX then deletes the outputs, so the
report is first copied to ``<node>/failed/<execution>/`` and the error names it.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
import zlib
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import apache_beam as beam
import tensorflow as tf
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from common import names, staged_files
from common.json_config import JsonConfig
from common.failure_copies import keep_after_failure
from components.image_validator import checks
from components.image_validator.spec import (CONFIG_KEY, EXAMPLES_KEY, QUARANTINE_KEY, REPORT_FILENAME, REPORT_KEY,
                                             ROWS_FILENAME,
                                             VALIDATED_EXAMPLES_KEY)


@dataclasses.dataclass
class ValidationConfig(JsonConfig):
    """What to check; serialised into the component's ``config`` execution parameter."""

    image_key: str = names.DEFAULT_IMAGE_KEY
    label_key: Optional[str] = names.DEFAULT_LABEL_KEY
    filename_key: Optional[str] = names.FILENAME_KEY
    mask_key: Optional[str] = None
    #: Detection: the xmin, ymin, xmax, ymax and class-id features of the boxes (None: no boxes to check).
    box_keys: Optional[List[str]] = None
    num_classes: int = 0
    #: Class names in id order, for messages (ids are shown where they are unknown).
    class_names: List[str] = dataclasses.field(default_factory=list)
    min_size: int = 8
    max_aspect_ratio: float = 4.0
    #: Images with more pixels are quarantined from their header alone (decompression bombs).
    max_pixels: int = checks.DEFAULT_MAX_PIXELS
    #: The run fails when more than this share of all examples is quarantined.
    max_bad_fraction: float = 0.05
    #: A class with less than this share of the largest class's count is reported as imbalanced.
    imbalance_ratio: float = 0.2
    #: Good images whose pHash and dHash both differ in at most this many of 64 bits are reported as
    #: near-duplicates (kept: they are valid images; the report and a warning name them). -1: off.
    near_duplicate_distance: int = 4
    #: At most this many near-duplicate pairs are listed in the report (all are counted).
    max_near_duplicates_listed: int = 200
    #: Hash of the validator's code (pipeline/cache_keys.py): a changed check reruns the validator.
    code_version: str = ""



#: What to change when a reason dominates because of a setting rather than the files.
_HINTS = {
    checks.TOO_SMALL: " (a side below {config.min_size} px: lower --min-image-size to keep them; larger images are upsampled)",
    checks.ASPECT: " (longer side over {config.max_aspect_ratio:g}x the shorter: --max-aspect-ratio)",
    checks.UNSUPPORTED: " (TensorFlow decodes JPEG, PNG, GIF and BMP: convert these files, e.g. to PNG)",
}


#: Images checked together: decoding and hashing run vectorised over a batch (one graph call, one DCT).
CHECK_BATCH = 256
#: Shards of records that had byte-identical copies in their split (rare), beside the main ``data_tfrecord-*``.
IDENTICAL_SHARDS_PREFIX = "identical_tfrecord"


class TooManyBadExamples(RuntimeError):
    """The bad fraction passed the configured threshold."""


def _feature_bytes(example: tf.train.Example, key: Optional[str]) -> Optional[bytes]:
    if not key or key not in example.features.feature:
        return None
    values = example.features.feature[key].bytes_list.value
    return values[0] if values else b""


def _label(example: tf.train.Example, key: Optional[str]) -> Optional[int]:
    if not key or key not in example.features.feature:
        return None
    values = example.features.feature[key].int64_list.value
    return int(values[0]) if values else None


def record_key(serialized: bytes) -> str:
    """Names one serialized record in both reads of the input (the second read routes it by its verdict)."""
    return hashlib.blake2b(serialized, digest_size=16).hexdigest()


def check_records(records: Sequence[bytes], split: str, config: ValidationConfig) -> List[Dict[str, Any]]:
    """Checks serialized examples, a batch at a time (decoding and hashing run vectorised); one row each.

    ``index`` is a hash of content and file name, not of the serialized bytes:
    protobuf map order (and so the bytes) can differ between Beam workers.
    """
    examples = [tf.train.Example.FromString(serialized) for serialized in records]
    images = [_feature_bytes(example, config.image_key) for example in examples]
    present = [index for index, image in enumerate(images) if image is not None]
    inspected = dict(zip(present, checks.inspect_images([images[i] for i in present], config.min_size,
                                                        config.max_aspect_ratio, config.max_pixels)))
    rows = []
    for position, (serialized, example) in enumerate(zip(records, examples)):
        filename = (_feature_bytes(example, config.filename_key) or b"").decode("utf-8", "replace")
        info = inspected.get(position) or checks.ImageInfo(reason=checks.EMPTY,
                                                           detail=f"no '{config.image_key}' feature")
        if info.reason is None and config.mask_key:
            mask = _feature_bytes(example, config.mask_key)
            reason = checks.MASK_BAD if mask is None else checks.check_mask(mask, info, config.num_classes)
            if reason:
                info.reason = reason
        if info.reason is None and config.box_keys:
            feature = example.features.feature
            coordinates = [list(feature[key].float_list.value) if key in feature else []
                           for key in config.box_keys[:4]]
            class_ids = list(feature[config.box_keys[4]].int64_list.value) if config.box_keys[4] in feature else []
            info.reason = checks.check_boxes(coordinates, class_ids, config.num_classes, info)
        # A shallow copy, not dataclasses.asdict: its recursive deep copy was ~6% of the validator's time.
        row = {field.name: getattr(info, field.name) for field in dataclasses.fields(info)}
        index = zlib.crc32(f"{info.sha256}:{filename}".encode())
        row.update(split=split, index=index, filename=filename or f"{split}#{index}",
                   label=_label(example, config.label_key), record=record_key(serialized))
        rows.append(row)
    return rows


def resolve_duplicates(rows: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Among rows with the same content hash, keep the first good one (train first, then by name)."""
    rows = list(rows)
    good = sorted((r for r in rows if r["reason"] is None),
                  key=lambda r: (r["split"] != names.TRAIN_SPLIT, r["split"], r["filename"], r["index"]))
    if len(good) > 1:
        keeper = good[0]
        for row in good[1:]:
            leak = keeper["split"] == names.TRAIN_SPLIT and row["split"] != names.TRAIN_SPLIT
            row["reason"] = checks.LEAKAGE if leak else checks.DUPLICATE
            row["detail"] = f"same bytes as {keeper['filename']} ({keeper['split']} split)"
    return rows


def verdicts(rows: List[Dict[str, Any]]) -> Iterator[Tuple[str, Tuple[Optional[str], str]]]:
    """``(split:record, (reason, detail))`` for what the second read must not pass through as good.

    Each quarantined record gets one entry.  Identical records (the same serialized bytes, so the same
    file twice in one split) cannot be told apart by their bytes, so all their verdicts are given, the
    good ones as ``(None, "")``, and the copies share them out.
    """
    copies = collections.Counter(f"{row['split']}:{row['record']}" for row in rows)
    for row in rows:
        key = f"{row['split']}:{row['record']}"
        if row["reason"] is not None or copies[key] > 1:
            yield key, (row["reason"], row["detail"])


def _quarantined(serialized: bytes, reason: str, detail: str) -> bytes:
    example = tf.train.Example.FromString(serialized)
    example.features.feature[names.QUARANTINE_REASON_KEY].bytes_list.value.append(reason.encode())
    example.features.feature[names.QUARANTINE_DETAIL_KEY].bytes_list.value.append(detail.encode())
    return example.SerializeToString()


class _Route(beam.DoFn):
    """Second read of a split: good records pass through unchanged; quarantined ones get their reason."""

    BAD, IDENTICAL = "bad", "identical"

    def __init__(self, split: str):
        super().__init__()
        self.split = split

    def process(self, serialized: bytes, verdicts_by_key):
        key = f"{self.split}:{record_key(serialized)}"
        found = verdicts_by_key.get(key, ())
        if not found:
            yield serialized
        elif len(found) == 1:
            yield beam.pvalue.TaggedOutput(self.BAD, _quarantined(serialized, *found[0]))
        else:
            yield beam.pvalue.TaggedOutput(self.IDENTICAL, (key, serialized))


def _share_verdicts(key_and_copies, verdicts_by_key):
    """Identical records: one verdict each, in any order (they are the same bytes)."""
    key, copies = key_and_copies
    for serialized, (reason, detail) in zip(copies, verdicts_by_key[key]):
        if reason is None:
            yield serialized
        else:
            yield beam.pvalue.TaggedOutput(_Route.BAD, _quarantined(serialized, reason, detail))


def _new_split() -> Dict[str, Any]:
    return {"input": 0, "good": 0, "quarantined": 0, "reasons": collections.Counter(),
            "class_counts": collections.Counter()}


class ReportTally:
    """What the report needs from each row, kept small: counts per split, reason and class, and the
    perceptual hashes of good images (for near-duplicates).  Rows themselves stream to the JSON Lines file."""

    def __init__(self):
        self.splits: Dict[str, Dict[str, Any]] = {}
        self.hashes: List[Dict[str, Any]] = []

    def add(self, row: Dict[str, Any]) -> "ReportTally":
        s = self.splits.setdefault(row["split"], _new_split())
        s["input"] += 1
        if row["reason"]:
            s["quarantined"] += 1
            s["reasons"][row["reason"]] += 1
            return self
        s["good"] += 1
        if row["label"] is not None:
            s["class_counts"][str(row["label"])] += 1
        for class_id, count in (row.get("class_boxes") or {}).items():
            s["class_counts"][class_id] += count
        if row.get("phash") and row.get("dhash"):
            self.hashes.append({key: row[key] for key in ("split", "filename", "phash", "dhash", "reason")})
        return self

    def merge(self, other: "ReportTally") -> "ReportTally":
        for name, counts in other.splits.items():
            s = self.splits.setdefault(name, _new_split())
            for key in ("input", "good", "quarantined", "reasons", "class_counts"):
                s[key] += counts[key]
        self.hashes.extend(other.hashes)
        return self


class _Summarize(beam.CombineFn):
    """Folds the rows into a :class:`ReportTally`, then into the report (without the rows)."""

    def __init__(self, config: ValidationConfig):
        super().__init__()
        self.config = config

    def create_accumulator(self):
        return ReportTally()

    def add_input(self, tally, row):
        return tally.add(row)

    def merge_accumulators(self, tallies):
        tallies = iter(tallies)
        merged = next(tallies)
        for tally in tallies:
            merged.merge(tally)
        return merged

    def extract_output(self, tally):
        return report_from_tally(tally, self.config)


def summarize(rows: Iterable[Dict[str, Any]], config: ValidationConfig) -> Dict[str, Any]:
    """Counts per split and reason, class balance and near-duplicates of ``rows`` (the report, rows aside)."""
    tally = ReportTally()
    for row in rows:
        tally.add(row)
    return report_from_tally(tally, config)


def report_from_tally(tally: ReportTally, config: ValidationConfig) -> Dict[str, Any]:
    splits = tally.splits
    warnings = []
    for name, s in splits.items():
        counts = s["class_counts"]
        if counts and min(counts.values()) < config.imbalance_ratio * max(counts.values()):
            rare = sorted(k for k, v in counts.items() if v < config.imbalance_ratio * max(counts.values()))
            rare = [config.class_names[int(k)] if k.isdigit() and int(k) < len(config.class_names) else k
                    for k in rare]
            warnings.append(f"class imbalance in {name}: class(es) {', '.join(rare)} have under "
                            f"{config.imbalance_ratio:.0%} of the largest class's {max(counts.values())} examples")
        s["reasons"], s["class_counts"] = dict(s["reasons"]), dict(counts)
    near = near_duplicates(tally.hashes, config)
    across = sum(1 for pair in near if pair["across_splits"])
    if across:
        warnings.append(f"{across} near-duplicate image pair(s) across train and eval (possible leakage): the "
                        "eval score may be optimistic; see near_duplicates in the report")
    total = sum(s["input"] for s in splits.values())
    bad = sum(s["quarantined"] for s in splits.values())
    return {
        "config": dataclasses.asdict(config),
        "total": total, "good": total - bad, "quarantined": bad,
        "bad_fraction": bad / total if total else 0.0,
        "splits": splits, "warnings": warnings,
        "near_duplicate_pairs": len(near), "near_duplicate_pairs_across_splits": across,
        "near_duplicates": near[:config.max_near_duplicates_listed],
        "examples_file": ROWS_FILENAME,
    }


def near_duplicates(rows: List[Dict[str, Any]], config: ValidationConfig) -> List[Dict[str, Any]]:
    """Pairs of good images with nearby perceptual hashes, across splits first, then closest first.

    Exact copies are already quarantined (same bytes); these are the same
    picture re-encoded, resized or slightly edited.
    """
    if config.near_duplicate_distance < 0:
        return []
    good = [r for r in rows if r["reason"] is None and r.get("phash") and r.get("dhash")]
    pairs = []
    for a, b, distance in checks.near_duplicate_pairs([r["phash"] for r in good], config.near_duplicate_distance,
                                                      confirm=[r["dhash"] for r in good]):
        first, second = sorted((good[a], good[b]), key=lambda r: (r["split"] != names.TRAIN_SPLIT, r["split"],
                                                                    r["filename"]))
        pairs.append({"a": f"{first['split']}/{first['filename']}", "b": f"{second['split']}/{second['filename']}",
                      "distance": distance, "across_splits": first["split"] != second["split"]})
    return sorted(pairs, key=lambda p: (not p["across_splits"], p["distance"], p["a"], p["b"]))


@dataclasses.dataclass
class _Artifacts:
    """The executor's input and output artifacts, with the outputs' split names and payload format set."""

    examples: Any
    validated: Any
    quarantine: Any
    report: Any
    splits: List[str]

    @property
    def report_path(self) -> str:
        return os.path.join(self.report.uri, REPORT_FILENAME)


def _artifacts(input_dict, output_dict) -> _Artifacts:
    """Reads the artifacts; the two example outputs take the input's splits and payload format."""
    examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
    validated = artifact_utils.get_single_instance(output_dict[VALIDATED_EXAMPLES_KEY])
    quarantine = artifact_utils.get_single_instance(output_dict[QUARANTINE_KEY])
    report = artifact_utils.get_single_instance(output_dict[REPORT_KEY])
    for output in (validated, quarantine):
        output.split_names = examples.split_names
        examples_utils.set_payload_format(output, examples_utils.get_payload_format(examples))
    return _Artifacts(examples, validated, quarantine, report, artifact_utils.decode_split_names(examples.split_names))


def _checked_groups(pipeline, artifacts: _Artifacts, config: ValidationConfig):
    """First read: every image checked, one small row each, grouped by content hash with duplicates resolved."""
    checked = []
    for split in artifacts.splits:
        checked.append(
            pipeline
            | f"Read[{split}]" >> beam.io.ReadFromTFRecord(_split_pattern(artifacts.examples, split))
            | f"Batch[{split}]" >> beam.BatchElements(min_batch_size=CHECK_BATCH, max_batch_size=CHECK_BATCH)
            | f"Check[{split}]" >> beam.FlatMap(check_records, split, config))
    return (
        checked
        | "AllSplits" >> beam.Flatten()
        | "ByHash" >> beam.Map(lambda r: (r["sha256"], r))
        | "GroupByHash" >> beam.GroupByKey()
        | "Duplicates" >> beam.Map(lambda kv: resolve_duplicates(kv[1]))
    )


def _verdicts_by_key(groups):
    """The quarantined records' verdicts, as a side input for the second read."""
    # A dict side input, read once per worker: Beam's AsMultiMap bulk-reads only up to 100 keys and
    # past that makes a state request per record (with a deep size of the result), which took
    # minutes at 128,000 images with a few hundred bad ones.
    return beam.pvalue.AsDict(
        groups
        | "Verdicts" >> beam.FlatMap(verdicts)
        | "VerdictsByKey" >> beam.GroupByKey()
        | "VerdictLists" >> beam.MapTuple(lambda key, found: (key, list(found))))


def _route_split(pipeline, artifacts: _Artifacts, split: str, verdicts_by_key) -> None:
    """Second read of one split: good records to ``validated_examples``, bad ones (with their reason) to
    ``quarantine``."""
    routed = (pipeline
              | f"Reread[{split}]" >> beam.io.ReadFromTFRecord(_split_pattern(artifacts.examples, split))
              | f"Route[{split}]" >> beam.ParDo(_Route(split), verdicts_by_key).with_outputs(
                  _Route.BAD, _Route.IDENTICAL, main="good"))
    shared = (routed[_Route.IDENTICAL]
              | f"GroupIdentical[{split}]" >> beam.GroupByKey()
              | f"ShareVerdicts[{split}]" >> beam.FlatMap(_share_verdicts, verdicts_by_key).with_outputs(
                  _Route.BAD, main="good"))
    # A writer per stage's output, not one behind a Flatten: on the DirectRunner that Flatten held
    # every good record in memory (+260 MB at 32,000 small PNGs).
    for label, outputs, artifact in (("Good", (routed.good, shared.good), artifacts.validated),
                                     ("Bad", (routed[_Route.BAD], shared[_Route.BAD]), artifacts.quarantine)):
        split_uri = artifact_utils.get_split_uri([artifact], split)
        _ = outputs[0] | f"Write{label}[{split}]" >> staged_files.write_tfrecords(split_uri)
        _ = outputs[1] | f"Write{label}Identical[{split}]" >> staged_files.write_tfrecords(
            split_uri, prefix=IDENTICAL_SHARDS_PREFIX, empty_file=False)


def _write_report(rows, artifacts: _Artifacts, config: ValidationConfig) -> None:
    """Every row to the JSON Lines file, and the counts (rows aside) to the report JSON."""
    report_path = artifacts.report_path
    _ = (rows
         | "RowJson" >> beam.Map(lambda r: json.dumps({k: v for k, v in r.items() if k != "record"},
                                                      sort_keys=True))
         | "WriteRows" >> staged_files.write_lines(os.path.join(artifacts.report.uri, ROWS_FILENAME)))
    _ = (rows
         | "Summarize" >> beam.CombineGlobally(_Summarize(config))
         | "WriteReport" >> beam.Map(lambda summary: _write_json(report_path, summary)))


def _fail_if_too_many_bad(summary: Dict[str, Any], artifacts: _Artifacts, config: ValidationConfig) -> None:
    """Past ``max_bad_fraction``, raises :class:`TooManyBadExamples` naming the reasons (with the setting that
    would keep them) and where the per-file report was kept."""
    if summary["bad_fraction"] > config.max_bad_fraction:
        reasons = collections.Counter()
        for split in summary["splits"].values():
            reasons.update(split["reasons"])
        # TFX deletes a failed executor's outputs: the per-file report is kept beside them for the user.
        report_uri = artifacts.report.uri
        kept = keep_after_failure([artifacts.report_path, os.path.join(report_uri, ROWS_FILENAME)], report_uri)
        rows_path = os.path.join(kept, ROWS_FILENAME)
        raise TooManyBadExamples(
            f"{summary['quarantined']} of {summary['total']} examples ({summary['bad_fraction']:.1%}) are bad, "
            f"more than the allowed {config.max_bad_fraction:.1%}: "
            + ", ".join(f"{n} {reason}{_HINTS.get(reason, '').format(config=config)}"
                        for reason, n in reasons.most_common())
            + f". Details per file: {rows_path}. Fix the data or raise --max-bad-fraction."
        )


class Executor(base_beam_executor.BaseBeamExecutor):
    """See the module docstring."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        config = ValidationConfig.from_json(exec_properties[CONFIG_KEY])
        artifacts = _artifacts(input_dict, output_dict)
        # Two reads of the input, so nothing large is held: the first checks every image and keeps a small
        # row each (grouped by content hash to find duplicates); the second routes each record by the
        # verdicts of the quarantined ones, a side input as small as the bad share.
        with self._make_beam_pipeline() as pipeline:
            groups = _checked_groups(pipeline, artifacts, config)
            rows = groups | "Rows" >> beam.FlatMap(lambda group: group)
            verdicts_by_key = _verdicts_by_key(groups)
            for split in artifacts.splits:
                _route_split(pipeline, artifacts, split, verdicts_by_key)
            _write_report(rows, artifacts, config)

        with tf.io.gfile.GFile(artifacts.report_path) as handle:
            summary = json.load(handle)
        artifacts.report.set_int_custom_property("total", summary["total"])
        artifacts.report.set_int_custom_property("quarantined", summary["quarantined"])
        _fail_if_too_many_bad(summary, artifacts, config)


def _split_pattern(examples, split: str) -> str:
    return os.path.join(artifact_utils.get_split_uri([examples], split), "*")


def _write_json(path: str, summary: Dict[str, Any]) -> None:
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as handle:
        json.dump(summary, handle, indent=1, sort_keys=True)
