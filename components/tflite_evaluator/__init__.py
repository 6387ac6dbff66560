"""TfliteEvaluator: TFMA scores the Trainer's TFLite files on the eval split, beside the SavedModel's Evaluator."""
