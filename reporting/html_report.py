"""A self-contained HTML data report per run, found through ML Metadata.

Why our own report next to TFDV's Facets: Facets loads its viewer from the
internet and treats images as opaque bytes.  This page has everything inline
(SVG charts, thumbnails as data URIs, no script, no external request), so it
opens anywhere — a laptop on a plane, an air-gapped cluster, a CI artifact.

    python -m reporting.html_report [--output-dir outputs] [--task classification] [--run RUN_ID] [--out FILE]

Sections: split and class counts; image size, format and channel
distributions; sample grids per class and per quarantine reason; every
quarantined file with its reason; TFDV anomalies; a schema summary;
train/eval skew; drift against the previous run; evaluation results.
"""

from __future__ import annotations

import argparse
import base64
import collections
import dataclasses
import html
import io
import json
import logging
import os
import sys
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from common import names, tasks
from components.checked_evaluator.results import read_evaluation, read_failed_checks
from reporting import drift, mlmd, run_summary

THUMB = 56
SAMPLES_PER_GROUP = 8
#: Colours of mask classes in segmentation thumbnails.
PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60]], np.uint8)


# --------------------------------------------------------------------------- data


def _load_validation(nodes: Dict[str, mlmd.NodeRun]) -> Dict[str, Any]:
    if names.IMAGE_VALIDATOR not in nodes:
        return {}
    return run_summary.load_validation_report(nodes[names.IMAGE_VALIDATOR].outputs)[1]


def _feature_keys(nodes: Dict[str, mlmd.NodeRun]) -> Dict[str, Optional[str]]:
    """The feature keys this run used (``--image-key`` etc.), as recorded in the ImageValidator's config."""
    keys = {"image_key": names.DEFAULT_IMAGE_KEY, "label_key": names.DEFAULT_LABEL_KEY,
            "mask_key": None, "filename_key": names.FILENAME_KEY, "box_keys": None}
    validator = nodes.get(names.IMAGE_VALIDATOR)
    if validator is not None:
        recorded = json.loads(mlmd.custom_property(validator.execution, "config") or "{}")
        keys.update({k: recorded[k] for k in keys if k in recorded})
    return keys


def _read_examples(uri: str, split: str, limit: int = 2000) -> Iterator[Any]:
    """The split's first ``limit`` tf.Examples, one at a time (a whole split would not fit at scale)."""
    import tensorflow as tf

    from common.examples_io import record_dataset

    files = tf.io.gfile.glob(os.path.join(uri, f"Split-{split}", "*"))
    for record in record_dataset(files).take(limit):
        yield tf.train.Example.FromString(record.numpy())


def _bytes(example, key: str) -> Optional[bytes]:
    feature = example.features.feature.get(key)
    return feature.bytes_list.value[0] if feature is not None and feature.bytes_list.value else None


def _boxes(example, box_keys: Optional[List[str]]) -> Optional[List[Tuple[float, float, float, float, int]]]:
    """The example's boxes (normalised xmin, ymin, xmax, ymax, class id), or None when the run has none."""
    if not box_keys:
        return None
    feature = example.features.feature
    columns = [list(feature[k].float_list.value) if k in feature else [] for k in box_keys[:4]]
    classes = list(feature[box_keys[4]].int64_list.value) if box_keys[4] in feature else []
    return [(*coords, int(c)) for *coords, c in zip(*columns, classes)]


def _thumbnail(data: Optional[bytes], mask: Optional[bytes] = None,
               boxes: Optional[Sequence[Tuple[float, float, float, float, int]]] = None) -> Optional[str]:
    """A data-URI PNG thumbnail (image, or image and coloured mask side by side; detection: its boxes drawn in
    their class colour); None if undecodable."""
    from PIL import Image, ImageDraw

    try:
        image = Image.open(io.BytesIO(data or b"")).convert("RGB")
        image.load()
    except Exception as err:  # an undecodable file is shown as a labelled placeholder instead
        logging.info("report: no thumbnail for an undecodable image (%s: %s)", type(err).__name__, err)
        return None
    scale = THUMB / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    resample = Image.NEAREST if scale >= 2 else Image.BILINEAR
    tiles = [image.resize(size, resample)]
    if boxes:
        draw = ImageDraw.Draw(tiles[0])
        for xmin, ymin, xmax, ymax, class_id in boxes:
            colour = tuple(int(v) for v in PALETTE[(class_id + 1) % len(PALETTE)])
            draw.rectangle([xmin * size[0], ymin * size[1], xmax * size[0] - 1, ymax * size[1] - 1], outline=colour)
    if mask is not None:
        try:
            ids = np.asarray(Image.open(io.BytesIO(mask)))
            tiles.append(Image.fromarray(PALETTE[ids % len(PALETTE)]).resize(size, Image.NEAREST))
        except Exception as err:  # the image tile is still shown; the mask tile is left out
            logging.warning("report: mask thumbnail left out (%s: %s)", type(err).__name__, err)
    canvas = Image.new("RGB", (sum(t.width for t in tiles) + 2 * (len(tiles) - 1), size[1]), (255, 255, 255))
    x = 0
    for tile in tiles:
        canvas.paste(tile, (x, 0))
        x += tile.width + 2
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# --------------------------------------------------------------------------- html


