"""The built-in recipes (base, best, optimized), installed as the package signtrain.recipes so that
`--config best` works after a plain `pip install signtrain`."""
