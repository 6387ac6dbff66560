"""ModelCard: a Markdown and HTML model card for every trained model, pushed inside its version directory."""
