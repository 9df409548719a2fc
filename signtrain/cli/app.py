"""The Typer app with every command registered; `main` is the console entry point.

Each command: parse -> load_config -> one library call -> ui -> exit code.  Heavy modules
(TensorFlow above all) are imported inside the commands, so that `--help`, `--version`,
`validate-data`, `info` and `predict` on an exported file start fast.  The examples in each
command's help are parsed against the app by a test, so they stay true.
"""

from signtrain.cli import config, data, deploy, train  # noqa: F401 - importing a group registers its commands
from signtrain.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    app()