def _colour_name(class_id: int) -> str:
    """The box colour of a class, as a CSS hex colour (the palette of the thumbnails)."""
    return "#" + "".join(f"{int(v):02x}" for v in PALETTE[(class_id + 1) % len(PALETTE)])


def _esc(value: Any) -> str:
    return html.escape(str(value))


def svg_bars(items: Sequence[Tuple[str, float]], title: str, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG."""
    items = list(items)
    if not items:
        return f"<p class=muted>{_esc(title)}: no data</p>"
    peak = max(v for _, v in items) or 1
    row, label_w, bar_w = 18, 170, 300
    height = row * len(items) + 24
    parts = [f'<svg class="chart" role="img" aria-label="{_esc(title)}" width="{label_w + bar_w + 80}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="0" y="14" font-weight="bold">{_esc(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 24 + i * row
        width = max(1, int(bar_w * value / peak)) if value else 0
        shown = f"{value:.3g}{unit}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value)}{unit}"
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{_esc(label)[:28]}</text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{width}" height="{row - 5}"/>'
                     f'<text x="{label_w + width + 4}" y="{y + 12}">{_esc(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    if not rows:
        return "<p class=muted>none</p>"
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _grid(title: str, tiles: List[Tuple[Optional[str], str]]) -> str:
    """Thumbnails with captions wrapped anywhere and cut at two lines (the whole text on hover): long file
    names never overlap their neighbours."""
    cells = []
    for uri, caption in tiles:
        inner = f'<img src="{uri}" alt="{_esc(caption)}">' if uri else '<div class="broken">not decodable</div>'
        cells.append(f'<figure title="{_esc(caption)}">{inner}<figcaption>{_esc(caption)}</figcaption></figure>')
    return f'<div class="grid-block"><h4>{_esc(title)}</h4><div class="grid">{"".join(cells)}</div></div>'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
h4{margin:8px 0 4px}table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f4f4f4}
.muted{color:#888}.bad{color:#b00020;font-weight:bold}.good{color:#1b7f3b;font-weight:bold}
.chart{font-size:11px;margin:6px 16px 6px 0}.bar{fill:#4a78c2}.charts{display:flex;flex-wrap:wrap}
.grid{display:flex;flex-wrap:wrap;gap:6px}figure{margin:0;text-align:center;font-size:10px;width:120px}
figcaption{overflow-wrap:anywhere;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;
overflow:hidden;line-height:1.25}
.links ul{columns:2;margin:4px 0 12px}.pair{display:flex;gap:4px;align-items:flex-start;margin:4px 12px 4px 0}
figure img{image-rendering:pixelated;border:1px solid #ccc}.broken{width:56px;height:56px;border:1px dashed #b00020;
color:#b00020;font-size:9px;display:flex;align-items:center;justify-content:center}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px}
.card b{display:block;font-size:20px}
"""


# --------------------------------------------------------------------------- the run's inputs


@dataclasses.dataclass
class DriftBaseline:
    """The newest earlier run with statistics: what the drift section compares this run with."""

    run_id: str
    statistics_uri: Optional[str]
    validation: Dict[str, Any]


@dataclasses.dataclass
class RunInputs:
    """Everything the report reads from ML Metadata about one run, looked up before any HTML is written.

    Why gather first: every section then renders from plain values, the store is read in one place, and a
    section can be read (or tested) without knowing how TFX records its executions.
    """

    run_id: str
    nodes: Dict[str, mlmd.NodeRun]
    #: The ImageValidator's report ({} when it has not run).
    validation: Dict[str, Any]
    #: The feature keys the run used (see :func:`_feature_keys`).
    keys: Dict[str, Optional[str]]
    #: Class names in id order, as the Trainer was configured ([] before it ran).
    class_names: List[str]
    #: The validation report of the newest earlier run with one ({} if none): segmentation pixel shares.
    previous_validation: Dict[str, Any]
    drift_baseline: Optional[DriftBaseline]

    @property
    def splits(self) -> Dict[str, Any]:
        return self.validation.get("splits", {})

    def output_uri(self, node_id: str, key: str) -> Optional[str]:
        """URI of a node's output, or None when the node did not run."""
        node = self.nodes.get(node_id)
        return node.uri(key) if node else None


def gather_run(metadata_path: str, pipeline_name: str, run_id: Optional[str] = None) -> RunInputs:
    """Looks up the run (default: the newest) and the earlier runs its comparisons need."""
    run_id, nodes = mlmd.run_nodes(metadata_path, pipeline_name, run_name=run_id)
    _, previous_validator_run = mlmd.previous_run_nodes(metadata_path, pipeline_name, run_id,
                                                        names.IMAGE_VALIDATOR, "report")
    previous_id, previous = mlmd.previous_run_nodes(metadata_path, pipeline_name, run_id,
                                                    names.STATISTICS_GEN, "statistics")
    baseline = None
    if previous is not None:
        baseline = DriftBaseline(previous_id, previous[names.STATISTICS_GEN].uri("statistics"),
                                 _load_validation(previous))
    return RunInputs(run_id=run_id, nodes=nodes, validation=_load_validation(nodes), keys=_feature_keys(nodes),
                     class_names=_class_names(nodes),
                     previous_validation=_load_validation(previous_validator_run) if previous_validator_run else {},
                     drift_baseline=baseline)


def _statistics(uri: str, split: str) -> Optional[Any]:
    """A split's TFDV statistics from a StatisticsGen output folder, or None when the split has none."""
    import tensorflow_data_validation as tfdv

    path = os.path.join(uri, f"Split-{split}", "FeatureStats.pb")
    return tfdv.load_stats_binary(path) if os.path.exists(path) else None


def _split_statistics(run: RunInputs) -> Dict[str, Any]:
    """{split: TFDV statistics} of this run's StatisticsGen ({} when it did not run)."""
    uri = run.output_uri(names.STATISTICS_GEN, "statistics")
    if uri is None:
        return {}
    loaded = {split: _statistics(uri, split) for split in run.splits or (names.TRAIN_SPLIT, names.EVAL_SPLIT)}
    return {split: stats for split, stats in loaded.items() if stats is not None}


def _load_schema(nodes: Dict[str, mlmd.NodeRun]) -> Optional[Any]:
    """The schema the run validated against (curated or inferred), or None before a schema node ran."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema_node = nodes.get(names.IMPORT_SCHEMA_GEN) or nodes.get(names.SCHEMA_GEN)
    if not schema_node or not schema_node.outputs.get("schema"):
        return None
    with open(os.path.join(schema_node.uri("schema"), "schema.pbtxt")) as handle:
        return text_format.Parse(handle.read(), schema_pb2.Schema())


# --------------------------------------------------------------------------- sections


def _class_name(key: str, class_names: Sequence[str]) -> str:
    """A class id's name where the Trainer named it, else the id (or the non-numeric key) as it is."""
    return class_names[int(key)] if key.isdigit() and int(key) < len(class_names) else key


def _filename(example, filename_key: str) -> str:
    return (_bytes(example, filename_key) or b"").decode()


def _first_per_group(grouped: Iterable[Tuple[str, Any]], limit: int = SAMPLES_PER_GROUP) -> Dict[str, List[Any]]:
    """The first ``limit`` items of each group, from (group, item) pairs: a few samples each, in one pass."""
    groups: Dict[str, List[Any]] = collections.defaultdict(list)
    for group, item in grouped:
        if len(groups[group]) < limit:
            groups[group].append(item)
    return groups


def _overview_section(run: RunInputs) -> str:
    """Cards with the totals, the validator's warnings, and per split the counts and examples per class."""
    validation, splits = run.validation, run.splits
    cards = [("examples", validation.get("total", "?")), ("good", validation.get("good", "?")),
             ("quarantined", validation.get("quarantined", "?"))]
    parts = ['<div class="cards">' + "".join(f'<div class="card">{_esc(k)}<b>{_esc(v)}</b></div>'
                                             for k, v in cards) + "</div>"]
    parts.extend(f'<p class="bad">warning: {_esc(warning)}</p>' for warning in validation.get("warnings", []))
    parts.append("<h2 id=counts>Splits and classes</h2>")
    parts.append(_table(["split", "input", "good", "quarantined"],
                        [(s, v["input"], v["good"], v["quarantined"]) for s, v in sorted(splits.items())]))
    charts = []
    for split, values in sorted(splits.items()):
        counts = values.get("class_counts", {})
        items = [(_class_name(k, run.class_names), float(v))
                 for k, v in sorted(counts.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else kv[0])]
        if items:
            charts.append(svg_bars(items, f"{split}: examples per class"))
    parts.append(f'<div class="charts">{"".join(charts)}</div>')
    if run.keys["mask_key"]:
        parts.append(_class_pixel_section(validation, splits, run.class_names, run.previous_validation))
    return "".join(parts)


def _image_properties_section(validation: Dict[str, Any]) -> str:
    """Charts of the good images' sizes, formats, channels, pixel modes and brightness (all splits)."""
    good = drift.merged_digest(validation)
    charts = []
    for key, title in (("width", "width (px)"), ("height", "height (px)"), ("format", "format"),
                       ("channels", "channels"), ("mode", "pixel mode")):
        counter = collections.Counter(good["counts"][key] if good else {})
        charts.append(svg_bars([(k, float(v)) for k, v in counter.most_common(12)], title))
    if good:
        hist = drift.shares(good["brightness"], drift.BRIGHTNESS_EDGES)
        charts.append(svg_bars([(k, v) for k, v in hist.items()], "mean brightness (share)"))
    return f'<h2 id=images>Image sizes, formats and channels</h2><div class="charts">{"".join(charts)}</div>'


def _sample_labels(example, label_key: Optional[str], box_keys: Optional[List[str]]) -> List[str]:
    """The classes an example is a sample of: its label ("all" without one); detection: every class it has
    a box of ("none" without boxes)."""
    if box_keys:
        return sorted({str(box[4]) for box in _boxes(example, box_keys)} or {"none"})
    feature = example.features.feature.get(label_key) if label_key else None
    return [str(feature.int64_list.value[0]) if feature is not None and feature.int64_list.value else "all"]


def _samples_section(run: RunInputs) -> str:
    """A grid of thumbnails per class from the train split (masks beside them, boxes drawn on them)."""
    heading = "<h2 id=samples>Samples per class</h2>"
    validated_uri = run.output_uri(names.IMAGE_VALIDATOR, "validated_examples")
    if validated_uri is None:
        return heading
    keys, box_keys = run.keys, run.keys.get("box_keys")
    examples = _read_examples(validated_uri, names.TRAIN_SPLIT, limit=5000)
    by_class = _first_per_group((label, example) for example in examples
                                for label in _sample_labels(example, keys["label_key"], box_keys))
    parts = [heading]
    if box_keys:
        legend = " ".join(f'<span style="color:{_colour_name(i)}">&#9632;</span> {_esc(name)}'
                          for i, name in enumerate(run.class_names))
        parts.append(f"<p>Boxes drawn in their class colour: {legend}</p>")
    for label in sorted(by_class, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else k)):
        tiles = [(_thumbnail(_bytes(e, keys["image_key"]), _bytes(e, keys["mask_key"]) if keys["mask_key"] else None,
                             _boxes(e, box_keys)),
                  _filename(e, keys["filename_key"]))
                 for e in by_class[label]]
        parts.append(_grid(f"class {_class_name(label, run.class_names)}", tiles))
    return "".join(parts)


