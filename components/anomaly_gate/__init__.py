"""AnomalyGate: stop the pipeline before Transform when ExampleValidator found anomalies that matter."""
