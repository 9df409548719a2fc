"""What an extraction is to do: the videos under SOURCE and their signs, the numbering against what OUT
already holds, and the manifest (video -> sign/sequence, settings) written before any work, so a
re-run extracts only what is missing into the same numbers."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from signtrain import names
from signtrain.errors import ConfigError, SigntrainError
from signtrain.extract import video
from signtrain.extract.holistic import PARTS
from signtrain.layouts import Layout

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
