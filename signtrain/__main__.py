"""`python -m signtrain` runs the command-line interface."""

from signtrain.cli import main

main()
