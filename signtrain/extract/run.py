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

import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from signtrain import paths, store
from signtrain.errors import ConfigError, Interrupted, SigntrainError
from signtrain.extract import video
from signtrain.extract.holistic import PARTS, QUIET_ENV, Landmarker, quiet, selection
from signtrain.extract.plan import (
    MANIFEST,
    STATE,
    ExtractReport,
    Job,
    Settings,
    VideoReport,
    extraction_of,
    find_videos,
    plan,
    recording_path,
    sign_of_file,
)
from signtrain.layouts import Layout
from signtrain.progress import Listener
from signtrain.store import publish
from signtrain.store.locks import Lock

__all__ = ["MANIFEST", "STATE", "ExtractReport", "Job", "Settings", "VideoReport", "extract", "extraction_of",
           "find_videos", "landmarks_of", "plan", "run_job", "sign_of_file", "video_landmarks"]


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
