"""signtrain config show | keys | init."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from signtrain.cli.common import (
    ConfigOpt,
    DataOpt,
    Flag,
    JsonOpt,
    OutputOpt,
    Recipe,
    SetOpt,
    command,
    config_app,
    examples,
    show,
)
from signtrain.config import DEFAULT_RECIPE


@config_app.command("show", epilog=examples("signtrain config show", "signtrain config show --config best --set "
                                            "train.epochs=60"))
@command("config show")
def config_show(config: Optional[Path] = ConfigOpt, overrides: Optional[List[str]] = SetOpt,
                data: Optional[str] = DataOpt, output: Optional[str] = OutputOpt) -> int:
    """Print the resolved config (every key) as YAML: what train would use."""
    from signtrain.config import load_config, to_yaml

    typer.echo(to_yaml(load_config(config, overrides, data, output)), nl=False)
    return 0


@config_app.command("keys", epilog=examples("signtrain config keys", "signtrain config keys --json"))
@command("config keys")
def config_keys(as_json: bool = JsonOpt) -> int:
    """List every config key with its type, default, allowed values and meaning."""
    from signtrain import ui
    from signtrain.config import describe_keys

    keys = describe_keys()
    show(as_json, keys, lambda: ui.render_keys(keys, ui.make_console()))
    return 0


@config_app.command("init", epilog=examples("signtrain config init", "signtrain config init best my_recipe.yaml"))
@command("config init")
def config_init(
    recipe: Recipe = typer.Argument(DEFAULT_RECIPE, help="The built-in recipe to start from."),
    destination: Optional[Path] = typer.Argument(None, metavar="[FILE]", help="Where to write it "
                                                 "(default: <recipe>.yaml here)."),
    overwrite: bool = Flag("Replace an existing file.", "--overwrite"),
) -> int:
    """Write an editable copy of a built-in recipe (base, default, best, optimized), comments included."""
    import os

    from signtrain import paths, store
    from signtrain.config import recipe_path
    from signtrain.errors import ConfigError

    target = destination or Path(f"{recipe.value}.yaml")
    paths.writable_place(target, "FILE", ConfigError, "choose a file name in a folder you can write")
    if os.path.lexists(target) and not overwrite:
        raise ConfigError(f"{target} already exists; choose another file name or pass --overwrite")
    store.write_text(target, recipe_path(recipe.value).read_text(encoding="utf-8"))
    typer.echo(f"Wrote {target} (the {recipe.value} recipe); train with: signtrain train --config {target}")
    return 0

