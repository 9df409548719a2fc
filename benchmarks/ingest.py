"""Loading MP_Data trees: the original recipe's loader vs signtrain's reader, same trees, one run.

    python benchmarks/ingest.py [--signs 50 --sequences 40 --frames 30 --features 225] [--repeat 3]

Trees: a generated one (default 50 signs x 40 sequences x 30 frames x 225 values)
and ../shared/data/dgs_mpdata when present.  Both loaders run on a warm page
cache (each tree is read once before timing); the best of --repeat runs counts.
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

from signtrain.config import load_config  # noqa: E402
from signtrain.data import load_dataset  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def original_load_data(data_path, actions, no_sequences, sequence_length, features):
    """load_data() from the original train.py, verbatim but for its globals."""
    sequences, labels = [], []
    label_map = {label: num for num, label in enumerate(actions)}
    for action in actions:
        for sequence in range(no_sequences):
            window = []
            for frame_num in range(sequence_length):
                try:
                    res = np.load(os.path.join(data_path, action, str(sequence), f"{frame_num}.npy"))
                    window.append(res)
                except Exception:  # the original's bare except
                    window.append(np.zeros(features))
            sequences.append(window)
            labels.append(label_map[action])
    return np.array(sequences), np.array(labels)


def write_tree(root: Path, signs: int, sequences: int, frames: int, features: int) -> None:
    rng = np.random.default_rng(0)
    for s in range(signs):
        for q in range(sequences):
            folder = root / f"sign_{s}" / str(q)
            folder.mkdir(parents=True)
            for t, vector in enumerate(rng.random((frames, features))):
                np.save(folder / f"{t}.npy", vector)


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def compare(name: str, root: Path, frames: int, features: int, repeat: int) -> None:
    actions = sorted(p.name for p in root.iterdir() if p.is_dir())
    per_sign = min(sum(1 for p in (root / a).iterdir() if p.is_dir()) for a in actions)
    files_original = len(actions) * per_sign * frames
    config = load_config(None, [f"data.features_per_frame={features}", f"data.sequence_length={frames}"],
                         data=str(root))
    dataset = load_dataset(config.data)  # warm the page cache; also counts the files we read
    files_ours = int(dataset.lengths.sum() + dataset.defect("missing_frames").sum())
    original = best_time(lambda: original_load_data(str(root), actions, per_sign, frames, features), repeat)
    ours = best_time(lambda: load_dataset(config.data), repeat)
    rate_o, rate_s = files_original / original, files_ours / ours
    print(f"{name}: {len(actions)} signs, {len(dataset)} sequences")
    print(f"  original load_data : {files_original:7d} files in {original:6.2f} s = {rate_o:9.0f} files/s")
    print(f"  signtrain          : {files_ours:7d} files in {ours:6.2f} s = {rate_s:9.0f} files/s")
    print(f"  ratio (files/s)    : {rate_s / rate_o:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signs", type=int, default=50)
    parser.add_argument("--sequences", type=int, default=40)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--features", type=int, default=225)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "MP_Data"
        write_tree(root, args.signs, args.sequences, args.frames, args.features)
        compare(f"generated {args.signs}x{args.sequences}x{args.frames}x{args.features}", root,
                args.frames, args.features, args.repeat)
    if (SHARED / "dgs_mpdata").is_dir():
        compare("dgs_mpdata (real, ragged 18-70 frames, 126 values)", SHARED / "dgs_mpdata", 30, 126, args.repeat)
    else:
        print(f"{SHARED / 'dgs_mpdata'} absent: real-data comparison skipped")


if __name__ == "__main__":
    main()
