"""A run's data outputs as files a data engineer can open: Facets pages, label issues, anomalies, schema.

Why: StatisticsGen/SchemaGen/ExampleValidator write binary protos, and the
FacetsPages and LabelInspector components their pages and CSVs, deep inside
the pipeline root.  After each run they are put next to each other in
``<output_dir>/reports/<run id>/`` (and ``reports/latest``): the Facets
Overview (train vs eval, and this run's train split vs the previous run's),
the Facets Dive, ``label_issues.csv``, the anomalies and the schema.  Every
page works offline (see components/facets_pages).
"""

from __future__ import annotations

import os
import shutil
from typing import Dict, List

from typing import Optional

import tensorflow_data_validation as tfdv

from common import names
from components.facets_pages import pages
from components.label_inspector.spec import ISSUES_FILENAME

OVERVIEW_FILENAME = "statistics_facets.html"
DIVE_FILENAME = "facets_dive.html"


def _split_dirs(uri: str) -> Dict[str, str]:
    return {name[len("Split-"):]: os.path.join(uri, name)
            for name in sorted(os.listdir(uri)) if name.startswith("Split-")}


def write_tfdv_reports(outputs: Dict[str, Dict[str, List[str]]], report_dir: str,
                       previous_statistics_uri: Optional[str] = None, previous_run: str = "") -> Dict[str, str]:
    """Writes the reports from the run's artifact URIs; returns {report name: path}.

    ``outputs`` maps node id -> output key -> artifact URIs (see run_summary).
    ``previous_statistics_uri``: the previous run's StatisticsGen output, compared with this run's train split.
    """
    os.makedirs(report_dir, exist_ok=True)
    written: Dict[str, str] = {}
    stats_uris = outputs.get(names.STATISTICS_GEN, {}).get("statistics", [])
    if stats_uris:
        splits = _split_dirs(stats_uris[0])
        stats = {s: tfdv.load_stats_binary(os.path.join(d, "FeatureStats.pb")) for s, d in splits.items()}
        split_names = sorted(stats, key=lambda s: (s != names.TRAIN_SPLIT, s))
        comparisons = [(" vs ".join(split_names), pages.combine([(s, stats[s]) for s in split_names]))]
        previous_path = os.path.join(previous_statistics_uri or "", f"Split-{names.TRAIN_SPLIT}", "FeatureStats.pb")
        if previous_statistics_uri and names.TRAIN_SPLIT in stats and os.path.exists(previous_path):
            comparisons.append((f"train: this run vs the previous run ({previous_run})", pages.combine(
                [("this run", stats[names.TRAIN_SPLIT]), ("previous run", tfdv.load_stats_binary(previous_path))])))
        path = os.path.join(report_dir, OVERVIEW_FILENAME)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(pages.overview_page("Facets Overview — TFDV statistics", comparisons))
        written["Statistics (Facets Overview)"] = path
    dive = outputs.get(names.FACETS_PAGES, {}).get("dive", [])
    if dive and os.path.isfile(dive[0]):
        written["Every example (Facets Dive)"] = shutil.copyfile(dive[0], os.path.join(report_dir, DIVE_FILENAME))
    issues = outputs.get(names.LABEL_INSPECTOR, {}).get("label_issues", [])
    if issues and os.path.isfile(os.path.join(issues[0], ISSUES_FILENAME)):
        written["Suspected label errors (CSV)"] = shutil.copyfile(os.path.join(issues[0], ISSUES_FILENAME),
                                                                  os.path.join(report_dir, ISSUES_FILENAME))
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
