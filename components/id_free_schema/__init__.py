"""SchemaGen executor whose inferred schema never enumerates per-example identifiers."""
