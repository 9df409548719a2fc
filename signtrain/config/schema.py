"""The config schema: frozen dataclasses holding every key, its default (the base recipe; the single
place defaults live, mirrored by configs/base.yaml and a test), its help and its rules."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from signtrain import registry
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
    noise: float = _opt(0.0, "noise on x and y (uniform; its standard deviation, image units)", min=0.0)
    mirror: bool = _opt(False, "mirror half the sequences left-right, swapping the hands (changes some signs)")
    crop: float = _opt(0.0, "keep a random window of at least 1 - crop of each sequence's frames", min=0.0, max=0.9)
    speed: float = _opt(0.0, "random speed change up to this fraction, e.g. 0.2 = 0.8-1.2x", min=0.0, max=0.9)
    frame_dropout: float = _opt(0.0, "probability of dropping each frame", min=0.0, max=0.9)
    rest: float = _opt(0.0, "stillness around each sequence (its edge frames held) of up to this share of the "
                             "frames: a sign as the live window shows it", min=0.0, max=0.9)
    context: float = _opt(0.0, "share of the sequences whose stillness before them (augment.rest) shows the end of "
                          "another training recording first: a sign as a sentence's live window shows it", min=0.0,
                          max=1.0)
    precomputed: bool = _opt(False, "transform the training recordings once and augment their features, a batch at "
                             "a time (cheaper batches; not with mirror or data.stream, which augment landmarks)")


@dataclass(frozen=True)
class ModelConfig:
    kind: str = _opt("lstm", "layer kind: recurrent (lstm, gru, bilstm) or transformer (conv + encoder blocks, "
                     "model.units = block widths)", choices=registry.model_kind_names)
    conv_filters: tuple[int, ...] = _opt([], "1-D convolutions over time before the recurrent layers", min=1)
    conv_kernel: int = _opt(5, "frames each convolution sees", min=1)
    conv_stride: int = _opt(1, "the first convolution keeps every Nth frame: the layers after it step N times "
                            "fewer (2 halves their cost; needs model.conv_filters)", min=1)
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
class SpeechConfig:
    words: tuple[str, ...] = _opt([], "what predict --speak says for a sign, as sign=text, e.g. "
                                      "['iloveyou=I love you']; other signs are said as their names")


@dataclass(frozen=True)
class Config:
    data: DataConfig = DataConfig()
    split: SplitConfig = SplitConfig()
    preprocess: PreprocessConfig = PreprocessConfig()
    augment: AugmentConfig = AugmentConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    output: OutputConfig = OutputConfig()
    speech: SpeechConfig = SpeechConfig()

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def per_layer(value: Any, n: int) -> tuple:
    """A per-layer setting as a tuple of n values (a single value applies to every layer)."""
    return tuple(value) if isinstance(value, tuple) else (value,) * n
