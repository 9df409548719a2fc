"""Loading: a YAML file or recipe, then --set overrides, then --data/--output, validated key by key;
every error names the dotted key, the value and what is allowed."""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from signtrain import registry
from signtrain.config.schema import Config, ModelConfig, OutputConfig, _plain, per_layer
from signtrain.config.yamlio import _FLOAT, DEFAULT_RECIPE, parse_yaml_value, read_yaml, resolve_config_path
from signtrain.errors import ConfigError


def _sections() -> dict[str, type]:
    hints = typing.get_type_hints(Config)
    return {f.name: hints[f.name] for f in dataclasses.fields(Config)}


def all_keys() -> list[str]:
    """Every dotted key the schema knows, e.g. 'train.epochs'."""
    return [f"{name}.{f.name}" for name, cls in _sections().items() for f in dataclasses.fields(cls)]


@dataclass(frozen=True)
class KeyInfo:
    key: str
    type: str
    default: Any
    allowed: str
    help: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def describe_keys() -> list[KeyInfo]:
    """Every key with its type, default, allowed values and meaning: the schema as documentation."""
    rows = []
    for name, cls in _sections().items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            meta = f.metadata
            allowed = []
            if "choices" in meta:
                allowed.append(" | ".join(str(c).lower() if isinstance(c, bool) else str(c)
                                          for c in choices_of(meta)))
            if "min" in meta or "max" in meta:
                allowed.append(f"{meta.get('min', '')}..{meta.get('max', '')}")
            rows.append(KeyInfo(f"{name}.{f.name}", _type_name(hints[f.name]), _plain(f.default), ", ".join(allowed),
                                meta.get("help", "")))
    return rows


def _did_you_mean(key: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close and "." in key:
        leaf = key.rsplit(".", 1)[1]
        close = [c for c in candidates if c.endswith("." + leaf)][:1]
    return f"; did you mean '{close[0]}'?" if close else ""


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None)) + (
            " or null" if type(None) in typing.get_args(tp) else "")
    if origin is tuple:
        element = typing.get_args(tp)[0]
        return "a list of " + {int: "integers", float: "numbers", bool: "true/false", str: "names"}.get(element,
                                                                                                      str(element))
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(tp, str(tp))


class _Invalid(Exception):
    pass


def _coerce_scalar(value: Any, tp: type) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Invalid
    if tp is int:
        if isinstance(value, bool):
            raise _Invalid
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _Invalid
    if tp is float:
        if isinstance(value, bool):
            raise _Invalid
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str) and _FLOAT.match(value.strip()):
            return float(value)
        raise _Invalid
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _Invalid
    raise _Invalid


def _coerce(value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg)
            except _Invalid:
                continue
        raise _Invalid
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Invalid
        return tuple(_coerce_scalar(v, typing.get_args(tp)[0]) for v in value)
    return _coerce_scalar(value, tp)


def choices_of(meta: Any) -> tuple:
    """A field's allowed values (its choices, or what its choices function returns now)."""
    choices = meta["choices"]
    return tuple(choices()) if callable(choices) else choices


def _check_rules(key: str, value: Any, meta: dict[str, Any]) -> None:
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if item is None:
            continue
        if "choices" in meta and item not in choices_of(meta):
            allowed = ", ".join(str(c).lower() if isinstance(c, bool) else c for c in choices_of(meta))
            raise ConfigError(f"{key}: '{item}' is not allowed; choose one of {allowed}")
        if isinstance(item, str) and "words" in meta:
            if item not in meta["words"]:
                raise ConfigError(f"{key}: '{item}' is not allowed; give a number or {' / '.join(meta['words'])}")
            continue
        if "min" in meta and item < meta["min"]:
            raise ConfigError(f"{key}: {item} is below the minimum {meta['min']}")
        if "max" in meta and item > meta["max"]:
            raise ConfigError(f"{key}: {item} is above the maximum {meta['max']}")


def _build_section(name: str, cls: type, raw: Any, source: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: '{name}' must be a mapping of keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    known = [f"{name}.{k}" for k in fields]
    values = {}
    for key, value in raw.items():
        dotted = f"{name}.{key}"
        if not isinstance(key, str) or key not in fields:
            raise ConfigError(f"{source}: unknown key '{dotted}'{_did_you_mean(dotted, known + all_keys())}")
        try:
            coerced = _coerce(value, hints[key])
        except _Invalid:
            raise ConfigError(f"{source}: {dotted} = {value!r} is not valid; expected {_type_name(hints[key])}") from None
        _check_rules(dotted, coerced, fields[key].metadata)
        values[key] = coerced
    return cls(**values)


def _check_model(model: ModelConfig, source: str) -> None:
    n = len(model.units)
    if n == 0:
        meaning = registry.MODEL_KINDS[model.kind].units
        raise ConfigError(f"{source}: model.units must list at least one entry ({meaning} for model.kind "
                          f"{model.kind}), e.g. [128, 64, 32]")
    for key in ("return_sequences", "dropout", "l2", "batch_norm"):
        value = getattr(model, key)
        if isinstance(value, tuple) and len(value) != n:
            raise ConfigError(
                f"{source}: model.{key} has {len(value)} entries but model.units has {n}; "
                f"give one per layer or a single value for all")
    if model.conv_stride > 1 and not model.conv_filters:
        raise ConfigError(f"{source}: model.conv_stride {model.conv_stride} needs a convolution to stride; set "
                          f"model.conv_filters (e.g. [64, 64]) or model.conv_stride: 1")
    seqs = per_layer(model.return_sequences, n)
    for i in range(n - 1):
        if not seqs[i]:
            raise ConfigError(
                f"{source}: model.return_sequences[{i}] is false but layer {i + 1} feeds another layer; set it "
                f"to true")


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    parts = dotted.split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"{source}: '{dotted}' is not a key; write section.key, e.g. train.epochs"
                          f"{_did_you_mean(dotted, all_keys())}")
    section = tree.setdefault(parts[0], {})
    if section is None:
        section = tree[parts[0]] = {}
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: '{parts[0]}' must be a mapping of keys")
    section[parts[1]] = value


