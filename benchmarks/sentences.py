"""Signing as people sign: word error rate on sentences of held-out recordings, side by side in one
run - the stream signtrain had before (a raw window of sequence_length frames, threshold 0.8,
smooth 5, hold 3), the rule of the tutorial this field learns from (the last T frames, top
probability > 0.5, the last 10 predictions agree, a sign appended when it differs from the last
word), and signtrain's live path (deploy.live) - on the same sentences and the same model.

    python benchmarks/sentences.py [--datasets traduttore_6x30 dgs_mpdata] [--sentences 20] [--models DIR]
                                   [--train-seeds 0 1 2]

Each data set is trained with the default recipe (`signtrain train`, models kept under --models to
reuse; once, or once per --train-seeds seed: each seed also draws its own split, so one model is
judged on one set of held-out recordings and a range over seeds says how much of a figure is the
split), its held-out recordings are joined into 3-5-sign sentences with pauses of
0.2-1.5 s (still, nothing detected) or none, then every decoder reads the same frames.  Beside
signtrain's WER, "alone": the share of the same words whose recording the model misreads even on
its own - the model's part of the error, which no decoder can remove.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from accuracy import SHARED, data_path  # noqa: E402

from signtrain.data.assemble import to_length  # noqa: E402
from signtrain.deploy.live import DEFAULT_FPS, Emission, LiveSettings, recognise  # noqa: E402
from signtrain.deploy.predict import windows  # noqa: E402
from signtrain.deploy.predictor import load_predictor  # noqa: E402
from signtrain.deploy.sentences import evaluate, held_out_recordings, read_alone  # noqa: E402


def before(predictor, frames: np.ndarray, threshold=0.8, smooth=5, hold=3) -> list[Emission]:
    """signtrain predict --stream as it was: raw windows of sequence_length frames, one per frame."""
    probs = _windows_probs(predictor, frames)
    out, recent, armed, streak, candidate, last = [], [], True, 0, -1, -1
    for step, p in enumerate(probs):
        recent = [*recent[-(smooth - 1):], p]
        averaged = np.mean(recent, axis=0)
        best = int(averaged.argmax())
        if averaged[best] < threshold:
            armed, streak = True, 0
            continue
        streak = streak + 1 if best == candidate else 1
        candidate = best
        if streak >= hold and (armed or best != last):
            armed, last = False, best
            out.append(Emission(predictor.labels[best], step + predictor.sequence_length - 1, step,
                                float(averaged[best])))
    return out


def tutorial(predictor, frames: np.ndarray, threshold=0.5, agree=10) -> list[Emission]:
    """The tutorial's loop: the last T frames, top probability > threshold, the last `agree` predictions
    the same, a sign appended when it differs from the last word."""
    probs = _windows_probs(predictor, frames)
    out, predictions = [], []
    for step, p in enumerate(probs):
        best = int(np.argmax(p))
        predictions.append(best)
        if len(predictions) >= agree and len(set(predictions[-agree:])) == 1 and p[best] > threshold:
            if not out or out[-1].sign != predictor.labels[best]:
                out.append(Emission(predictor.labels[best], step + predictor.sequence_length - 1, step,
                                    float(p[best])))
    return out


def _windows_probs(predictor, frames: np.ndarray) -> np.ndarray:
    T = predictor.sequence_length
    data = predictor.meta.config.data
    raw = windows(frames, T)  # T raw consecutive frames, as both rules did
    raw = np.stack([to_length(w, T, data.resample, data.truncate) for w in raw])
    return np.concatenate([predictor.predict_proba(raw[i:i + 512]) for i in range(0, len(raw), 512)])


def model_for(name: str, models: Path, scratch: Path, seed: int = 0) -> Path:
    folder = models / (name if seed == 0 else f"{name}-seed{seed}")
    model = folder / "lstm_model.h5"
    if model.exists():
        return model
    from signtrain.config import load_config
    from signtrain.training.run import train

    root = data_path(name, scratch)
    started = time.perf_counter()
    # the default recipe
    result = train(load_config(None, [f"train.seed={seed}"], data=str(root), output=str(folder)))
    print(f"  trained {name} with the default recipe, train.seed={seed}: test accuracy {result.test_accuracy:.3f} "
          f"({time.perf_counter() - started:.0f} s)")
    return model


def judge(name: str, seed: int, args: argparse.Namespace, scratch: Path) -> dict:
    """One model's rows, printed; returns what the summary over seeds needs."""
    predictor = load_predictor(model_for(name, args.models, scratch, seed))
    recordings = held_out_recordings(predictor.meta)
    fps = DEFAULT_FPS
    settings = LiveSettings.of(predictor.meta, fps)
    isolated = json.loads((predictor.meta.run_dir / "metrics.json").read_text()).get("test_accuracy")
    print(f"\n{name}, train.seed={seed}: {len(recordings)} held-out recordings, {len(predictor.labels)} signs, "
          f"isolated test accuracy {isolated:.1%}; live window {settings.span} raw frames -> {settings.length}")
    decoders = {"before": lambda f: before(predictor, f), "tutorial": lambda f: tutorial(predictor, f),
                "signtrain": lambda f: recognise(predictor.predict_proba, predictor.labels, settings, f).emissions}
    alone = read_alone(predictor.predict_proba, predictor.labels, settings, recordings)
    results = {label: evaluate(decode, recordings, fps, args.sentences, args.seed, alone=alone)
               for label, decode in decoders.items()}
    print(f"  {'pause':<14} {'WER before':>10} {'tutorial':>9} {'signtrain':>9} {'alone':>6}   signtrain: "
          f"sentence acc, rest clean, twice said twice, delay median/max")
    for k, row in enumerate(results["signtrain"]):
        d = row.to_dict()
        pause = "none" if row.kind == "none" else f"{row.pause_s:g} s {row.kind}"
        twice = f"{row.repeats_said}/{row.repeats_asked}" if row.repeats_asked else "-"
        print(f"  {pause:<14} {results['before'][k].wer:>10.1%} {results['tutorial'][k].wer:>9.1%} "
              f"{row.wer:>9.1%} {d['wer_alone']:>6.1%}   {d['sentence_accuracy']:.0%}, {d['rest_clean']:.0%}, "
              f"{twice}, {d['delay_median_s']:.2f}/{d['delay_max_s']:.2f} s")
    paused = [row for row in results["signtrain"] if row.kind != "none"]
    return {"seed": seed, "isolated": isolated, "mean": float(np.mean([r.wer for r in paused])),
            "worst": max(r.wer for r in paused), "alone": paused[0].to_dict()["wer_alone"],
            "twice": (sum(r.repeats_said for r in paused), sum(r.repeats_asked for r in paused)),
            "latest": max(r.to_dict()["delay_max_s"] for r in paused)}


