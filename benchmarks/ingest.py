"""Loading MP_Data trees: the original recipe's loader vs signtrain cold (no cache) vs signtrain
warm (the consolidated cache), same trees, one run; then parquet and CSV load rates on
../shared/data, and the peak memory of training streamed from the memory-mapped cache.

    python benchmarks/ingest.py [--signs 50 --sequences 40 --frames 30 --features 225] [--repeat 3] [--rss]

Trees: a generated one (default 50 signs x 40 sequences x 30 frames x 225 values)
and ../shared/data/dgs_mpdata when present.  All loaders run on a warm page
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
    with tempfile.TemporaryDirectory() as cache_dir:
        settings = [f"data.features_per_frame={features}", f"data.sequence_length={frames}"]
        cold = load_config("base", settings + ["data.cache=false"], data=str(root))
        warm = load_config("base", settings + [f"data.cache_dir={cache_dir}"], data=str(root))
        quick = load_config("base", settings + [f"data.cache_dir={cache_dir}", "data.cache_check=folders"],
                            data=str(root))
        dataset = load_dataset(cold.data)  # warm the page cache; also counts the files we read
        load_dataset(warm.data)            # writes the cache
        files_ours = int(dataset.lengths.sum() + dataset.defect("missing_frames").sum())
        original = best_time(lambda: original_load_data(str(root), actions, per_sign, frames, features), repeat)
        ours = best_time(lambda: load_dataset(cold.data), repeat)
        cached = best_time(lambda: load_dataset(warm.data), repeat)
        load_dataset(quick.data)
        folders = best_time(lambda: load_dataset(quick.data), repeat)
    rate_o, rate_s, rate_c = files_original / original, files_ours / ours, files_ours / cached
    rate_f = files_ours / folders
    print(f"{name}: {len(actions)} signs, {len(dataset)} sequences")
    print(f"  original load_data : {files_original:7d} files in {original:6.3f} s = {rate_o:10.0f} files/s")
    print(f"  signtrain cold     : {files_ours:7d} files in {ours:6.3f} s = {rate_s:10.0f} files/s  "
          f"({rate_s / rate_o:.1f}x)")
    print(f"  signtrain warm     : {files_ours:7d} files in {cached:6.3f} s = {rate_c:10.0f} files/s  "
          f"({rate_c / rate_o:.1f}x; data.cache_check=files: stats every file)")
    print(f"  signtrain warm     : {files_ours:7d} files in {folders:6.3f} s = {rate_f:10.0f} files/s  "
          f"({rate_f / rate_o:.1f}x; data.cache_check=folders)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signs", type=int, default=50)
    parser.add_argument("--sequences", type=int, default=40)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--features", type=int, default=225)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rss", action="store_true", help="also measure peak memory of streamed training")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "MP_Data"
        write_tree(root, args.signs, args.sequences, args.frames, args.features)
        compare(f"generated {args.signs}x{args.sequences}x{args.frames}x{args.features}", root,
                args.frames, args.features, args.repeat)
    if (SHARED / "dgs_mpdata").is_dir():
        compare("dgs_mpdata (real, ragged 18-70 frames, 126 values)", SHARED / "dgs_mpdata", 30, 126, args.repeat)
        other_formats(args.repeat)
    else:
        print(f"{SHARED / 'dgs_mpdata'} absent: real-data comparison skipped")
    if args.rss:
        streaming_memory()


def other_formats(repeat: int) -> None:
    for name, overrides in (("islr_letters", []), ("dgs30_csv", ["data.csv_columns=2:"])):
        config = load_config("base", ["data.features_per_frame=null", "data.cache=false", *overrides],
                             data=str(SHARED / name))
        dataset = load_dataset(config.data)
        seconds = best_time(lambda: load_dataset(config.data), repeat)
        files = len(dataset)
        frames = int(dataset.lengths.sum())
        print(f"{name} ({dataset.format}): {files} files, {frames} frames in {seconds:.2f} s = "
              f"{files / seconds:.0f} files/s, {frames / seconds:.0f} frames/s (cold, no cache)")


RSS_SCRIPT = """
import resource, sys
sys.path.insert(0, {root!r})
from signtrain.config import load_config
from signtrain.training.run import train
config = load_config("base", ["data.features_per_frame=225", "data.sequence_length=30", "train.epochs=1",
                            "train.tensorboard=false", "model.units=[8]", "model.return_sequences=false",
                            "model.dropout=0.0", "model.l2=0.0", "model.batch_norm=false", "model.unroll=false",
                            "train.batch_size=64", "data.cache_dir={cache}", "data.stream={stream}"],
                     data={data!r}, output={out!r})
train(config)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def streaming_memory(sequences: int = 12000) -> None:
    """Peak RSS of one training epoch on a ~320 MB tree: in memory vs streamed from the cache."""
    import subprocess

    root_dir = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "big"
        rng = np.random.default_rng(0)
        for s in range(20):
            (data / f"sign_{s}").mkdir(parents=True)
            for q in range(sequences // 20):
                np.save(data / f"sign_{s}" / f"{q}.npy", rng.random((30, 225), dtype=np.float32))
        config = load_config("base", ["data.features_per_frame=225", f"data.cache_dir={tmp}/cache"], data=str(data))
        load_dataset(config.data)  # build the cache once
        peaks = {}
        for stream in ("false", "true"):
            script = RSS_SCRIPT.format(root=str(root_dir), cache=f"{tmp}/cache", stream=stream, data=str(data),
                                       out=f"{tmp}/m_{stream}")
            out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
            peaks[stream] = int(out.stdout.strip().splitlines()[-1])
        size = sequences * 30 * 225 * 4 / 2**20
        print(f"training memory, {sequences} sequences ({size:.0f} MB of frames), 1 epoch: peak RSS in memory "
              f"{peaks['false']} MB, streamed from the memory-mapped cache {peaks['true']} MB "
              f"({peaks['false'] - peaks['true']} MB less)")


if __name__ == "__main__":
    main()
