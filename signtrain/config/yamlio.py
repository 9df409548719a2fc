"""YAML in and out: a safe loader that reads `1e-3` as a float and `010` as ten, the built-in
recipes, and the resolved config written back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from signtrain import paths
from signtrain.config.schema import Config
from signtrain.errors import ConfigError

MAX_CONFIG_BYTES = 1 << 20  # a config is a page of keys; anything larger is not one


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads 1e-3 as a float and 010 as ten (YAML 1.1 reads them as a string and 8), and
    refuses aliases: a config holds plain values, and aliases nested in aliases expand without bound
    (the 'billion laughs')."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"an alias (*{event.anchor}); a config holds plain "
                                              f"values: write them out instead of YAML anchors and aliases",
                                              event.start_mark)
        return super().compose_node(parent, index)


_FLOAT = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+|\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node).replace("_", "")
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text, 10)
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def parse_yaml_value(text: str) -> Any:
    """Parse one value written on the command line as YAML would read it in a file."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError:
        return text


def read_yaml(path: Path) -> dict[str, Any]:
    paths.readable_file(path, "--config", ConfigError,
                        f"give an existing YAML file, or a built-in recipe: {', '.join(RECIPES)}")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"--config {path}: {path.stat().st_size:,} bytes, not a config (at most "
                          f"{MAX_CONFIG_BYTES:,}); give the YAML file of a recipe")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file; give a YAML config") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (data, train, ...)")
    return raw


RECIPES = ("base", "default", "best", "optimized")
DEFAULT_RECIPE = "default"  # what train, validate-data and config show use without --config


def recipe_path(name: str) -> Path:
    """The built-in recipe of that name (configs/<name>.yaml, installed as signtrain.recipes)."""
    import importlib.resources

    return Path(str(importlib.resources.files("signtrain.recipes") / f"{name}.yaml"))


def resolve_config_path(path: Path) -> Path:
    """--config: a YAML file, or the name of a built-in recipe (base, default, best, optimized)."""
    path = Path(path)
    if path.is_file() or path.suffix in (".yaml", ".yml") or str(path) not in RECIPES:
        return path
    return recipe_path(str(path))


def to_yaml(config: "Config") -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True)
