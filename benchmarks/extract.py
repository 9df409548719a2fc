"""Landmark extraction from video: the tutorial's plain loop vs `signtrain extract`, same videos, one run.

    python benchmarks/extract.py [--videos 6] [--frames 0] [--workers 1 2]

The videos are copies of the real clip in ../shared/media (640x360, 225 frames, 25 fps), written
into a labelled folder.  The tutorial's loop is its extract_keypoints code on the Tasks API (the
legacy mp.solutions it used is gone from mediapipe >= 0.10.30): one process, one landmarker,
every frame read, landmarks flattened and np.save'd one file per frame.  signtrain runs the same
videos with --workers N (each video in its own process, a fresh landmarker per video).  The
detection counts per body part on the clip are printed too.  --frames 0 = every frame.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "media"
CLIP, BUNDLE = MEDIA / "selfie_segmentation_web.mp4", MEDIA / "holistic_landmarker.task"
sys.path.insert(0, str(ROOT))


def tutorial_loop(videos: list[Path], out: Path) -> tuple[float, int]:
    """The tutorial's collection loop, on the Tasks API: read, detect, extract_keypoints, np.save."""
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    def extract_keypoints(results):
        pose = (np.array([[r.x, r.y, r.z, r.visibility] for r in results.pose_landmarks]).flatten()
                if results.pose_landmarks else np.zeros(33 * 4))
        face = (np.array([[r.x, r.y, r.z] for r in results.face_landmarks[:468]]).flatten()
                if results.face_landmarks else np.zeros(468 * 3))
        lh = (np.array([[r.x, r.y, r.z] for r in results.left_hand_landmarks]).flatten()
              if results.left_hand_landmarks else np.zeros(21 * 3))
        rh = (np.array([[r.x, r.y, r.z] for r in results.right_hand_landmarks]).flatten()
              if results.right_hand_landmarks else np.zeros(21 * 3))
        return np.concatenate([pose, face, lh, rh])

    options = vision.HolisticLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(BUNDLE)),
                                               running_mode=vision.RunningMode.VIDEO)
    start, frames = time.perf_counter(), 0
    for sequence, path in enumerate(videos):
        with vision.HolisticLandmarker.create_from_options(options) as holistic:
            cap = cv2.VideoCapture(str(path))
            frame_num = 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                results = holistic.detect_for_video(image, int(frame_num * 40))
                folder = out / "clip" / str(sequence)
                folder.mkdir(parents=True, exist_ok=True)
                np.save(folder / str(frame_num), extract_keypoints(results))
                frame_num += 1
                frames += 1
            cap.release()
    return time.perf_counter() - start, frames


def signtrain_extract(source: Path, out: Path, workers: int, frames: int) -> dict:
    argv = [sys.executable, "-m", "signtrain", "extract", str(source), str(out), "--workers", str(workers),
            "--model-asset", str(BUNDLE), "--json", *(["--frames", str(frames)] if frames else [])]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    report["wall"] = time.perf_counter() - start
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--frames", type=int, default=0, help="frames per video for signtrain (0 = all)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if not (CLIP.is_file() and BUNDLE.is_file()):
        sys.exit(f"needs {CLIP} and {BUNDLE}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = tmp / "videos" / "clip"
        source.mkdir(parents=True)
        videos = []
        for i in range(args.videos):
            shutil.copy(CLIP, source / f"clip_{i}.mp4")
            videos.append(source / f"clip_{i}.mp4")
        print(f"{args.videos} copies of {CLIP.name} (225 frames each), {os.cpu_count()} CPU cores")
        seconds, frames = tutorial_loop(videos, tmp / "tutorial")
        base = frames / seconds
        print(f"tutorial loop (one process):   {frames} frames in {seconds:6.1f} s = {base:6.1f} frames/s")
        for workers in args.workers:
            out = tmp / f"signtrain-{workers}"
            report = signtrain_extract(tmp / "videos", out, workers, args.frames)
            rate = report["frames_read"] / report["wall"] if "frames_read" in report else \
                sum(v["frames_read"] for v in report["videos"]) / report["wall"]
            print(f"signtrain extract --workers {workers}: {sum(v['frames_read'] for v in report['videos'])} frames "
                  f"in {report['wall']:6.1f} s = {rate:6.1f} frames/s (start-up included) -> {rate / base:.2f}x the "
                  f"tutorial loop; inside the run {report['frames_per_second']:.1f} frames/s")
        detected = report["videos"][0]["detected"]
        print(f"detections on the clip (frames of {report['videos'][0]['frames_read']}): "
              + ", ".join(f"{k} {v}" for k, v in detected.items()))
        tutorial_first = np.stack([np.load(tmp / "tutorial" / "clip" / "0" / f"{i}.npy") for i in range(225)])
        ours = np.stack([np.load(Path(report["videos"][0]["output"]) / f"{i}.npy") for i in range(225)]) \
            if not args.frames else None
        if ours is not None:
            print(f"same values as the tutorial loop: max |difference| {np.abs(tutorial_first - ours).max():.2e}")


if __name__ == "__main__":
    main()
