"""One toy of each extension point, registered by tests/test_registry.py with one registry line each:
a data format (one .txt per recording: a row of numbers per frame), a model kind (the mean over the
frames), and an export format (the Keras model saved under its own suffix, normalisation outside)."""

from pathlib import Path

import numpy as np

from signtrain.data.dataset import RawSequence, RawTree, content_digest


# ---------------------------------------------------------------- data format: detect, read
def detect(root: Path) -> bool:
    return root.is_dir() and (root / "TOY").is_file()


def read(root: Path, cfg) -> RawTree:
    labels = sorted(p.name for p in root.iterdir() if p.is_dir())
    signs, sources, raws = [], [], []
    for sign, label in enumerate(labels):
        for file in sorted((root / label).glob("*.txt")):
            block = np.loadtxt(file, dtype=np.float32, ndmin=2)
            raws.append(RawSequence(np.arange(len(block)), [], block, content_digest(block, [])))
            signs.append(sign)
            sources.append(str(file))
    return RawTree("toy", labels, signs, sources, raws, [])


# ---------------------------------------------------------------- model kind: body
def body(cfg, stack: list, unroll: bool) -> None:
    from keras import layers

    stack.append(layers.GlobalAveragePooling1D(name="toy_mean"))
    stack.append(layers.Dense(cfg.units[0], activation="relu", name="toy_dense"))


# ---------------------------------------------------------------- export format: write, open_runner
def write(predictor, quantize: str, calibration: np.ndarray, path: Path) -> None:
    keras_path = path.with_name(path.name + ".keras")
    predictor.model.save(keras_path)
    keras_path.rename(path)


def open_runner(path: Path):
    import shutil
    import tempfile

    import keras

    from signtrain.deploy.runners import keras_runner

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "model.keras"
        shutil.copy(path, copy)
        return keras_runner(keras.models.load_model(copy, compile=False))
