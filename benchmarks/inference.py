"""Real-time inference: the original recipe's path (`model.predict` on one window per frame) vs the
exported TFLite model in the LiteRT interpreter, same trained model, same windows, one run; and
the start-to-answer time of `signtrain predict` on one recording, .h5 (TensorFlow) vs .tflite
(LiteRT only, TensorFlow never imported).

    python benchmarks/inference.py [--windows 200] [--features 225] [--frames 30] [--signs 3]

A base-architecture model (configs/base.yaml: LSTM 128/64/32) is trained for one
epoch on a generated example tree (weights do not change the cost), exported to
TFLite through `signtrain export`, and both paths run the same sliding windows.
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

from signtrain.config import load_config  # noqa: E402
from signtrain.data.example import write_example  # noqa: E402
from signtrain.deploy.export import batch1_runner, export  # noqa: E402
from signtrain.deploy.predict import windows  # noqa: E402
from signtrain.deploy.predictor import load_predictor  # noqa: E402
from signtrain.training.run import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def per_window_ms(fn, items) -> tuple[float, float]:
    for x in items[:5]:
        fn(x)
    times = []
    for x in items:
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000), float(np.percentile(times, 95) * 1000)


RUNS = 3


def command_seconds(args: list[str]) -> float:
    """Wall time of `signtrain predict ARGS` in a fresh process: what a user waits for."""
    import subprocess

    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "signtrain", "predict", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--features", type=int, default=225)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--signs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_example(tmp / "MP_Data", signs=args.signs, sequences=10, frames=args.frames, features=args.features)
        config = load_config(ROOT / "configs" / "base.yaml",
                             ["train.epochs=1", "train.tensorboard=false", f"data.features_per_frame={args.features}",
                              f"data.sequence_length={args.frames}"], data=str(tmp / "MP_Data"),
                             output=str(tmp / "models"))
        train(config)
        model_path = tmp / "models" / "lstm_model.h5"
        report = export(model_path, ["tflite"])
        entry = report.entries[0]
        if not entry.passed:
            sys.exit(f"export failed: {entry.note}")
        predictor = load_predictor(model_path)
        # a long recording: the example sequences one after another, one window per frame
        recording = np.concatenate([
            np.stack([np.load(f) for f in sorted(seq.glob("*.npy"), key=lambda f: int(f.stem))])
            for seq in sorted((tmp / "MP_Data").glob("*/*"))])
        raw = windows(recording.astype(np.float32), args.frames)[:args.windows]
        normalised = predictor.normalizer.apply(raw)
        model = keras.models.load_model(model_path, compile=False)

        def original(x):  # the recipe's loop: model.predict(np.expand_dims(window, axis=0))
            return model.predict(x[None], verbose=0)

        run = batch1_runner("tflite", Path(entry.path), predictor)
        one = tmp / "one.npy"
        np.save(one, recording[:args.frames])
        start_to_answer = {kind: command_seconds([str(path), str(one)]) for kind, path in
                           (("h5", model_path), ("tflite", Path(entry.path)))}
        tflite_ms = per_window_ms(lambda x: run(x[None]), list(raw))
        predict_ms = per_window_ms(original, list(normalised))
        agree = np.mean([np.argmax(run(r[None])) == np.argmax(original(n)) for r, n in zip(raw[:50], normalised[:50])])
    print(f"cores: {os.cpu_count()}, keras {keras.__version__}; base LSTM 128/64/32, window {args.frames} x "
          f"{args.features}, {len(raw)} windows")
    print(f"  original model.predict per window : median {predict_ms[0]:7.2f} ms, p95 {predict_ms[1]:7.2f} ms")
    print(f"  signtrain TFLite (LiteRT)         : median {tflite_ms[0]:7.2f} ms, p95 {tflite_ms[1]:7.2f} ms")
    print(f"  ratio (median): {predict_ms[0] / tflite_ms[0]:.0f}x faster; top-1 agreement {agree:.0%}; "
          f"goal < 1 ms per window: {'met' if tflite_ms[0] < 1 else 'NOT met'}")
    h5, lite = start_to_answer["h5"], start_to_answer["tflite"]
    print(f"  signtrain predict, start to answer for one recording (median of {RUNS} runs): .h5 {h5:.2f} s, "
          f".tflite {lite:.2f} s = {h5 / lite:.0f}x; goal < 1 s: {'met' if lite < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