def _quarantine_section(run: RunInputs) -> str:
    """Thumbnails of quarantined files per reason, then every quarantined file with its reason."""
    parts = ["<h2 id=quarantine>Quarantined files</h2>"]
    quarantine = run.output_uri(names.IMAGE_VALIDATOR, "quarantine")
    if quarantine is not None:
        by_reason = _first_per_group(((_bytes(example, names.QUARANTINE_REASON_KEY) or b"").decode(), example)
                                     for split in run.splits for example in _read_examples(quarantine, split))
        for reason, examples in sorted(by_reason.items()):
            parts.append(_grid(reason, [(_thumbnail(_bytes(e, run.keys["image_key"])),
                                         _filename(e, run.keys["filename_key"])) for e in examples]))
    bad_rows = [(r["split"], r["filename"], r["reason"], r["detail"])
                for r in run.validation.get("digest", {}).get("bad", [])]
    parts.append(_table(["split", "file", "reason", "detail"], bad_rows, cls="quarantine"))
    return "".join(parts)


def _left_out_section(nodes: Dict[str, mlmd.NodeRun]) -> str:
    """Files data preparation refused (never reached the validator), and sources left unused by choice."""
    manifest = run_summary.read_manifest(nodes)
    left_out = list(manifest.get("rejected", []))
    unused = run_summary.unused_sources(manifest)
    parts = ["<h2 id=left-out>Files left out by data preparation</h2>"]
    parts.append(_table(["file(s)", "reason"], [(" + ".join(item["files"]), item["reason"]) for item in left_out],
                        cls="left-out") if left_out else
                 "<p class=muted>no file refused (or the data came as TFRecords, with no preparation here)</p>")
    if unused:
        parts.append("<p>Not used, by choice: " + ", ".join(
            f"{html.escape(source)} ({count} images)" for source, count in sorted(unused.items()))
            + " (a held-out split; choose it with <code>--eval-split</code>)</p>")
    return "".join(parts)


