"""The command line: the Typer app (cli.app) and one module per command group."""

from signtrain.cli.app import app, main

__all__ = ["app", "main"]
