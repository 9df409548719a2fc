"""The fixed value sets of the command line, in one place: the library checks against them and the
CLI lists them in --help (without importing the heavier modules that use them).  Export formats and
quantisation modes come from the registry's table of formats."""

from signtrain.registry import all_export_format_names, export_format_names, quantize_modes

SPLITS = ("test", "val", "train", "all")
EXPORT_FORMATS = export_format_names()
EXPORT_ALL = all_export_format_names()  # --format all
QUANTIZE = quantize_modes()
EXTRACT_LAYOUTS = ("holistic", "pose4_hands", "pose_hands", "hands")  # = holistic.extractable_layouts()
CV_FINALS = ("all", "best")  # train --folds: the model kept