def _anomalies_section(run: RunInputs) -> str:
    """TFDV's anomalies as the ExampleValidator found them, per split."""
    from components.anomaly_gate.executor import read_anomalies

    heading = "<h2 id=anomalies>TFDV anomalies (ExampleValidator)</h2>"
    anomalies = run.output_uri(names.EXAMPLE_VALIDATOR, "anomalies")
    if anomalies is None:
        return heading
    rows = read_anomalies(anomalies, list(run.splits) or [names.TRAIN_SPLIT, names.EVAL_SPLIT])
    return heading + _table(["split", "feature", "anomaly", "description"],
                            [(r["split"], r["feature"], r["short"], r["description"]) for r in rows])


def _schema_domain(schema, feature) -> str:
    """A feature's domain in a few words: an int range, or the first values of a string domain."""
    domain = feature.WhichOneof("domain_info") or ""
    if domain == "int_domain":
        return f"int [{feature.int_domain.min}, {feature.int_domain.max}]"
    if feature.domain:
        values = next((d.value for d in schema.string_domain if d.name == feature.domain), [])
        return f"one of {len(values)}: " + ", ".join(list(values)[:8]) + ("…" if len(values) > 8 else "")
    return domain


def _schema_section(schema, curated: bool) -> str:
    """One row per feature of the schema, and whether it was curated or inferred."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    heading = "<h2 id=schema>Schema</h2>"
    if schema is None:
        return heading
    rows = [(feature.name, schema_pb2.FeatureType.Name(feature.type), f"{feature.presence.min_fraction:g}",
             [d.size for d in feature.shape.dim], _schema_domain(schema, feature)) for feature in schema.feature]
    origin = "curated (ImportSchemaGen)" if curated else "inferred (SchemaGen)"
    return heading + _table(["feature", "type", "min presence", "shape", "domain"], rows) + \
        f"<p class=muted>{origin}</p>"


def _distance_table(distances: Dict[str, float], mode: str, column: str, threshold: Optional[float] = None) -> str:
    """The distances of :func:`drift.compare` as a table; with a ``threshold``, a verdict per row.

    Why one renderer: skew and drift are one measurement of two different pairs, so they read alike.
    """
    def title(key: str) -> str:
        return (f"label distribution (TFDV {mode} comparator: L∞ or JS divergence)" if key == drift.LABEL
                else f"image {key}")

    if threshold is None:
        return _table(["statistic", column], [(title(k), f"{v:.3f}") for k, v in distances.items()])
    return _table(["statistic", column, "verdict"],
                  [(title(k), f"{v:.3f}", "DRIFT" if v > threshold else "ok") for k, v in distances.items()],
                  cls="drift")


def _skew_section(run: RunInputs, stats: Dict[str, Any], schema, threshold: float) -> str:
    """Train against eval: a model scored on data unlike its training data is scored on the wrong question."""
    distances = drift.compare(stats.get(names.TRAIN_SPLIT), stats.get(names.EVAL_SPLIT),
                              drift.split_digest(run.validation, names.TRAIN_SPLIT),
                              drift.split_digest(run.validation, names.EVAL_SPLIT),
                              schema, run.keys["label_key"], threshold, "skew")
    return "<h2 id=skew>Train / eval skew</h2>" + _distance_table(distances, "skew", "distance train↔eval")


def _drift_section(run: RunInputs, stats: Dict[str, Any], schema, threshold: float) -> str:
    """This run's train split against the previous run's: data that changed under a model explains its scores."""
    heading = "<h2 id=drift>Drift against the previous run</h2>"
    baseline = run.drift_baseline
    if baseline is None:
        return heading + "<p class=muted>no previous run with statistics</p>"
    distances = drift.compare(stats.get(names.TRAIN_SPLIT), _statistics(baseline.statistics_uri, names.TRAIN_SPLIT),
                              drift.split_digest(run.validation, names.TRAIN_SPLIT),
                              drift.split_digest(baseline.validation, names.TRAIN_SPLIT),
                              schema, run.keys["label_key"], threshold, "drift")
    return (heading + f"<p>compared with run {_esc(baseline.run_id)}; threshold {threshold:g}</p>"
            + _distance_table(distances, "drift", "distance", threshold))


def _tflite_table(tflite: Dict[str, Dict[str, float]], metrics: Dict[str, float]) -> str:
    """The TFLite files' metrics beside the SavedModel's ("" when no TFLite file was evaluated)."""
    if not tflite:
        return ""
    rows = [(model, name, f"{value:.4f}", f"{metrics[name]:.4f}" if name in metrics else "-")
            for model, values in sorted(tflite.items()) for name, value in sorted(values.items())
            if "/" not in name]
    return ("<p>TFLite files on the same eval split (TfliteEvaluator):</p>"
            + _table(["TFLite model", "metric", "value", "SavedModel"], rows, cls="tflite"))


def _augmented_samples(run: RunInputs) -> str:
    """The Trainer's augmented training images (as the model saw them), as thumbnails."""
    trainer = run.nodes.get(names.TRAINER)
    folder = os.path.join(trainer.uri("model_run"), names.AUGMENTED_SAMPLES_DIRNAME) \
        if trainer and trainer.outputs.get("model_run") else None
    if not folder or not os.path.isdir(folder):
        return ""
    files = sorted((name for name in os.listdir(folder) if name.endswith(".png")),
                   key=lambda name: int(name.split(".")[0]))
    tiles = [(_thumbnail(open(os.path.join(folder, name), "rb").read()), f"training image {name.split('.')[0]}")
             for name in files]
    return _grid("Training images as the model saw them (augmented)", tiles)


