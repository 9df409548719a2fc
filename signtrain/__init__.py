"""signtrain: sign-language landmark recordings to a trained, evaluated, deployable model."""

__version__ = "0.1.0"
