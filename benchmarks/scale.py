"""Scaling: training sequences/second for 1 vs 2 replicas on the devices present and, where a GPU
is visible, CPU vs GPU and the fused cuDNN LSTM vs the generic kernel.  Same data, one run.

    python benchmarks/scale.py [--sequences 1600] [--epochs 3]

Without GPUs the two replicas are two logical CPU devices on the same cores: the figure shows
what the tf.distribute machinery costs, not a speed-up (there are no more cores to use).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = """
import json, sys, time
import tensorflow as tf
sys.path.insert(0, {root!r})
gpus = tf.config.list_physical_devices("GPU")
if {device!r} == "cpu":
    tf.config.set_visible_devices([], "GPU")
    gpus = []
if not gpus and {replicas} > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * {replicas})
from benchmarks.train import TimedDisplay
from signtrain.config import load_config
from signtrain.training.run import train
devices = ([f"/gpu:{{i}}" for i in range({replicas})] if gpus else [f"/cpu:{{i}}" for i in range({replicas})])
extra = ["train.distribute=mirrored", "train.devices=" + json.dumps(devices)] if {replicas} > 1 else []
config = load_config({config!r}, ["train.epochs={epochs}", "train.tensorboard=false", "model.unroll=false",
                                  "train.early_stopping_patience=null", *{extra!r}, *extra],
                     data={data!r}, output={out!r})
display = TimedDisplay()
result = train(config, display)
times = sorted(display.epoch_times[1:] or display.epoch_times)
print("RESULT " + json.dumps({{"seq_per_s": result.metrics["train_sequences"] / times[len(times) // 2],
                               "replicas": result.metrics["replicas"], "gpus": len(gpus)}}))
"""


def measure(data: Path, replicas: int, epochs: int, device: str = "auto", extra=()) -> dict:
    with tempfile.TemporaryDirectory() as out:
        script = RUN.format(root=str(ROOT), device=device, replicas=replicas, config=str(ROOT / "configs/base.yaml"),
                            epochs=epochs, extra=list(extra), data=str(data), out=out)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1]}
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=1600)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from signtrain.data.example import write_example

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "MP_Data"
        write_example(data, signs=20, sequences=args.sequences // 20)
        one = measure(data, 1, args.epochs)
        two = measure(data, 2, args.epochs)
        kind = "GPU" if one.get("gpus") else "logical CPU device"
        print(f"base LSTM, {args.sequences} sequences x 30 frames x 225, global batch 32")
        print(f"  1 replica  ({kind}): {one.get('seq_per_s', 0):8.1f} sequences/s {one.get('error', '')}")
        print(f"  2 replicas ({kind}s): {two.get('seq_per_s', 0):8.1f} sequences/s {two.get('error', '')}")
        if "seq_per_s" in one and "seq_per_s" in two:
            print(f"  ratio 2/1: {two['seq_per_s'] / one['seq_per_s']:.2f}x")
        if one.get("gpus"):
            cpu = measure(data, 1, args.epochs, device="cpu")
            generic = measure(data, 1, args.epochs, extra=["model.recurrent_dropout=0.01"])
            print(f"  CPU only: {cpu.get('seq_per_s', 0):8.1f} sequences/s; GPU/CPU "
                  f"{one['seq_per_s'] / max(cpu.get('seq_per_s', 1e-9), 1e-9):.1f}x")
            print(f"  GPU generic kernel (recurrent_dropout rules out cuDNN): {generic.get('seq_per_s', 0):8.1f} "
                  f"sequences/s; cuDNN/generic {one['seq_per_s'] / max(generic.get('seq_per_s', 1e-9), 1e-9):.1f}x")
        else:
            print("  no GPU visible: CPU vs GPU and cuDNN vs generic kernel not measured")


if __name__ == "__main__":
    main()