def _training_section(run: RunInputs) -> str:
    """What training decided: the augmentation and its flips, the linear probe, and every Tuner trial."""
    heading = "<h2 id=training>Training</h2>"
    augmentation = run_summary.read_trainer_record(run.nodes, names.AUGMENTATION_FILENAME)
    if not augmentation:
        return heading + "<p class=muted>the Trainer has not run in this run</p>"
    parts = [heading, f"<p>{_esc(run_summary.format_augmentation(augmentation))}</p>", _augmented_samples(run)]
    probe = run_summary.read_trainer_record(run.nodes, names.LINEAR_PROBE_FILENAME)
    if probe:
        parts.append(f"<p>Linear probe on the frozen backbone: {_esc(probe.get('reason', ''))}; kept the "
                     f"{_esc(probe.get('kept'))} model.</p>")
    tuning = run_summary.read_tuning(run.nodes)
    if tuning:
        trials = sorted(tuning["trials"], key=lambda t: int(t["trial_id"]))
        names_ = sorted({k for t in trials for k in t} - {"trial_id", "score"})
        parts.append(f"<p>{_esc(run_summary.format_tuning(tuning))}</p>")
        parts.append(svg_bars([(f"trial {t['trial_id']}", float(t["score"])) for t in trials],
                              "validation score per trial (trial 0: the defaults)"))
        parts.append(_table(["trial", "score", *names_],
                            [[t["trial_id"], f"{float(t['score']):.4f}", *[t.get(n, "") for n in names_]]
                             for t in trials], cls="trials"))
    return "".join(parts)


