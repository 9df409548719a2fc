"""Accuracy on real signers: the original recipe vs signtrain's best recipe (configs/best.yaml),
on the same stratified splits, over several seeds, in one run.

    python benchmarks/accuracy.py [--seeds 0 1 2] [--datasets dgs30_csv dgs_mpdata] [--ablation]

The original recipe is the seed document's code as written (hands only, 60 frames,
zero-padded, global mean/std, 3-layer LSTM, 500 epochs with early stopping, validation
the last 10% of the training arrays); both see the same held-out test sequences for a seed.
The best recipe also reads dgs30's face point (128 values per frame), its body reference;
the ablation's "hands only" row shows what that adds.
Printed: mean +- std of test accuracy and macro-F1 per recipe, the difference, and the
training time.  --ablation retrains the best recipe without each ingredient (first seed,
dgs30_csv) to show what each one adds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from signtrain.runtime import import_tensorflow  # noqa: E402

import_tensorflow()

import keras  # noqa: E402
from keras.callbacks import EarlyStopping, ReduceLROnPlateau  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from benchmarks.train import original_create_model  # noqa: E402
from signtrain.config import load_config  # noqa: E402
from signtrain.data import load_dataset  # noqa: E402
from signtrain.data.split import split_dataset  # noqa: E402
from signtrain.evaluate import evaluate  # noqa: E402
from signtrain.train import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DATASETS = ("dgs30_csv", "dgs_mpdata")
HANDS_ONLY = {"dgs30_csv": ["data.csv_columns=2:"]}  # the original recipe drops dgs30's face point
ABLATIONS = {
    "hands only (no face point)": HANDS_ONLY["dgs30_csv"],
    "no augmentation": ["augment.rotation=0.0", "augment.scale=0.0", "augment.shift=0.0", "augment.noise=0.0",
                        "augment.crop=0.0", "augment.frame_dropout=0.0"],
    "no temporal crop": ["augment.crop=0.0"],
    "no hand normalisation": ["preprocess.hand_normalization=false"],
    "no hand sorting": ["preprocess.sort_hands=false"],
    "no velocity": ["preprocess.velocity=false"],
    "no presence flags": ["preprocess.presence=false"],
    "pad/truncate, no resampling": ["data.resample=false"],
    "no convolution": ["model.conv_filters=[]"],
    "no label smoothing, plateau LR": ["train.label_smoothing=0.0", "train.lr_schedule=plateau"],
}


def original_recipe(name: str, seed: int) -> dict:
    """The seed document's training as written, on signtrain's test split for this seed."""
    config = load_config(None, [*HANDS_ONLY.get(name, []), "data.features_per_frame=126", "data.sequence_length=60",
                                "data.cache=false"], data=str(SHARED / name))
    ds = load_dataset(config.data)
    split = split_dataset(ds.y, config.split, seed)
    rest = np.concatenate([split.train, split.val])
    rng = np.random.default_rng(seed)
    rest = rng.permutation(rest)  # train_test_split shuffles; Keras' validation_split takes the tail
    keras.utils.set_random_seed(seed)
    X_train, X_test = ds.X[rest], ds.X[split.test]
    y_train = keras.utils.to_categorical(ds.y[rest], len(ds.labels))
    mean, std = np.mean(X_train), np.std(X_train)
    X_train = (X_train - mean) / (std + 1e-8)
    X_test = (X_test - mean) / (std + 1e-8)
    model = original_create_model((60, 126), len(ds.labels))
    callbacks = [EarlyStopping(patience=50, restore_best_weights=True),
                 ReduceLROnPlateau(factor=0.1, patience=20, verbose=0)]
    start = time.perf_counter()
    model.fit(X_train, y_train, epochs=500, batch_size=32, validation_split=0.1, callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - start
    pred = np.argmax(model.predict(X_test, verbose=0), axis=1)
    y = ds.y[split.test]
    return {"accuracy": float(np.mean(pred == y)), "f1": float(f1_score(y, pred, average="macro")),
            "seconds": seconds, "test": [ds.sources[i] for i in split.test]}


def best_recipe(name: str, seed: int, extra=()) -> dict:
    with tempfile.TemporaryDirectory() as out:
        config = load_config(ROOT / "configs" / "best.yaml",
                             [f"train.seed={seed}", "train.tensorboard=false", *extra],
                             data=str(SHARED / name), output=out)
        result = train(config)
        report = evaluate(Path(out) / config.output.model_file)
        test = [str(SHARED / name / s) for s in __import__("json").loads(
            (Path(out) / "lstm_model.meta.json").read_text())["split"]["test_sources"]]
    return {"accuracy": result.test_accuracy, "f1": report.macro["f1"], "seconds": result.train_seconds,
            "test": test}


def summary(runs: list[dict], key: str) -> str:
    values = np.array([r[key] for r in runs]) * 100
    return f"{values.mean():5.1f} ± {values.std():3.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument("--skip-original", action="store_true")
    parser.add_argument("--ablation-epochs", type=int, default=60,
                        help="epochs of every ablation run (the full recipe row included), to keep it short")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, keras {keras.__version__}; seeds {args.seeds}")
    rows = []
    for name in args.datasets:
        if not (SHARED / name).is_dir():
            print(f"{SHARED / name} absent: skipped")
            continue
        ours = []
        original = []
        for seed in args.seeds:
            ours.append(best_recipe(name, seed))
            print(f"  {name} seed {seed}: signtrain best {ours[-1]['accuracy']:.3f} "
                  f"({ours[-1]['seconds']:.0f} s)", flush=True)
            if not args.skip_original:
                original.append(original_recipe(name, seed))
                assert sorted(original[-1]["test"]) == sorted(ours[-1]["test"]), "test splits differ"
                print(f"  {name} seed {seed}: original {original[-1]['accuracy']:.3f} "
                      f"({original[-1]['seconds']:.0f} s)", flush=True)
        rows.append((name, original, ours))
    print("\n| data | recipe | test accuracy % | macro-F1 % | training s (mean) |")
    print("| --- | --- | --- | --- | --- |")
    for name, original, ours in rows:
        for label, runs in (("original", original), ("signtrain best", ours)):
            if runs:
                print(f"| {name} | {label} | {summary(runs, 'accuracy')} | {summary(runs, 'f1')} | "
                      f"{np.mean([r['seconds'] for r in runs]):.0f} |")
        if original:
            gain = (np.mean([r["accuracy"] for r in ours]) - np.mean([r["accuracy"] for r in original])) * 100
            err_o = 1 - np.mean([r["accuracy"] for r in original])
            err_s = 1 - np.mean([r["accuracy"] for r in ours])
            print(f"| {name} | difference | {gain:+.1f} points | | error cut by {(1 - err_s / err_o) * 100:.0f}% |")
    if args.ablation and (SHARED / "dgs30_csv").is_dir():
        seed = args.seeds[0]
        budget = [f"train.epochs={args.ablation_epochs}"]
        print(f"\nAblation on dgs30_csv, seed {seed}, {args.ablation_epochs} epochs each "
              f"(best recipe without one ingredient):")
        print("| recipe | test accuracy % | macro-F1 % | training s |")
        print("| --- | --- | --- | --- |")
        full = best_recipe("dgs30_csv", seed, budget)
        print(f"| best recipe | {full['accuracy'] * 100:.1f} | {full['f1'] * 100:.1f} | {full['seconds']:.0f} |")
        for label, overrides in ABLATIONS.items():
            r = best_recipe("dgs30_csv", seed, [*budget, *overrides])
            print(f"| {label} | {r['accuracy'] * 100:.1f} | {r['f1'] * 100:.1f} | {r['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
