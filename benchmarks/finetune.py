"""Fine-tuning (`train --init`) vs training from scratch, on real signers: a model of the first
6 signs of dgs30 is given the remaining 24, with the same epoch budget and the same held-out test
recordings on both sides.

    python benchmarks/finetune.py [--budgets 20 60] [--base-epochs 60] [--seed 0]

The 6-sign model is trained on dgs30's first 6 signs WITHOUT the recordings that the 30-sign
runs hold out for testing (so neither side has seen a test recording), with configs/best.yaml.
Then, for each budget, the 30-sign model is trained from scratch and from the 6-sign model
(--init, train.init_signs: add), on the same split (the sign order is the same on both sides).
Printed: test accuracy on all 30 signs, on the 6 old ones and on the 24 new ones, and the time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from signtrain.runtime import import_tensorflow  # noqa: E402

import_tensorflow()

from signtrain.config import load_config  # noqa: E402
from signtrain.deploy.evaluate import evaluate  # noqa: E402
from signtrain.store import metadata  # noqa: E402
from signtrain.training.finetune import config_for  # noqa: E402
from signtrain.training.run import TrainRequest, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "dgs30_csv"


def config(data: Path, out: Path, seed: int, *extra: str):
    return load_config(ROOT / "configs" / "best.yaml", [f"train.seed={seed}", "train.tensorboard=false", *extra],
                       data=str(data), output=str(out))


def per_group(model: Path, old: list[str]) -> dict:
    report = evaluate(model)
    rows = {r["name"]: r for r in report.per_sign}
    cm = np.asarray(report.confusion_matrix)
    correct = {name: cm[i, i] for i, name in enumerate(report.labels)}
    support = {name: rows[name]["support"] for name in report.labels}

    def share(names):
        total = sum(support[n] for n in names)
        return sum(correct[n] for n in names) / total if total else float("nan")

    new = [n for n in report.labels if n not in old]
    return {"all": report.accuracy, "old": share(old), "new": share(new)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[20, 60])
    parser.add_argument("--base-epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--factors", type=float, nargs="+", default=[0.1, 1.0],
                        help="train.init_lr_factor values to try on the --init side")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} absent")
    signs = sorted(p.name for p in DATA.iterdir() if p.is_dir())
    old, new = signs[:6], signs[6:]
    order = [f"data.signs=[{', '.join(old + new)}]"]  # --init add puts the model's signs first: same split
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # the held-out test recordings of the 30-sign runs (a 1-epoch run records them)
        probe = train(config(DATA, tmp / "probe", args.seed, *order, "train.epochs=1"))
        test = set(json.loads((probe.run_dir / "lstm_model.meta.json").read_text())["split"]["test_sources"])
        six = tmp / "six"
        for sign in old:
            (six / sign).mkdir(parents=True)
            for f in (DATA / sign).iterdir():
                if f"{sign}/{f.name}" not in test:
                    os.symlink(f, six / sign / f.name)
        base = train(config(six, tmp / "base", args.seed, f"train.epochs={args.base_epochs}"))
        print(f"6-sign model: {base.test_accuracy:.3f} on its own test split, {base.train_seconds:.0f} s "
              f"({args.base_epochs} epochs)", flush=True)
        base_meta = metadata.load(tmp / "base" / "lstm_model.h5")
        rows = []
        for budget in args.budgets:
            runs = [("from scratch", train(config(DATA, tmp / f"scratch{budget}", args.seed, *order,
                                                  f"train.epochs={budget}")), f"scratch{budget}")]
            for factor in args.factors:
                folder = f"init{budget}-{factor}"
                tuned = train(TrainRequest(config_for(base_meta, config(DATA, tmp / folder, args.seed,
                                                                        f"train.epochs={budget}",
                                                                        f"train.init_lr_factor={factor}")),
                                           init=base_meta))
                runs.append((f"--init 6-sign model, init_lr_factor {factor:g}", tuned, folder))
            for label, result, folder in runs:
                scores = per_group(tmp / folder / "lstm_model.h5", old)
                rows.append((budget, label, scores, result.train_seconds))
                print(f"  {budget} epochs, {label}: {scores['all']:.3f} (old {scores['old']:.3f}, new "
                      f"{scores['new']:.3f}), {result.train_seconds:.0f} s", flush=True)
    print("\n| epochs | start | test acc % (30 signs) | old 6 signs | new 24 signs | training s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for budget, label, s, seconds in rows:
        print(f"| {budget} | {label} | {s['all'] * 100:.1f} | {s['old'] * 100:.1f} | {s['new'] * 100:.1f} | "
              f"{seconds:.0f} |")


if __name__ == "__main__":
    main()
