"""`python -m signtrain` runs the command-line interface."""

from signtrain.cli.app import main

main()
