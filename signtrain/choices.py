"""The fixed value sets of the command line, in one place: the library checks against them and the
CLI lists them in --help (without importing the heavier modules that use them)."""

SPLITS = ("test", "val", "train", "all")
EXPORT_FORMATS = ("tflite", "saved_model", "keras", "onnx")
QUANTIZE = ("none", "float16", "dynamic", "int8")
EXTRACT_LAYOUTS = ("holistic", "pose4_hands", "pose_hands", "hands")  # = holistic.extractable_layouts()
CV_FINALS = ("all", "best")  # train --folds: the model kept