def _is_text_field(dotted: str) -> bool:
    section, _, name = dotted.partition(".")
    cls = _sections().get(section)
    if cls is None or name not in {f.name for f in dataclasses.fields(cls)}:
        return False
    return typing.get_type_hints(cls)[name] in (str, Optional[str])


def parse_override(text: str) -> tuple[str, Any]:
    """'train.epochs=5' -> ('train.epochs', 5)."""
    if "=" not in text:
        raise ConfigError(f"--set {text}: write --set section.key=value, e.g. --set train.epochs=5")
    key, _, value = text.partition("=")
    return key.strip(), parse_yaml_value(value.strip())


def build_config(tree: dict[str, Any], source: str = "config") -> Config:
    sections = _sections()
    built = {}
    for name, raw in tree.items():
        if name not in sections:
            raise ConfigError(f"{source}: unknown section '{name}'{_did_you_mean(str(name), list(sections))}")
        built[name] = _build_section(name, sections[name], raw, source)
    config = Config(**built)
    _check_model(config.model, source)
    if config.data.signs and len(set(config.data.signs)) != len(config.data.signs):
        twice = sorted({s for s in config.data.signs if config.data.signs.count(s) > 1})
        raise ConfigError(f"{source}: data.signs lists {', '.join(twice)} more than once; list each sign once")
    _check_output_names(config.output, source)
    for entry in config.speech.words:
        if "=" not in entry or not entry.split("=", 1)[0].strip():
            raise ConfigError(f"{source}: speech.words entry {entry!r} is not sign=text; write e.g. "
                              f"'iloveyou=I love you'")
    if config.data.csv_columns is not None and not _COLUMNS.match(config.data.csv_columns.strip()):
        raise ConfigError(f"{source}: data.csv_columns = {config.data.csv_columns!r} is not start:stop; write e.g. "
                          f"'2:' (drop two leading values), ':128' or '2:128'")
    if config.split.test_fraction + config.split.validation_fraction >= 1.0:
        raise ConfigError(f"{source}: split.test_fraction + split.validation_fraction must be below 1")
    if config.data.resample and config.augment.speed:
        raise ConfigError(f"{source}: augment.speed={config.augment.speed} has no effect with data.resample: true "
                          "(every sequence is stretched to data.sequence_length); set augment.speed: 0 and use "
                          "augment.crop for a time warp")
    if config.augment.context and not config.augment.rest:
        raise ConfigError(f"{source}: augment.context={config.augment.context} has no effect without augment.rest "
                          "(it shows another recording in the stillness rest holds before a sign); set augment.rest, "
                          "e.g. 0.5, or augment.context: 0")
    return config


_COLUMNS = re.compile(r"^-?\d*:-?\d*$")
_PLAIN_NAME = re.compile(r"^[^/\\\0]+$")


def _check_output_names(output: "OutputConfig", source: str) -> None:
    """The files of a run are named inside its folder: plain names, with the suffixes their writers need."""
    suffixes = {"model_file": (".h5", ".keras"), "checkpoint_file": (".h5", ".keras"), "preprocess_file": (".npz",),
                "log_dir": ("",)}
    for key, allowed in suffixes.items():
        name = getattr(output, key)
        if not _PLAIN_NAME.match(name) or name in (".", "..") or name.startswith("."):
            raise ConfigError(f"{source}: output.{key} = {name!r} must be a plain name (no folders, not hidden); it "
                              f"names a file inside the run folder")
        if allowed != ("",) and not name.endswith(allowed):
            raise ConfigError(f"{source}: output.{key} = {name!r} must end in {' or '.join(allowed)}")


def load_config(path: Optional[Path] = None, overrides: Optional[list[str]] = None,
                data: Optional[str] = None, output: Optional[str] = None) -> Config:
    """The config from a YAML file or recipe (none: the default recipe, as every command uses), then --set
    overrides, then --data/--output."""
    path = resolve_config_path(path or Path(DEFAULT_RECIPE))
    source = str(path)
    tree = read_yaml(path)
    for section, raw in tree.items():
        if raw is not None and not isinstance(raw, dict):
            raise ConfigError(f"{source}: '{section}' must be a mapping of keys, got {raw!r}")
    tree = {k: dict(v or {}) for k, v in tree.items()}
    changed = set()
    for text in overrides or []:
        key, value = parse_override(text)
        changed.add(key)
        if _is_text_field(key) and value is not None and not isinstance(value, str):
            value = text.partition("=")[2].strip()  # e.g. csv_columns=2: would read as a YAML mapping
        _set_dotted(tree, key, value, f"--set {text}")
        # A bad override is reported as the override, not as the file.
        section = key.split(".")[0]
        sections = _sections()
        if section in sections:
            _build_section(section, sections[section], {key.split(".")[1]: value}, f"--set {text}")
    if "train.epochs" in changed and "train.steps" not in changed:
        tree.setdefault("train", {})["steps"] = None  # --set train.epochs=N is a request for N epochs
    if data is not None:
        _set_dotted(tree, "data.path", data, "--data")
    if output is not None:
        _set_dotted(tree, "output.dir", output, "--output")
    return build_config(tree, source)


def replace(config: Config, **sections: dict[str, Any]) -> Config:
    """A copy of config with some keys changed, e.g. replace(c, train={'epochs': 2})."""
    tree = config.to_dict()
    for name, values in sections.items():
        tree[name].update(values)
    return build_config(tree)
