"""The one config loader every command shares.

Frozen dataclasses hold the schema and the defaults (the single place they live;
`configs/base.yaml` mirrors them and a test keeps the two in step).  YAML is
read with a safe loader that reads `1e-3` as a float and `010` as ten; values
from `--set section.key=value` go through the same validation as file values,
and every error names the dotted key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from signtrain import registry
from signtrain.errors import ConfigError
from signtrain.layouts import KNOWN_LENGTHS


def _opt(default: Any, help: str, **rules: Any) -> Any:
    """A config field with its one-line help and validation rules (choices, min, max).  choices may be a
    function of no arguments: a registry's names, read when a value is checked."""
    if isinstance(default, list):
        default = tuple(default)
    return field(default=default, metadata={"help": help, **rules})


@dataclass(frozen=True)
class DataConfig:
    path: str = _opt("MP_Data", "dataset root, relative to the working directory")
    format: str = _opt("auto", "on-disk format: auto detects it from the path",
                       choices=registry.data_format_choices)
    signs: Optional[tuple[str, ...]] = _opt(None, "signs to use, in this order; null = every sign folder, sorted")
    sequence_length: int = _opt(30, "frames per sequence fed to the model", min=1)
    features_per_frame: Optional[int] = _opt(None, f"values per frame ({KNOWN_LENGTHS}); null = detect from the data "
                                             f"(then checked, and saved with the model)", min=1)
    missing_frame: str = _opt("zero", "a frame number absent from a sequence", choices=("zero", "skip"))
    bad_frame: str = _opt("error", "an unreadable or wrong-length frame (or recording) file: error = stop and name "
                          "it; drop_sequence = leave its recording out; skip = leave the frame out; zero = "
                          "zero-fill it (all counted and shown)", choices=("error", "drop_sequence", "skip", "zero"))
    zero_frame: str = _opt("keep", "an all-zero frame (nothing detected)", choices=("keep", "drop"))
    nan_to_zero: bool = _opt(False, "replace NaN/inf by 0 (false: NaN/inf in the data is an error)")
    resample: bool = _opt(False, "bring every sequence to sequence_length by resampling its frames (nearest) "
                          "instead of padding or truncating")
    truncate: str = _opt("keep_start", "frames kept from a sequence longer than sequence_length",
                         choices=("keep_start", "keep_center", "keep_end"))
    landmarks: tuple[str, ...] = _opt(["pose", "left_hand", "right_hand"],
                                      "ISLR parquet: landmark types kept, in the .npy order (pose, face|lips, "
                                      "left_hand, right_hand; x,y,z each)",
                                      choices=("pose", "face", "lips", "left_hand", "right_hand"))
    csv_delimiter: str = _opt("auto", "CSV field separator; auto = the most frequent of ; , tab space",
                              choices=("auto", ";", ",", "tab", " "))
    csv_header: Union[bool, str] = _opt("auto", "CSV first row is a header; auto = when it is not numeric",
                                        choices=("auto", True, False))
    csv_columns: Optional[str] = _opt(None, "CSV fields kept, as start:stop (e.g. '2:' drops two leading values)")
    cache: bool = _opt(True, "keep a consolidated, memory-mappable copy of the tree for instant reloads")
    cache_dir: Optional[str] = _opt(None, "where caches live; null = $XDG_CACHE_HOME/signtrain or ~/.cache/signtrain")
    cache_check: str = _opt("files", "how a changed tree is detected: stat every file, or only folders (much "
                            "faster on millions of files; misses a file rewritten in place)",
                            choices=("files", "folders"))
    stream: bool = _opt(False, "train from the memory-mapped cache batch by batch (bounded memory)")
    workers: int = _opt(1, "reader processes; 0 = one per CPU core (1 measured fastest on 2 cores)", min=0)


@dataclass(frozen=True)
class SplitConfig:
    test_fraction: float = _opt(0.15, "share of sequences held out for the final test", min=0.0, max=0.9)
    validation_fraction: float = _opt(0.1, "share of the remaining sequences used for validation", min=0.0, max=0.9)
    stratify: bool = _opt(True, "keep every sign's share the same in each split")
    group_by: str = _opt("none", "participant: keep each signer's sequences in one split (signer-independent "
                         "test; needs participant ids, as in ISLR train.csv)", choices=("none", "participant"))


@dataclass(frozen=True)
class PreprocessConfig:
    normalization: str = _opt("global", "global mean/std, per-feature mean/std, or none",
                              choices=("global", "per_feature", "none"))
    epsilon: float = _opt(1e-8, "added to std before dividing", min=0.0)
    sort_hands: Union[bool, str] = _opt(False, "order the two hand slots left/right by wrist x; auto = where the "
                                        "layout has two hands", choices=(True, False, "auto"))
    hand_normalization: Union[bool, str] = _opt(
        False, "centre each hand on its wrist, scale by its size (wrist row keeps the hand's position); auto = where "
        "the layout has hands", choices=(True, False, "auto"))
    body_normalization: Union[bool, str] = _opt(
        False, "centre every part between the shoulders and scale by shoulder width (without a pose: centre "
        "on the face point); auto = where the layout has either", choices=(True, False, "auto"))
    parts: Optional[tuple[str, ...]] = _opt(None, "body parts kept, e.g. [pose, left_hand, right_hand]; null = all",
                                            choices=("pose", "face", "face_point", "left_hand", "right_hand", "hand"))
    face: str = _opt("all", "face mesh points kept: all 468, or key = lips, nose and eyes (76, as the Kaggle ISLR "
                            "winners used); auto = key where the layout has a face", choices=("all", "key", "auto"))
    presence: Union[bool, str] = _opt(False, "a 0/1 flag per body part: undetected parts stay 0, flagged absent; "
                                      "auto = where the layout is known", choices=(True, False, "auto"))
    velocity: bool = _opt(False, "append frame-to-frame differences")



