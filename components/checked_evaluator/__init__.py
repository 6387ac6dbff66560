"""CheckedEvaluator: TFX's Evaluator executor, refusing an EvalConfig that would bless without a threshold."""
