"""One module per export format (the table of them is signtrain.registry.EXPORT_FORMATS): each
writes its file from a Predictor and opens a runner over it in its own runtime."""
