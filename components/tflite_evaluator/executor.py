"""TfliteEvaluator executor: TFX's Evaluator executor, run with a module of TFMA hooks for TFLite files.

Why a separate run of TFX's Evaluator rather than a third model in the blessing one:
TFX's Evaluator takes at most two models (candidate and baseline, which the
blessing needs), and TFMA 0.47 cannot mix TFLite and SavedModel models in one
evaluation ("support for mixing tf_lite and non-tf_lite models is not
implemented").  So the TFLite files get their own multi-model EvalConfig on
the same eval split.

The hooks (``custom_eval_shared_model``, ``custom_extractors``) live in the
model code (``trainer/tflite_evaluation.py``): only it knows where the files
are and how an encoded image becomes their input pixels.  Without a threshold
in the EvalConfig, TFX's executor writes no blessing.
"""

import importlib

from tfx.components.evaluator import executor as tfx_evaluator

from components.evaluator_batches import capped_record_batches
from components.tflite_evaluator.spec import MODULE_PATH_KEY

HOOKS = ("custom_eval_shared_model", "custom_extractors")


class MissingHooks(ValueError):
    """The module_path names no module with the TFMA hooks."""


def check_hooks(module_path: str) -> None:
    """TFX silently falls back to TFMA's defaults when a hook is missing, which then fail far from the cause."""
    try:
        module = importlib.import_module(module_path)
    except ImportError as error:
        raise MissingHooks(f"TfliteEvaluator module_path {module_path!r} cannot be imported: {error}") from error
    missing = [hook for hook in HOOKS if not callable(getattr(module, hook, None))]
    if missing:
        raise MissingHooks(f"TfliteEvaluator module {module_path!r} lacks {', '.join(missing)}")


class Executor(tfx_evaluator.Executor):
    """TFX's Evaluator executor, after checking that ``module_path`` holds the hooks, with capped record batches."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        check_hooks(exec_properties.get(MODULE_PATH_KEY) or "")
        # Batches of at most 64 records, as for the SavedModel's Evaluator (evaluator_batches.py).
        with capped_record_batches():
            super().Do(input_dict, output_dict, exec_properties)
