"""signtrain extract: videos -> an MP_Data tree of landmark frames, through MediaPipe Holistic.

    SOURCE/hello/clip1.mp4 ...   (or one video, or a flat folder of videos)
      -> OUT/hello/<n>/<frame>.npy   the tutorial's layout, new sequences numbered after existing ones
      -> OUT/hello/<n>.npy          with arrays=True: one (frames, values) array per recording
    OUT/.signtrain-extract/         manifest.json (video -> sign/sequence, settings), staging/, lock

Every recording is written into staging/ and renamed into place whole, so a killed run never
leaves half a recording; the manifest is written before any work starts, so a re-run knows
which videos are finished (their recording exists) and extracts only the rest into the same
sequence numbers.  Videos run in parallel worker processes; each reports its frames as it goes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from signtrain import names, paths, store
from signtrain.errors import ConfigError, Interrupted, SigntrainError
from signtrain.extract import video
from signtrain.extract.holistic import PARTS, QUIET_ENV, Landmarker, quiet, selection
from signtrain.layouts import Layout
from signtrain.progress import Listener
from signtrain.store import publish
from signtrain.store.locks import Lock

STATE = ".signtrain-extract"
MANIFEST = "manifest.json"
_TRAILING_NUMBER = re.compile(r"(?:[\s_.-]*\(\d+\)|[\s_.-]*\d+)$")


@dataclass(frozen=True)
class Settings:
    layout: Layout
    frames: Optional[int] = None      # per recording, sampled evenly; None = every frame
    arrays: bool = False              # one .npy per recording instead of one per frame
    workers: int = 1

    def record(self) -> dict:
        return {"layout": self.layout.name, "values_per_frame": self.layout.length, "frames": self.frames,
                "arrays": self.arrays}


@dataclass
class Job:
    video: str
    sign: str
    sequence: int
    estimate: int = 0                 # frames expected (for the ETA)


@dataclass
class VideoReport:
    video: str
    sign: str
    sequence: Optional[int]
    status: str                       # extracted | skipped | failed
    frames_read: int = 0              # distinct frames decoded and run through MediaPipe
    frames_written: int = 0
    detected: dict = field(default_factory=lambda: dict.fromkeys(PARTS, 0))
    seconds: float = 0.0
    reason: str = ""
    output: str = ""


@dataclass
class ExtractReport:
    source: str
    out: str
    settings: dict
    workers: int
    videos: list[VideoReport] = field(default_factory=list)
    seconds: float = 0.0
    ignored: list[str] = field(default_factory=list)   # files under SOURCE that are not videos

    def count(self, status: str) -> int:
        return sum(v.status == status for v in self.videos)

    @property
    def frames_read(self) -> int:
        return sum(v.frames_read for v in self.videos if v.status != "skipped")

    @property
    def frames_per_second(self) -> float:
        return self.frames_read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"source": self.source, "out": self.out, "settings": self.settings, "workers": self.workers,
                "seconds": round(self.seconds, 3), "frames_per_second": round(self.frames_per_second, 2),
                "extracted": self.count("extracted"), "skipped": self.count("skipped"),
                "failed": self.count("failed"), "ignored": self.ignored, "videos": [asdict(v) for v in self.videos]}


# ---------------------------------------------------------------- finding the videos


def sign_of_file(path: Path) -> str:
    """hello.mp4, hello_03.mp4, 'hello (2).mp4' -> hello: the file name without a trailing number."""
    return _TRAILING_NUMBER.sub("", path.stem) or path.stem


def find_videos(source: Path, sign: Optional[str] = None) -> tuple[list[tuple[Path, str]], list[str]]:
    """(video, sign) pairs under SOURCE, and the files that are not videos.  SOURCE/<sign>/<video>
    takes the folder name; a video directly in SOURCE (or SOURCE itself) takes its file name."""
    if sign is not None and names.problem(sign):
        raise ConfigError(f"--sign {sign!r}: a sign name becomes a folder name and a label, and this one cannot: "
                          f"{names.problem(sign)}")
    if source.is_file():
        if not video.is_video(source):
            raise ConfigError(f"{source}: not a video file (known kinds: {', '.join(sorted(video.VIDEO_SUFFIXES))})")
        return _named([(source, sign or sign_of_file(source))]), []
    if not source.is_dir():
        raise ConfigError(f"{source}: no such video file or folder")
    found, ignored = [], []
    for entry in sorted(source.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            (found.append((entry, sign or sign_of_file(entry))) if video.is_video(entry)
             else ignored.append(str(entry)))
        elif entry.is_dir():
            for inner in sorted(entry.iterdir(), key=lambda p: p.name):
                if inner.name.startswith("."):
                    continue
                if inner.is_file() and video.is_video(inner):
                    found.append((inner, sign or entry.name))
                else:
                    ignored.append(str(inner))
    if not found:
        raise ConfigError(f"{source}: no video files here or in its sign folders (known kinds: "
                          f"{', '.join(sorted(video.VIDEO_SUFFIXES))})")
    return _named(found), ignored


def _named(found: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """Every sign name taken from a file or folder name must be a plain name: it becomes a folder under
    OUT and a label (a '..' would write outside OUT, a newline would shift labels.txt)."""
    for path, name in found:
        if names.problem(name):
            raise ConfigError(f"{path}: the sign name {name!r} taken from its name cannot be used "
                              f"({names.problem(name)}); rename it, or give --sign NAME")
    return found


# ---------------------------------------------------------------- planning against OUT


def _recording_numbers(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    numbers = []
    for entry in folder.iterdir():
        stem = entry.name[:-4] if entry.name.endswith(".npy") else entry.name
        if stem.isdigit() and stem.isascii():
            numbers.append(int(stem))
    return numbers


def recording_path(out: Path, sign: str, sequence: int, arrays: bool) -> Path:
    return out / sign / (f"{sequence}.npy" if arrays else str(sequence))


def _existing_width(out: Path) -> Optional[int]:
    """Values per frame of one recording already in OUT (None when it holds none)."""
    for sign in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for entry in sorted(sign.iterdir()):
            first = entry if entry.suffix == ".npy" else next(iter(sorted(entry.glob("*.npy"))), None)
            if first is None:
                continue
            try:
                shape = np.load(first, mmap_mode="r", allow_pickle=False).shape
            except (OSError, ValueError):
                continue
            return int(shape[-1]) if shape else None
    return None


def extraction_of(tree: Path) -> Optional[dict]:
    """The settings a tree was extracted with ({layout, values_per_frame, frames, arrays}), when
    signtrain extract wrote it; saved with a model so prediction from video samples the same way."""
    try:
        manifest = json.loads((Path(tree) / STATE / MANIFEST).read_text())
        found = {k: manifest[k] for k in ("layout", "values_per_frame", "frames", "arrays")}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    # every frame kept: the recordings run at their videos' rate (sampled to --frames N, they do not)
    rates = [e.get("fps") for e in (manifest.get("videos") or {}).values() if isinstance(e, dict)]
    rates = [r for r in rates if isinstance(r, (int, float)) and r > 0]
    if found["frames"] is None and rates:
        found["fps"] = float(np.median(rates))
    return found


def _read_manifest(out: Path, settings: Settings) -> dict:
    path = out / STATE / MANIFEST
    if not path.is_file():
        return {}
    damaged = SigntrainError(f"{path}: damaged extraction manifest; delete {out / STATE} to start the numbering "
                             f"afresh (finished recordings stay)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        videos = manifest["videos"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        raise damaged from None
    if not isinstance(videos, dict) or not all(_manifest_entry(v) for v in videos.values()):
        raise damaged  # edited by hand: every entry must be {sign: a plain name, sequence: a number >= 0}
    earlier = {k: manifest.get(k) for k in ("layout", "frames", "arrays")}
    now = {k: settings.record()[k] for k in earlier}
    if earlier != now:
        changed = ", ".join(f"{k} {earlier[k]} -> {now[k]}" for k in earlier if earlier[k] != now[k])
        raise ConfigError(f"{out} was extracted with other settings ({changed}); one tree must hold one kind of "
                          f"recording: use the same --layout/--frames/--arrays, or another OUT folder")
    return videos


def _rate(path: Path) -> Optional[float]:
    try:
        return round(float(video.frame_rate(path)), 3) or None
    except Exception:  # noqa: BLE001 - a video that cannot be opened fails later, with its reason
        return None


def _manifest_entry(entry: Any) -> bool:
    return (isinstance(entry, dict) and names.is_plain(entry.get("sign")) and isinstance(entry.get("sequence"), int)
            and not isinstance(entry.get("sequence"), bool) and 0 <= entry["sequence"] < 10**9)


def plan(found: list[tuple[Path, str]], out: Path, settings: Settings) -> tuple[list[Job], list[VideoReport], dict]:
    """Jobs to run, reports of videos already finished, and the manifest to write first."""
    width = _existing_width(out) if out.is_dir() else None
    if width is not None and width != settings.layout.length:
        raise ConfigError(f"{out} already holds recordings of {width} values per frame; --layout "
                          f"{settings.layout.name} writes {settings.layout.length}: extract into another folder or "
                          f"choose the layout of the tree")
    known = _read_manifest(out, settings)
    taken: dict[str, set[int]] = {}
    jobs, skipped = [], []
    for path, sign in found:
        key = os.path.abspath(path)  # not resolve(): two links to one video are two recordings
        entry = known.get(key)
        if entry and entry.get("sign") == sign:
            target = recording_path(out, sign, int(entry["sequence"]), settings.arrays)
            taken.setdefault(sign, set()).add(int(entry["sequence"]))
            if target.exists():
                skipped.append(VideoReport(key, sign, int(entry["sequence"]), "skipped", output=str(target),
                                           reason="finished in an earlier run"))
            else:
                jobs.append(Job(key, sign, int(entry["sequence"])))
            continue
        numbers = taken.setdefault(sign, set())
        if not numbers:
            numbers.update(_recording_numbers(out / sign))
            numbers.update(int(e["sequence"]) for e in known.values() if e.get("sign") == sign)
        sequence = max(numbers, default=-1) + 1
        numbers.add(sequence)
        jobs.append(Job(key, sign, sequence))
        known[key] = {"sign": sign, "sequence": sequence, "fps": _rate(path)}
    return jobs, skipped, {"version": 1, **settings.record(), "videos": known}


# ---------------------------------------------------------------- one video


_worker_queue: Any = None  # in a worker process: where run_job's progress goes


def _init_worker(queue: Any) -> None:
    global _worker_queue
    _worker_queue = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C does
    if QUIET_ENV:  # MediaPipe logs from its own threads at any time; a worker reports through its results
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)


def landmarks_of(source: Any, asset: Path, layout: Layout, picks: Optional[np.ndarray] = None,
                 on_frame: Optional[Callable[[int], None]] = None) -> tuple[np.ndarray, dict, int]:
    """(frames x layout values, detections per part, distinct frames decoded) of a video."""
    chosen = selection(layout)
    rows, seen, decoded, last = [], np.zeros(len(PARTS), dtype=np.int64), 0, -1
    with Landmarker(asset) as task:
        for index, stamp, rgb in video.frames(source, picks):
            if index != last:  # a frame sampled twice (--frames above the frame count) repeats its result
                vector, flags = task.detect(rgb, stamp)
                decoded, last = decoded + 1, index
            rows.append(vector[chosen])
            seen += flags
            if on_frame:
                on_frame(len(rows))
    array = np.stack(rows) if rows else np.zeros((0, layout.length), dtype=np.float32)
    return array, dict(zip(PARTS, (int(n) for n in seen))), decoded


def video_landmarks(path: Path, asset: Path, layout: Layout, frames: Optional[int] = None,
                    on_frame: Optional[Callable[[int], None]] = None) -> tuple[np.ndarray, dict, int]:
    """landmarks_of a video file, `frames` of them sampled evenly (None: all); a video with no
    decodable frame, or no person in any, is a VideoError naming it."""
    picks = video.even_sample(video.count_frames(path), frames) if frames is not None else None
    array, detected, decoded = landmarks_of(path, asset, layout, picks, on_frame)
    if decoded == 0:
        raise video.VideoError(f"{path}: no frames could be decoded; check the file")
    if not any(detected.values()):
        raise video.VideoError(f"{path}: no person detected in any of its {decoded} frames")
    return array, detected, decoded


def _write(array: np.ndarray, out: Path, job: Job, arrays: bool) -> Path:
    target = recording_path(out, job.sign, job.sequence, arrays)
    staging = out / STATE / "staging" / f"{job.sign}.{job.sequence}.{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        if arrays:
            np.save(staging / "recording.npy", array)
            written = staging / "recording.npy"
        else:
            for i, row in enumerate(array):
                np.save(staging / f"{i}.npy", row)
            written = staging
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise SigntrainError(f"{target} appeared while extracting; nothing was overwritten")
        store.fault_point("extract:rename")
        publish.place(written, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _worker_job(job: Job, out: Path, asset: Path, settings: Settings) -> VideoReport:
    return run_job(job, out, asset, settings, _worker_queue.put)


def run_job(job: Job, out: Path, asset: Path, settings: Settings,
            on_frames: Callable[[int], None] = lambda n: None) -> VideoReport:
    """Extract one video into its recording; never raises for a bad video (the report says why).
    on_frames(n) is told of frames done, a few at a time."""
    report = VideoReport(job.video, job.sign, job.sequence, "failed")
    started = time.perf_counter()
    sent = [0]

    def progress(done: int) -> None:
        if done - sent[0] >= 5:
            on_frames(done - sent[0])
            sent[0] = done

    try:
        array, report.detected, report.frames_read = video_landmarks(Path(job.video), asset, settings.layout,
                                                                     settings.frames, progress)
        report.output = str(_write(array, out, job, settings.arrays))
        report.frames_written = len(array)
        report.status = "extracted"
    except SigntrainError as exc:
        report.reason = str(exc).removeprefix(f"{job.video}: ")
    except Exception as exc:  # noqa: BLE001 - a decoder or MediaPipe failure belongs to this video only
        report.reason = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        if report.frames_read > sent[0]:
            on_frames(report.frames_read - sent[0])
    report.seconds = round(time.perf_counter() - started, 3)
    return report


# ---------------------------------------------------------------- the whole run


def extract(source: Path, out: Path, asset: Union[Path, Callable[[], Path]], settings: Settings,
            sign: Optional[str] = None, listener: Optional[Listener] = None) -> ExtractReport:
    """asset: the .task bundle, or a function giving it (called once SOURCE and OUT are checked, so a bad
    path is said before any download)."""
    listener = listener or Listener()
    paths.readable(source, "SOURCE", ConfigError, "give a video, or a folder of videos")
    found, ignored = find_videos(source, sign)
    paths.writable_place(out, "OUT", ConfigError, "give a folder you can write for the landmark tree")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"OUT {out}: a file is there, not a folder; give a folder for the landmark tree")
    made = [p for p in (out, out / STATE) if not p.exists()]
    try:
        (out / STATE).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"OUT {out}: cannot make the folder ({exc.strerror or exc}); give a folder you can "
                          f"write") from None
    try:
        asset = asset() if callable(asset) else asset
    except BaseException:
        if made:  # a failed download leaves no trace in OUT
            shutil.rmtree(made[0], ignore_errors=True)
        raise
    lock = Lock(out / STATE, "extract", busy=f"{out} is being written by another signtrain extract")
    lock.acquire()
    try:
        shutil.rmtree(out / STATE / "staging", ignore_errors=True)  # what a killed run left
        jobs, skipped, manifest = plan(found, out, settings)
        store.write_json(out / STATE / MANIFEST, manifest)
        for job in jobs:
            job.estimate = settings.frames if settings.frames is not None else video.header_frame_count(job.video)
        workers = max(1, min(settings.workers, len(jobs)))
        report = ExtractReport(str(source), str(out), settings.record(), workers, list(skipped), ignored=ignored)
        listener.on_start(jobs, skipped)
        started = time.perf_counter()
        try:
            for result in _run(jobs, out, asset, settings, workers, listener):
                report.videos.append(result)
                listener.on_video(result)
        except KeyboardInterrupt:
            done = report.count("extracted")
            raise Interrupted(f"stopped by Ctrl-C: {done} recording{'s' * (done != 1)} finished and kept, none half-"
                              f"written; run the same command again to extract the other "
                              f"{len(jobs) - done - report.count('failed')}") from None
        finally:
            report.seconds = time.perf_counter() - started
            shutil.rmtree(out / STATE / "staging", ignore_errors=True)
        return report
    finally:
        lock.release()


def _run(jobs: list[Job], out: Path, asset: Path, settings: Settings, workers: int, listener: Listener):
    if workers == 1:
        for job in jobs:
            with quiet():
                result = run_job(job, out, asset, settings, listener.on_frames)
            yield result
        return
    context = multiprocessing.get_context("spawn")  # TensorFlow and MediaPipe threads do not survive fork
    queue = context.Queue()
    pool = context.Pool(workers, initializer=_init_worker, initargs=(queue,))
    try:
        pending = [pool.apply_async(_worker_job, (job, out, asset, settings)) for job in jobs]
        while pending:
            _drain(queue, listener)
            ready = [p for p in pending if p.ready()]
            for p in ready:
                pending.remove(p)
                _drain(queue, listener)
                yield p.get()
            if not ready:
                time.sleep(0.1)
        _drain(queue, listener)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _drain(queue: Any, listener: Listener) -> None:
    import queue as queues

    while True:
        try:
            listener.on_frames(queue.get_nowait())
        except queues.Empty:
            return
