"""LabelInspector: suspected label errors by confident learning on out-of-sample probabilities."""
