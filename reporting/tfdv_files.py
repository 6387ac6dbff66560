"""TFDV outputs as files a data engineer can open: Facets HTML, anomalies table, schema.

Why: StatisticsGen/SchemaGen/ExampleValidator write binary protos deep inside
the pipeline root.  After each run these are rendered next to each other in
``<output_dir>/reports/<run id>/`` (and ``reports/latest``).
"""

from __future__ import annotations

import os
import shutil
from typing import Dict, List

import tensorflow_data_validation as tfdv
from tensorflow_data_validation.utils import display_util

from common import names


# TFDV returns a notebook fragment; a full page opens directly in a browser.
# Facets itself loads its web components from the internet.
_FACETS_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>
<p>Facets Overview (needs internet access to load its viewer).</p>
{body}
</body></html>
"""


def _split_dirs(uri: str) -> Dict[str, str]:
    return {name[len("Split-"):]: os.path.join(uri, name)
            for name in sorted(os.listdir(uri)) if name.startswith("Split-")}


def write_tfdv_reports(outputs: Dict[str, Dict[str, List[str]]], report_dir: str) -> Dict[str, str]:
    """Writes the reports from the run's artifact URIs; returns {report name: path}.

    ``outputs`` maps node id -> output key -> artifact URIs (see run_summary).
    """
    os.makedirs(report_dir, exist_ok=True)
    written: Dict[str, str] = {}
    stats_uris = outputs.get(names.STATISTICS_GEN, {}).get("statistics", [])
    if stats_uris:
        splits = _split_dirs(stats_uris[0])
        stats = {s: tfdv.load_stats_binary(os.path.join(d, "FeatureStats.pb")) for s, d in splits.items()}
        split_names = sorted(stats)
        if len(split_names) >= 2:
            html = display_util.get_statistics_html(stats[split_names[1]], stats[split_names[0]],
                                                    split_names[1], split_names[0])
        else:
            html = display_util.get_statistics_html(stats[split_names[0]], lhs_name=split_names[0])
        path = os.path.join(report_dir, "statistics_facets.html")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(_FACETS_PAGE.format(title="TFDV statistics: " + " vs ".join(split_names), body=html))
        written["Statistics (Facets Overview)"] = path
    schema_uris = (outputs.get(names.SCHEMA_GEN) or outputs.get(names.IMPORT_SCHEMA_GEN) or {}).get("schema", [])
    if schema_uris:
        path = os.path.join(report_dir, "schema.pbtxt")
        shutil.copyfile(os.path.join(schema_uris[0], "schema.pbtxt"), path)
        written["Schema"] = path
    anomalies_uris = outputs.get(names.EXAMPLE_VALIDATOR, {}).get("anomalies", [])
    if anomalies_uris:
        from components.anomaly_gate.executor import read_anomalies

        lines = []
        for split in _split_dirs(anomalies_uris[0]):
            rows = read_anomalies(anomalies_uris[0], [split])
            if not rows:
                lines.append(f"[{split}] no anomalies")
            lines.extend(f"[{split}] {r['feature']}: {r['short']} — {r['description']}" for r in rows)
        path = os.path.join(report_dir, "anomalies.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        written["Anomalies"] = path
    return written