@dataclass(frozen=True)
class AugmentConfig:
    rotation: float = _opt(0.0, "training only: random rotation up to this many degrees", min=0.0, max=90.0)
    scale: float = _opt(0.0, "random scale up to this fraction, e.g. 0.1 = 0.9-1.1x", min=0.0, max=0.9)
    shift: float = _opt(0.0, "random shift up to this fraction of the image", min=0.0, max=0.5)
    noise: float = _opt(0.0, "Gaussian noise (standard deviation, image units) on x, y, z", min=0.0)
    mirror: bool = _opt(False, "mirror half the sequences left-right, swapping the hands (changes some signs)")
    crop: float = _opt(0.0, "keep a random window of at least 1 - crop of each sequence's frames", min=0.0, max=0.9)
    speed: float = _opt(0.0, "random speed change up to this fraction, e.g. 0.2 = 0.8-1.2x", min=0.0, max=0.9)
    frame_dropout: float = _opt(0.0, "probability of dropping each frame", min=0.0, max=0.9)


@dataclass(frozen=True)
class ModelConfig:
    kind: str = _opt("lstm", "layer kind: recurrent (lstm, gru, bilstm) or transformer (conv + encoder blocks, "
                     "model.units = block widths)", choices=registry.model_kind_names)
    conv_filters: tuple[int, ...] = _opt([], "1-D convolutions over time before the recurrent layers", min=1)
    conv_kernel: int = _opt(5, "frames each convolution sees", min=1)
    units: tuple[int, ...] = _opt([128, 64, 32], "per layer, first to last: units of each recurrent layer, or the "
                                  "width of each transformer block", min=1)
    return_sequences: Union[bool, tuple[bool, ...]] = _opt(
        [True, True, False], "per layer; every layer followed by another must be true; "
        "a true last layer is mean-pooled over the unmasked frames")
    dropout: Union[float, tuple[float, ...]] = _opt([0.3, 0.3, 0.0], "dropout after each recurrent layer", min=0.0, max=0.95)
    l2: Union[float, tuple[float, ...]] = _opt([0.01, 0.01, 0.0], "L2 on each recurrent layer's kernel", min=0.0)
    batch_norm: Union[bool, tuple[bool, ...]] = _opt([True, False, False], "batch normalisation after each recurrent layer")
    activation: str = _opt("tanh", "recurrent activation of the cell output", choices=("tanh", "relu", "sigmoid", "linear"))
    recurrent_activation: str = _opt("sigmoid", "gate activation", choices=("sigmoid", "hard_sigmoid", "tanh"))
    recurrent_dropout: float = _opt(0.0, "dropout on the recurrent state (rules out cuDNN on GPU)", min=0.0, max=0.95)
    dense_units: tuple[int, ...] = _opt([64], "hidden dense layers before the softmax", min=1)
    dense_activation: str = _opt("relu", "activation of the hidden dense layers",
                                 choices=("relu", "tanh", "gelu", "elu", "swish", "linear"))
    mask_padding: bool = _opt(True, "mask padded and all-zero frames so they do not feed the recurrent layers")
    unroll: Union[bool, str] = _opt("auto", "unroll the recurrences: auto = on a CPU for <= 100 frames and a long enough "
                       "run (1.5-2x faster epochs, ~8 s more compile); a GPU's cuDNN kernel needs false",
                       choices=("auto", True, False))


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = _opt(500, "maximum epochs", min=1)
    steps: Optional[Union[int, str]] = _opt(
        None, "budget in optimizer steps instead of epochs: a number, or auto = set by the number of training "
              "recordings; null = train.epochs decides", min=1, words=("auto",))
    batch_size: int = _opt(32, "sequences per batch", min=1)
    learning_rate: float = _opt(1e-3, "Adam learning rate", min=0.0)
    clipnorm: Optional[float] = _opt(None, "clip each gradient to this norm; null = no clipping", min=0.0)
    optimizer_epsilon: float = _opt(1e-7, "Adam epsilon", min=0.0)
    seed: int = _opt(0, "seeds the split, the weights and the shuffling", min=0)
    monitor: str = _opt("val_loss", "metric watched by early stopping, reduce-LR and the best checkpoint",
                        choices=("val_loss", "val_accuracy", "loss", "accuracy"))
    early_stopping_patience: Optional[int] = _opt(50, "epochs without improvement before stopping; null = never", min=1)
    restore_best_weights: bool = _opt(True, "end with the best epoch's weights, not the last")
    reduce_lr_factor: float = _opt(0.1, "learning-rate factor on a plateau", min=0.0, max=1.0)
    reduce_lr_patience: Optional[int] = _opt(20, "epochs without improvement before reducing; null = never", min=1)
    min_learning_rate: float = _opt(0.0, "lower bound for reduce-LR", min=0.0)
    lr_schedule: str = _opt("plateau", "plateau (reduce-LR on plateau) | cosine (decay to 0 over the epochs) | "
                            "one_cycle (warm up 30%, then cosine)", choices=("plateau", "cosine", "one_cycle"))
    label_smoothing: float = _opt(0.0, "soften the one-hot targets by this much", min=0.0, max=0.5)
    class_weights: bool = _opt(False, "weight each sign by 1 / its share of the training split")
    tensorboard: bool = _opt(True, "write TensorBoard logs to output.log_dir")
    distribute: str = _opt("none", "none | auto (mirrored when >1 GPU) | mirrored (GPUs or train.devices) | "
                           "multi_worker (hosts, from TF_CONFIG)", choices=("none", "auto", "mirrored", "multi_worker"))
    devices: Optional[tuple[str, ...]] = _opt(None, "mirrored: devices to use, e.g. ['/gpu:0', '/gpu:1']; null = all GPUs")
    scale_learning_rate: bool = _opt(False, "multiply the learning rate by the number of replicas (linear rule)")
    mixed_precision: bool = _opt(False, "float16 compute on a GPU (refused on a CPU, where it is slower)")
    init_lr_factor: float = _opt(0.1, "train --init (fine-tuning): the learning rate is multiplied by this",
                                 min=0.0, max=10.0)
    init_signs: str = _opt("add", "train --init: the new data's signs are added to the model's (add) or replace "
                           "them (replace); the output rows of signs in both are kept", choices=("add", "replace"))


