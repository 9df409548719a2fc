"""Accuracy on real signers, by repeated stratified K-fold cross-validation: the original recipe vs
signtrain's default (adaptive) recipe and configs/best.yaml, on the same folds, in one run.

    python benchmarks/accuracy.py [--datasets dgs_mpdata traduttore_6x30] [--folds 5] [--repeats 2]
                                  [--recipes original default best] [--variant 'NAME=KEY=VALUE;KEY=VALUE']

Every recording is tested once per repeat; each repeat draws other folds (seed = repeat).  The
original recipe is the seed document's code as written (hands only on the DGS sets, 60 frames
there and 30 elsewhere, zero-padded, global mean/std, 3-layer LSTM, 500 epochs with early
stopping on the last 10 % of its training arrays).  signtrain's recipes train through
signtrain.training.run.train with the fold as the test split.  Printed per data set and recipe: mean
+- std over all folds of test accuracy and macro-F1, the mean training time, and each recipe's
difference to the original with its standard error (from the repeat means of the paired
per-fold differences; per fold with one repeat).  A difference smaller than its standard error
is reported as no difference.

Data sets: dgs30_csv (30 signs, many signers), dgs_mpdata (8 signs x 15, several signers),
traduttore_258 (33 signs, 2-3 signers; byte-identical duplicates removed so that no recording is
tested against its own copy), traduttore_6x30 (6 word signs x their first 30 recordings, the size
of a user's own first data set).  --variant adds a recipe: the default one with keys changed.
"""

from __future__ import annotations

import argparse
import hashlib
import math
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
from signtrain.config import RECIPES, load_config, replace  # noqa: E402
from signtrain.data import load_dataset  # noqa: E402
from signtrain.data.split import fold_splits  # noqa: E402
from signtrain.training.run import TrainRequest, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DATASETS = ("dgs_mpdata", "traduttore_6x30", "traduttore_258", "dgs30_csv")
SUBSET_6X30 = ("coffee", "tea", "water", "muffin", "please", "thank-you")
HANDS_ONLY = {"dgs30_csv": ["data.csv_columns=2:"]}  # the original recipe drops dgs30's face point


def natural(path: Path) -> tuple:
    return (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.stem)