def _evaluation_section(run: RunInputs) -> str:
    """The Evaluator's metrics, the TFLite files' and the blessing, with the failed checks when not blessed."""
    heading = "<h2 id=evaluation>Evaluation</h2>"
    evaluator = run.nodes[names.EVALUATOR].outputs if names.EVALUATOR in run.nodes else {}
    if not evaluator.get("evaluation"):
        return heading + "<p class=muted>the Evaluator has not run in this run</p>"
    evaluation_uri = evaluator["evaluation"][0].uri
    metrics, _ = read_evaluation(evaluation_uri, run.keys["label_key"], run.class_names)
    parts = [heading, _table(["metric", "value"], [(k, f"{v:.4f}") for k, v in sorted(metrics.items())],
                             cls="metrics"),
             _tflite_table(run_summary.read_tflite_evaluation(run.nodes), metrics)]
    blessed = evaluator.get("blessing") and mlmd.custom_property(evaluator["blessing"][0], "blessed")
    verdict = "BLESSED" if blessed else "NOT blessed"
    if not blessed:
        failed = read_failed_checks(evaluation_uri, None)
        verdict += (" — " + "; ".join(failed)) if failed else ""
    parts.append(f'<p class="{"good" if blessed else "bad"}" id=verdict>{_esc(verdict)}</p>')
    return "".join(parts)