@dataclass(frozen=True)
class OutputConfig:
    dir: str = _opt("models", "folder for the model and everything that travels with it")
    model_file: str = _opt("lstm_model.h5", "final model (.h5 or .keras)")
    checkpoint_file: str = _opt("lstm_model_checkpoint.h5", "best model so far, written during training")
    preprocess_file: str = _opt("preprocess_params.npz", "normalisation statistics (mean, std)")
    log_dir: str = _opt("logs", "run folder inside output.dir: TensorBoard logs and history.csv")


@dataclass(frozen=True)
class Config:
    data: DataConfig = DataConfig()
    split: SplitConfig = SplitConfig()
    preprocess: PreprocessConfig = PreprocessConfig()
    augment: AugmentConfig = AugmentConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    output: OutputConfig = OutputConfig()

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------- YAML reading


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads 1e-3 as a float and 010 as ten (YAML 1.1 reads them as a string and 8)."""


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
    if not path.is_file():
        raise ConfigError(f"config file not found: {path} (give an existing YAML file to --config, or a built-in "
                          f"recipe: {', '.join(RECIPES)})")
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


# ---------------------------------------------------------------- validation


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
        raise ConfigError(f"{source}: model.units must list at least one entry ({registry.MODEL_KINDS[model.kind].units} "
                          f"for model.kind {model.kind}), e.g. [128, 64, 32]")
    for key in ("return_sequences", "dropout", "l2", "batch_norm"):
        value = getattr(model, key)
        if isinstance(value, tuple) and len(value) != n:
            raise ConfigError(
                f"{source}: model.{key} has {len(value)} entries but model.units has {n}; "
                f"give one per layer or a single value for all")
    seqs = per_layer(model.return_sequences, n)
    for i in range(n - 1):
        if not seqs[i]:
            raise ConfigError(
                f"{source}: model.return_sequences[{i}] is false but layer {i + 1} feeds another layer; set it "
                f"to true")


def per_layer(value: Any, n: int) -> tuple:
    """A per-layer setting as a tuple of n values (a single value applies to every layer)."""
    return tuple(value) if isinstance(value, tuple) else (value,) * n


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
    if config.data.csv_columns is not None and not _COLUMNS.match(config.data.csv_columns.strip()):
        raise ConfigError(f"{source}: data.csv_columns = {config.data.csv_columns!r} is not start:stop; write e.g. "
                          f"'2:' (drop two leading values), ':128' or '2:128'")
    if config.split.test_fraction + config.split.validation_fraction >= 1.0:
        raise ConfigError(f"{source}: split.test_fraction + split.validation_fraction must be below 1")
    if config.data.resample and config.augment.speed:
        raise ConfigError(f"{source}: augment.speed={config.augment.speed} has no effect with data.resample: true "
                          "(every sequence is stretched to data.sequence_length); set augment.speed: 0 and use "
                          "augment.crop for a time warp")
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
    """The config from a YAML file (or the defaults), then --set overrides, then --data/--output."""
    path = resolve_config_path(path) if path else None
    source = str(path) if path else "config"
    tree = read_yaml(path) if path else {}
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
