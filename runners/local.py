"""``python local_runner.py``: prepare the data, run the pipeline with LocalDagRunner, report.

Importable, so tests drive exactly what users run.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

from pipeline import configs
from pipeline.configs import PipelineConfig
from runners.run_log import configure_logging, native_stderr_to
from runners.scratch import local_beam_dependencies, scratch_dir


#: Exit codes of ``python local_runner.py`` (documented in the README).
EXIT_PUSHED = 0          # the model was blessed and pushed
EXIT_FAILED = 1          # a component failed
EXIT_BAD_INPUT = 2       # refused before any component ran: a bad flag, data path or data layout
EXIT_NOT_BLESSED = 3     # the run finished but the model was not blessed (so not pushed)


class PipelineFailed(RuntimeError):
    """A component failed while LocalDagRunner ran the pipeline; ``reports``: what was still written."""

    def __init__(self, message: str, reports: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.reports = reports or {}


def exit_code(summary) -> int:
    """0 when blessed and pushed, 3 when the run finished without a blessing."""
    return EXIT_PUSHED if summary.blessed and summary.pushed_model else EXIT_NOT_BLESSED


def run(config: PipelineConfig, verbose: bool = False, log=print):
    """Prepares the data, runs the pipeline, writes reports; returns the RunSummary."""
    started = time.monotonic()
    if config.data.path is not None:  # before anything is written: the output must not be the user's data
        from ingest.shards import guard_output

        guard_output(Path(config.run.output_dir), [Path(config.data.path)], must_be_ours=False)
    os.makedirs(config.run.output_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_path = os.path.join(config.run.output_dir, "logs", f"run-{stamp}.log")
    file_handler = configure_logging(log_path, verbose)
    try:
        with scratch_dir():
            return _run_logged(config, log_path, started, log, verbose)
    except Exception as err:
        logging.getLogger(__name__).exception("run failed: %s", err)  # the full traceback goes to the run log
        err.log_path = log_path
        raise
    finally:
        logging.getLogger().removeHandler(file_handler)
        file_handler.close()


def _run_logged(config: PipelineConfig, log_path: str, started: float, log, verbose: bool = False):
    from tfx import v1 as tfx

    from ingest import source
    from pipeline.pipeline import create_pipeline
    from reporting import run_summary
    from runners.memory import release_after, release_freed_memory
    from runners.progress import ProgressReporter

    data = source.resolve(config.task, config.data, config.prepared_data_dir, config.trainer.class_names, log=log)
    config.trainer.class_names = list(data.class_names)
    log("augmentation: " + config.trainer.augmentation.describe(config.trainer.resize_policy,
                                                                config.contract.decides_flips_from_data))
    tfx_pipeline = create_pipeline(
        config, data, tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
    )
    order = [c.id for c in tfx_pipeline.components]
    log(f"pipeline {config.pipeline_name}: {len(order)} components, root {config.pipeline_root}")
    log(f"full log: {log_path}")
    # Each component that ran hands the memory it freed back before the next starts (runners/memory.py).
    progress = ProgressReporter(order, on_finished=release_after)
    absl_logger = logging.getLogger("absl")
    absl_logger.addHandler(progress)
    try:
        with local_beam_dependencies(config.beam_pipeline_args()), \
                (contextlib.nullcontext() if verbose else native_stderr_to(log_path)):
            tfx.orchestration.LocalDagRunner().run(tfx_pipeline)
    except Exception as err:
        absl_logger.removeHandler(progress)
        raise PipelineFailed(f"{type(err).__name__}: {err}",
                             _reports_after_failure(config, progress, order, log_path)) from err
    finally:
        absl_logger.removeHandler(progress)
    release_freed_memory()  # before the reports
    summary = run_summary.build_summary(
        config.metadata_path, config.pipeline_name, config.trainer.label_key,
        config.trainer.class_names, progress.wall_seconds, order,
    )
    _write_reports(config, summary, log_path)
    log(run_summary.format_summary(summary, time.monotonic() - started))
    return summary


def _reports_after_failure(config: PipelineConfig, progress, order, log_path: str) -> Dict[str, str]:
    """After a failed component: the statistics, schema, anomalies and data report of what did run (a failed
    run is when a data engineer needs them most).  Best effort: a problem here is logged, never raised."""
    from reporting import run_summary

    try:
        summary = run_summary.build_summary(config.metadata_path, config.pipeline_name, config.trainer.label_key,
                                            config.trainer.class_names, progress.wall_seconds, order)
        _write_reports(config, summary, log_path)
        return {name: path for name, path in summary.reports.items() if name != "Run log"}
    except Exception:  # noqa: BLE001 - the component's own error is the one to report
        logging.getLogger(__name__).exception("could not write the reports of the failed run")
        return {}


def _write_reports(config: PipelineConfig, summary, log_path: str) -> None:
    """TFDV files, the offline data report and run_summary.json under reports/<run>/ (and reports/latest)."""
    from common import names
    from reporting import html_report, mlmd, tfdv_files

    report_dir = os.path.join(config.reports_dir, summary.run_id.replace(":", "-"))
    outputs = {c.node_id: c.outputs for c in summary.components}
    previous_run, previous = mlmd.previous_run_nodes(config.metadata_path, config.pipeline_name, summary.run_id,
                                                     names.STATISTICS_GEN, "statistics")
    summary.reports.update(tfdv_files.write_tfdv_reports(
        outputs, report_dir, previous[names.STATISTICS_GEN].uri("statistics") if previous else None,
        previous_run or ""))
    summary.reports["Data report (HTML, offline)"] = html_report.write_report(
        config.metadata_path, config.pipeline_name, os.path.join(report_dir, "data_report.html"),
        run_id=summary.run_id, drift_threshold=config.quality.drift_threshold, report_links=dict(summary.reports))
    summary.reports["Run log"] = log_path
    summary_path = os.path.join(report_dir, "run_summary.json")
    summary.reports["Run summary (JSON)"] = summary_path
    with open(summary_path, "w", encoding="utf-8") as handle:
        handle.write(summary.to_json())
    latest = os.path.join(config.reports_dir, "latest")
    if os.path.islink(latest) or os.path.exists(latest):
        os.remove(latest)
    os.symlink(os.path.basename(report_dir), latest)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python local_runner.py",
        description="Run the image pipeline locally (LocalDagRunner, Beam DirectRunner, ML Metadata in SQLite).",
    )
    configs.add_cli_flags(parser)
    parser.add_argument("--verbose", action="store_true", help="show TFX/Beam/TensorFlow logs on the console")
    parser.add_argument("--predict", metavar="DIR", default=None,
                        help="instead of training: score every image in DIR with the latest blessed model in "
                             "--output-dir (BulkInferrer); writes predictions.csv in the report folder")
    args = parser.parse_args(argv)
    try:
        config = configs.from_cli(args)
        configs.check_local_files(config)
        if args.predict:
            return _predict(config, args)
        summary = run(config, verbose=args.verbose)
    except PipelineFailed as err:
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        for name, path in sorted(err.reports.items()):
            print(f"{name}: {path}", file=sys.stderr)
        print(f"full traceback: {getattr(err, 'log_path', 'the run log')}", file=sys.stderr)
        return EXIT_FAILED
    except (ValueError, FileNotFoundError, LookupError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return exit_code(summary)


def _predict(config: PipelineConfig, args) -> int:
    from ingest.shards import DataPrepError
    from runners.predict import PredictionFailed, predict

    try:
        predict(config, args.predict, verbose=args.verbose)
    except PredictionFailed as err:
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return EXIT_FAILED
    except DataPrepError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_PUSHED