def summary(name: str, judged: list[dict]) -> None:
    """Over training seeds: each model's paused rows in one line, then the range."""
    print(f"\n{name} over train.seed {', '.join(str(j['seed']) for j in judged)} (signtrain, the paused rows):")
    for j in judged:
        said, asked = j["twice"]
        print(f"  seed {j['seed']}: isolated {j['isolated']:.1%}, mean WER {j['mean']:.1%}, "
              f"worst row {j['worst']:.1%}, misread alone {j['alone']:.1%}, twice said twice {said}/{asked}, "
              f"latest sign {j['latest']:.2f} s")
    means = [j["mean"] for j in judged]
    print(f"  range: mean WER {min(means):.1%}-{max(means):.1%} (average {np.mean(means):.1%}), "
          f"worst row {max(j['worst'] for j in judged):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["traduttore_6x30", "dgs_mpdata"])
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--models", type=Path, default=Path(tempfile.gettempdir()) / "signtrain-sentence-models")
    parser.add_argument("--seed", type=int, default=0, help="the sentences' draw")
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0],
                        help="train.seed of each model judged (each also draws its own split)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="signtrain-sentences-"))
    for name in args.datasets:
        if not (SHARED / ("traduttore_258" if name.startswith("traduttore") else name)).is_dir():
            print(f"{name}: not present under {SHARED}, skipped")
            continue
        judged = [judge(name, seed, args, scratch) for seed in args.train_seeds]
        if len(judged) > 1:
            summary(name, judged)


if __name__ == "__main__":
    main()
