"""TfliteEvaluator's component spec: TFX's Evaluator inputs, without a baseline or a blessing."""

from tfx import types
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

EXAMPLES_KEY = standard_component_specs.EXAMPLES_KEY
MODEL_KEY = standard_component_specs.MODEL_KEY
EVALUATION_KEY = standard_component_specs.EVALUATION_KEY
EVAL_CONFIG_KEY = standard_component_specs.EVAL_CONFIG_KEY
EXAMPLE_SPLITS_KEY = standard_component_specs.EXAMPLE_SPLITS_KEY
MODULE_PATH_KEY = standard_component_specs.MODULE_PATH_KEY
CODE_VERSION_KEY = "code_version"


class TfliteEvaluatorSpec(types.ComponentSpec):
    """Raw examples and the Trainer's model in; a TFMA evaluation (one model per TFLite file) out.

    No blessing: the SavedModel's Evaluator decides what is pushed; this one
    measures what the TFLite files lose against it.
    """

    PARAMETERS = {
        EVAL_CONFIG_KEY: ExecutionParameter(type=str),
        EXAMPLE_SPLITS_KEY: ExecutionParameter(type=str, optional=True),
        # The module with the TFMA hooks (custom_eval_shared_model, custom_extractors).
        MODULE_PATH_KEY: ExecutionParameter(type=str),
        # Hash of the code run inside (TFX cannot see it): edits rerun the component.
        CODE_VERSION_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
    }
    OUTPUTS = {EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation)}
