"""``python local_runner.py --predict DIR``: score a folder of new images with the latest blessed model.

The folder becomes examples (ingest/unlabelled.py), the inference DAG
(pipeline/inference.py) validates them and runs TFX's BulkInferrer with the
newest blessed model recorded in ``--output-dir``'s ML Metadata, and
``predictions.csv`` (reporting/predictions.py) lists every file: its class,
id, confidence and top-k (segmentation: its mask PNG under ``masks/``, class
pixel shares and mean confidence; detection: its boxes in the image's own
pixels, with class and score), or its quarantine reason.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Dict

from pipeline.configs import PipelineConfig


class PredictionFailed(RuntimeError):
    """A component of the inference pipeline failed."""


def predict(config: PipelineConfig, images_dir: str, verbose: bool = False, log=print) -> Dict[str, object]:
    """Runs the inference pipeline on ``images_dir``; returns counts, the model used and the CSV path."""
    from runners.run_log import configure_logging
    from runners.scratch import scratch_dir

    started = time.monotonic()
    from reporting import mlmd

    run_id, model_uri, pushed = mlmd.latest_blessed_model(config.metadata_path, config.pipeline_name)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work_dir = os.path.join(config.run.output_dir, "predict", stamp)
    log_path = os.path.join(config.run.output_dir, "logs", f"predict-{stamp}.log")
    from ingest.unlabelled import write_unlabelled

    count = write_unlabelled(images_dir, os.path.join(work_dir, "examples"))
    file_handler = configure_logging(log_path, verbose)
    try:
        # As a training run: one scratch folder for every temp file, removed at the end (runners/scratch.py).
        with scratch_dir():
            return _predict_logged(config, images_dir, work_dir, model_uri, run_id, pushed, count, log_path,
                                   started, log)
    except Exception as err:
        logging.getLogger(__name__).exception("prediction failed: %s", err)
        raise PredictionFailed(f"{type(err).__name__}: {err}") from err
    finally:
        logging.getLogger().removeHandler(file_handler)
        file_handler.close()


def _predict_logged(config, images_dir, work_dir, model_uri, run_id, pushed, count, log_path, started, log):
    from tfx import v1 as tfx

    from common import names
    from pipeline.inference import create_inference_pipeline, inference_pipeline_name
    from runners.scratch import local_beam_dependencies
    from reporting import mlmd, predictions, run_summary

    log(f"predicting {count} file(s) from {images_dir} with the model blessed in run {run_id}"
        + (f" (pushed to {pushed})" if pushed else ""))
    log(f"full log: {log_path}")
    pipeline = create_inference_pipeline(
        config, os.path.join(work_dir, "examples"), model_uri,
        tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path))
    with local_beam_dependencies(config.beam_pipeline_args()):  # no TFX sdist per Beam step on this machine
        tfx.orchestration.LocalDagRunner().run(pipeline)
    predict_run, nodes = mlmd.run_nodes(config.metadata_path, inference_pipeline_name(config))
    class_names = list(mlmd.custom_config(mlmd.run_nodes(config.metadata_path, config.pipeline_name, run_id)[1]
                                          [names.TRAINER].execution).get("class_names", []))
    csv_path = os.path.join(config.reports_dir, predict_run.replace(":", "-"), names.PREDICTIONS_CSV)
    rows = predictions.read_prediction_logs(nodes[names.BULK_INFERRER].uri("inference_result"), class_names,
                                            masks_dir=os.path.join(os.path.dirname(csv_path),
                                                                   predictions.MASKS_DIRNAME))
    _, validation = run_summary.load_validation_report(nodes[names.IMAGE_VALIDATOR].outputs)
    counts = predictions.write_predictions(csv_path, rows, validation, config.task)
    result = {**counts, "predictions": csv_path, "model_run": run_id, "model": model_uri, "pushed_model": pushed,
              "prediction_run": predict_run, "log": log_path, "seconds": round(time.monotonic() - started, 1)}
    with open(os.path.join(os.path.dirname(csv_path), "predict_summary.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
    log(f"\n{counts['files']} file(s): {counts['predicted']} predicted, {counts['quarantined']} quarantined "
        f"(bad files, with their reason in the CSV), in {result['seconds']:.0f} s")
    log(f"Predictions: {csv_path}")
    return result