def deduplicated(source: Path, target: Path, signs=None, per_sign=None) -> Path:
    """A tree of links to `source`'s one-array-per-recording files without byte-identical copies (built
    once per `target`: a second model trained on the same data reuses it)."""
    if target.is_dir():
        return target
    seen = set()
    for sign in signs or sorted(p.name for p in source.iterdir() if p.is_dir()):
        (target / sign).mkdir(parents=True)
        kept = 0
        for f in sorted((source / sign).glob("*.npy"), key=natural):
            digest = hashlib.sha256(f.read_bytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            os.symlink(f.resolve(), target / sign / f.name)
            kept += 1
            if per_sign and kept == per_sign:
                break
    return target


def data_path(name: str, scratch: Path) -> Path:
    if name.startswith("traduttore"):
        source = SHARED / "traduttore_258"
        if name == "traduttore_6x30":
            return deduplicated(source, scratch / name, SUBSET_6X30, 30)
        return deduplicated(source, scratch / name)
    return SHARED / name


def original_recipe(name: str, path: Path, split, seed: int, epochs: int) -> dict:
    """The seed document's training as written, tested on the fold."""
    frames = 60 if name.startswith("dgs") else 30
    features = 126 if name.startswith("dgs") else 258
    config = load_config("base", [*HANDS_ONLY.get(name, []), f"data.features_per_frame={features}",
                                f"data.sequence_length={frames}", "data.cache=false"], data=str(path))
    ds = load_dataset(config.data)
    rest = np.random.default_rng(seed).permutation(np.concatenate([split.train, split.val]))
    keras.utils.set_random_seed(seed)
    X_train, X_test = ds.X[rest], ds.X[split.test]
    y_train = keras.utils.to_categorical(ds.y[rest], len(ds.labels))
    mean, std = np.mean(X_train), np.std(X_train)
    model = original_create_model((frames, features), len(ds.labels))
    callbacks = [EarlyStopping(patience=50, restore_best_weights=True),
                 ReduceLROnPlateau(factor=0.1, patience=20, verbose=0)]
    start = time.perf_counter()
    model.fit((X_train - mean) / (std + 1e-8), y_train, epochs=epochs, batch_size=32, validation_split=0.1,
              callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - start
    pred = np.argmax(model.predict((X_test - mean) / (std + 1e-8), verbose=0), axis=1)
    y = ds.y[split.test]
    return {"accuracy": float(np.mean(pred == y)), "f1": float(f1_score(y, pred, average="macro")),
            "seconds": seconds, "sources": [ds.sources[i] for i in split.test]}


def signtrain_recipe(config, split, passes=None) -> dict:
    if passes:
        steps = math.ceil(passes * math.ceil(len(split.train) / config.train.batch_size))
        config = replace(config, train={"steps": steps})
    with tempfile.TemporaryDirectory() as out:
        result = train(TrainRequest(replace(config, output={"dir": out}), split=split))
    return {"accuracy": result.test_accuracy, "f1": result.metrics["test_macro_f1"], "seconds": result.train_seconds}


def recipe_config(recipe: str, variants: dict, path: Path, seed: int):
    base, overrides = ("default", variants[recipe]) if recipe in variants else (recipe, [])
    if recipe.endswith(" passes"):  # the default recipe for a fixed number of passes (steps set per fold)
        base, overrides = "default", []
    return load_config(ROOT / "configs" / f"{base}.yaml" if base in RECIPES else None,
                       [f"train.seed={seed}", "train.tensorboard=false", "data.cache=false", *overrides],
                       data=str(path))


def difference(ours: list[dict], original: list[dict], repeats: int) -> tuple[float, float]:
    """Mean paired difference of accuracy (points) and its standard error."""
    d = np.array([a["accuracy"] - b["accuracy"] for a, b in zip(ours, original)]) * 100
    if repeats > 1:
        means = d.reshape(repeats, -1).mean(axis=1)
        return float(d.mean()), float(means.std(ddof=1) / np.sqrt(repeats))
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS[:2]), choices=DATASETS)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--recipes", nargs="+", default=["original", "default", "best"])
    parser.add_argument("--variant", action="append", default=[],
                        help="'NAME=KEY=VALUE;KEY=VALUE': the default recipe with these keys, as recipe NAME")
    parser.add_argument("--original-epochs", type=int, default=500)
    parser.add_argument("--passes", nargs="*", type=int, default=[],
                        help="also the default recipe trained for exactly these numbers of passes "
                             "(a time-to-accuracy curve)")
    args = parser.parse_args()
    variants = {}
    for text in args.variant:
        label, _, keys = text.partition("=")
        variants[label] = [k for k in keys.split(";") if k]
    recipes = list(dict.fromkeys([*args.recipes, *variants, *(f"{p} passes" for p in args.passes)]))
    print(f"cores: {os.cpu_count()}, keras {keras.__version__}; {args.folds}-fold CV x {args.repeats} repeats; "
          f"recipes {', '.join(recipes)}")
    table = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.datasets:
            if not (SHARED / ("traduttore_258" if name.startswith("traduttore") else name)).is_dir():
                print(f"{name}: data absent, skipped")
                continue
            path = data_path(name, Path(scratch))
            reference = load_dataset(recipe_config("default", variants, path, 0).data)
            print(f"\n{name}: {len(reference.labels)} signs, {len(reference)} recordings", flush=True)
            runs = {r: [] for r in recipes}
            for repeat in range(args.repeats):
                for recipe in recipes:
                    config = None if recipe == "original" else recipe_config(recipe, variants, path, repeat)
                    split_cfg = config.split if config else load_config("base").split
                    for k, split in enumerate(fold_splits(reference.y, split_cfg, args.folds, repeat)):
                        if recipe == "original":
                            run = original_recipe(name, path, split, repeat, args.original_epochs)
                            assert run["sources"] == [reference.sources[i] for i in split.test], "readers disagree"
                        else:
                            passes = int(recipe.split()[0]) if recipe.endswith(" passes") else None
                            run = signtrain_recipe(config, split, passes)
                        runs[recipe].append(run)
                        print(f"  repeat {repeat + 1} fold {k + 1} {recipe:>10}: {run['accuracy'] * 100:5.1f} % "
                              f"({run['seconds']:.0f} s)", flush=True)
            table.append((name, runs))
    print(f"\n{args.folds}-fold cross-validation x {args.repeats} repeats (same folds for every recipe)\n")
    print("| data | recipe | accuracy % (mean ± std) | macro-F1 % | training s (mean) | vs original |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, runs in table:
        for recipe, found in runs.items():
            acc = np.array([r["accuracy"] for r in found]) * 100
            f1 = np.array([r["f1"] for r in found]) * 100
            versus = ""
            if recipe != "original" and runs.get("original"):
                diff, se = difference(found, runs["original"], args.repeats)
                err_o = 100 - np.mean([r["accuracy"] for r in runs["original"]]) * 100
                cut = f", error {err_o:.1f} → {100 - acc.mean():.1f} %" if err_o > 0 else ""
                versus = (f"no difference ({diff:+.1f} ± {se:.1f})" if abs(diff) < se
                          else f"{diff:+.1f} ± {se:.1f} points{cut}")
            print(f"| {name} | {recipe} | {acc.mean():.1f} ± {acc.std(ddof=1):.1f} | {f1.mean():.1f} ± "
                  f"{f1.std(ddof=1):.1f} | {np.mean([r['seconds'] for r in found]):.0f} | {versus} |")


if __name__ == "__main__":
    main()