def build_html(metadata_path: str, pipeline_name: str, run_id: Optional[str] = None,
               drift_threshold: float = 0.1, report_links: Optional[Dict[str, str]] = None) -> str:
    """The whole report page for one run (default: the newest) of ``pipeline_name``.

    ``report_links``: {title: path relative to the page} of the other pages and files of the run's report
    folder (Facets Overview and Dive, label issues, anomalies, schema), listed at the top.
    """
    run = gather_run(metadata_path, pipeline_name, run_id)
    keys = run.keys
    validated_uri = run.output_uri(names.IMAGE_VALIDATOR, "validated_examples")
    schema = _load_schema(run.nodes)
    stats = _split_statistics(run)
    sections = [
        _links(report_links or {}),
        _overview_section(run),
        _image_properties_section(run.validation),
        _samples_section(run),
        _quarantine_section(run),
        _left_out_section(run.nodes),
        _label_issue_section(run.nodes, validated_uri, run.splits, keys["image_key"], keys["filename_key"]),
        _near_duplicate_section(run.validation, validated_uri, keys["image_key"], keys["filename_key"]),
        _anomalies_section(run),
        _schema_section(schema, curated=names.IMPORT_SCHEMA_GEN in run.nodes),
        _skew_section(run, stats, schema, drift_threshold),
        _drift_section(run, stats, schema, drift_threshold),
        _training_section(run),
        _evaluation_section(run),
    ]
    title = f"Data report — {pipeline_name} — run {run.run_id}"
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_esc(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{_esc(title)}</h1>{''.join(sections)}</body></html>")


def _images_by_name(uri: Optional[str], splits, image_key: str, filename_key: str,
                    wanted: set) -> Dict[Tuple[str, str], bytes]:
    """{(split, file): encoded image} for the ``wanted`` (split, file) pairs of an Examples artifact."""
    found: Dict[Tuple[str, str], bytes] = {}
    if uri is None or not wanted:
        return found
    for split in sorted({s for s, _ in wanted} & set(splits or [names.TRAIN_SPLIT, names.EVAL_SPLIT])):
        for example in _read_examples(uri, split, limit=10 ** 9):
            key = (split, (_bytes(example, filename_key) or b"").decode())
            if key in wanted:
                found[key] = _bytes(example, image_key)
                if len(found) == len(wanted):
                    return found
    return found


#: Suspects and near-duplicate pairs shown with thumbnails (all are in label_issues.csv / the validator's JSON).
TOP_SUSPECTS = 24
TOP_PAIRS = 12


def _label_issue_section(nodes, validated_uri, splits, image_key: str, filename_key: str) -> str:
    import csv

    from components.label_inspector.spec import ISSUES_FILENAME, SUMMARY_FILENAME

    inspector = nodes.get(names.LABEL_INSPECTOR)
    parts = ["<h2 id=label-issues>Suspected label errors</h2>"]
    if inspector is None or not inspector.outputs.get("label_issues"):
        return "".join(parts) + "<p class=muted>n/a: the LabelInspector did not run (it inspects tasks with one class per image)</p>"
    uri = inspector.uri("label_issues")
    with open(os.path.join(uri, SUMMARY_FILENAME), encoding="utf-8") as handle:
        summary = json.load(handle)
    with open(os.path.join(uri, ISSUES_FILENAME), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if summary.get("skipped"):
        return "".join(parts) + f"<p class=muted>n/a: {_esc(summary['skipped'])}</p>"
    parts.append(f"<p>{len(rows)} of {summary['examples']} examples ({100 * summary['share']:.1f}%) look "
                 f"mislabelled: confident learning (cleanlab) on out-of-sample probabilities ({summary['folds']}-fold "
                 f"logistic regression on the model's embeddings, accuracy {summary['out_of_sample_accuracy']:.3f}). "
                 "Highest score first; all of them, with scores, in label_issues.csv.</p>")
    top = rows[:TOP_SUSPECTS]
    images = _images_by_name(validated_uri, splits, image_key, filename_key, {(r["split"], r["file"]) for r in top})
    tiles = [(_thumbnail(images.get((r["split"], r["file"]))),
              f"{r['given_label']} → {r['suggested_label']} ({float(r['score']):.2f}) {r['file']}") for r in top]
    if tiles:
        parts.append(_grid("given label → suggested label (score)", tiles))
    parts.append(_table(["file", "split", "given label", "suggested label", "score"],
                        [(r["file"], r["split"], r["given_label"], r["suggested_label"], r["score"]) for r in top],
                        cls="label-issues"))
    return "".join(parts)


def _near_duplicate_section(validation: Dict[str, Any], validated_uri, image_key: str, filename_key: str) -> str:
    parts = ["<h2 id=near-duplicates>Near-duplicates</h2>"]
    if "near_duplicates" not in validation:
        return "".join(parts) + "<p class=muted>n/a: not checked in this run</p>"
    pairs = validation["near_duplicates"]
    parts.append(f"<p>{validation.get('near_duplicate_pairs', len(pairs))} pair(s) of kept images that look the "
                 f"same (perceptual hashes within a few bits: re-encoded, resized or lightly edited copies), "
                 f"{validation.get('near_duplicate_pairs_across_splits', 0)} across train and eval. Exact copies "
                 "are quarantined separately.</p>")
    top = pairs[:TOP_PAIRS]
    wanted = {tuple(p[k].split("/", 1)) for p in top for k in ("a", "b")}
    images = _images_by_name(validated_uri, None, image_key, filename_key, wanted)
    cells = []
    for pair in top:
        a, b = (tuple(pair[k].split("/", 1)) for k in ("a", "b"))
        uris = [_thumbnail(images.get(a)), _thumbnail(images.get(b))]
        cells.append('<div class="pair">' + "".join(
            f'<figure title="{_esc(pair[k])}"><img src="{u}" alt="{_esc(pair[k])}"><figcaption>{_esc(pair[k])}'
            f'</figcaption></figure>' if u else '<div class="broken">missing</div>' for u, k in zip(uris, "ab"))
            + f'<span class=muted>{pair["distance"]} bits{" · across splits" if pair["across_splits"] else ""}'
            "</span></div>")
    parts.append(f'<div class="grid">{"".join(cells)}</div>' if cells else "<p class=muted>none</p>")
    return "".join(parts)


def _links(report_links: Dict[str, str]) -> str:
    if not report_links:
        return ""
    items = "".join(f'<li><a href="{_esc(path)}">{_esc(title)}</a></li>' for title, path in report_links.items())
    return f'<nav class="links"><b>In this report folder</b><ul>{items}</ul></nav>'


def _class_pixel_section(validation: Dict[str, Any], splits: Dict[str, Any], class_names: List[str],
                         previous: Dict[str, Any]) -> str:
    """Segmentation: each class's share of labelled pixels and the ignored share, per split and vs the previous run."""
    columns = [s for s in sorted(splits)]
    shares = {s: drift.class_pixel_shares(drift.split_digest(validation, s)) for s in columns}
    if previous:
        columns.append("train, previous run")
        shares[columns[-1]] = drift.class_pixel_shares(drift.split_digest(previous, names.TRAIN_SPLIT))
    ids = sorted({k for values in shares.values() for k in values}, key=int)
    name = (lambda k: class_names[int(k)] if int(k) < len(class_names) else k)
    rows = [(name(k), *[f"{100 * shares[c][k]:.2f}%" if k in shares[c] else "n/a" for c in columns]) for k in ids]
    ignored = {s: drift.ignored_share(drift.split_digest(validation, s)) for s in sorted(splits)}
    if previous:
        ignored[columns[-1]] = drift.ignored_share(drift.split_digest(previous, names.TRAIN_SPLIT))
    rows.append(("(ignored: not in the loss, the IoU or the shares above)",
                 *[f"{100 * ignored[c]:.2f}%" if ignored.get(c) is not None else "n/a" for c in columns]))
    return ("<h4>Pixels per class (share of labelled pixels) and ignored pixels (share of all pixels)</h4>"
            + _table(["class", *columns], rows, cls="pixels"))


def _class_names(nodes: Dict[str, mlmd.NodeRun]) -> List[str]:
    """Class names in id order, as the Trainer was configured."""
    trainer = nodes.get(names.TRAINER)
    return list(mlmd.custom_config(trainer.execution).get("class_names", [])) if trainer else []


def write_report(metadata_path: str, pipeline_name: str, out_path: str, **kwargs) -> str:
    """Writes the page; ``report_links`` paths may be absolute, they are made relative to the page."""
    if kwargs.get("report_links"):
        base = os.path.dirname(os.path.abspath(out_path))
        kwargs["report_links"] = {title: os.path.relpath(path, base) for title, path in kwargs["report_links"].items()}
    page = build_html(metadata_path, pipeline_name, **kwargs)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write(page)
    return out_path


def main(argv: Optional[Sequence[str]] = None) -> int:
    from pipeline import configs

    parser = argparse.ArgumentParser(prog="python -m reporting.html_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="outputs")
    parser.add_argument("--task", choices=tasks.task_names(), default=tasks.task_names()[0])
    parser.add_argument("--pipeline-name", default="")
    parser.add_argument("--run", default=None, help="pipeline run id (default: the newest)")
    parser.add_argument("--out", default=None, help="default: OUTPUT_DIR/reports/<run>/data_report.html")
    parser.add_argument("--drift-threshold", type=float, default=configs.DataQualityConfig().drift_threshold)
    args = parser.parse_args(argv)
    # TFMA's metrics reader calls a deprecated TensorFlow reader, and TensorFlow says so on every report:
    # noise a user can do nothing about (failures still arrive as exceptions).
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    config = configs.PipelineConfig(trainer=configs.TrainerConfig(task=args.task),
                                    run=configs.RunConfig(pipeline_name=args.pipeline_name, output_dir=args.output_dir))
    try:
        run_id, _ = mlmd.run_nodes(config.metadata_path, config.pipeline_name, run_name=args.run)
        out = args.out or os.path.join(config.reports_dir, run_id.replace(":", "-"), "data_report.html")
        write_report(config.metadata_path, config.pipeline_name, out, run_id=run_id,
                     drift_threshold=args.drift_threshold)
    except (LookupError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
