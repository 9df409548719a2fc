"""What extract shows: live progress per video and the report."""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Console
from rich.table import Table
from rich.text import Text

from signtrain.progress import Listener


def _detections(report: Any) -> str:
    d = report.detected
    return f"pose {d['pose']}, face {d['face']}, left hand {d['left_hand']}, right hand {d['right_hand']}"


class ExtractDisplay(Listener):
    """Videos and frames per second with an ETA (a progress bar on a terminal, a line per video in a
    pipe), and one line per finished video with what MediaPipe detected."""

    def __init__(self, console: Console, live: Optional[bool] = None, clock: Any = None) -> None:
        import time

        self.console = console
        self.live = console.is_terminal if live is None else live
        self.clock = clock or time.monotonic
        self.videos = self.frames = self.frames_total = self.done = 0
        self.started = 0.0
        self._progress: Any = None
        self._task: Any = None

    def on_start(self, jobs: list, skipped: list) -> None:
        self.videos, self.started = len(jobs), self.clock()
        self.frames_total = sum(job.estimate for job in jobs)
        if skipped:
            self.console.print(f"{len(skipped)} video{'s' * (len(skipped) != 1)} already extracted by an earlier "
                               f"run: skipped", markup=False)
        if not jobs:
            return
        about = f" (about {self.frames_total} frames)" if self.frames_total else ""
        self.console.print(f"extracting {len(jobs)} video{'s' * (len(jobs) != 1)}{about}…", markup=False)
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("{task.fields[videos]}"), BarColumn(),
                                      TextColumn("{task.completed:.0f}/{task.total:.0f} frames"),
                                      TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                      console=self.console, transient=True)
            self._task = self._progress.add_task("extract", total=max(self.frames_total, 1),
                                                 videos=self._videos_text(), rate="")
            self._progress.start()

    def _videos_text(self) -> str:
        return f"videos {self.done}/{self.videos}"

    def rate(self) -> str:
        elapsed = self.clock() - self.started
        return f"{self.frames / elapsed:.1f} frames/s" if elapsed > 0 and self.frames else ""

    def eta(self) -> str:
        elapsed = self.clock() - self.started
        if not self.frames or self.frames_total <= self.frames:
            return ""
        return f"ETA {int((self.frames_total - self.frames) * elapsed / self.frames)} s"

    def on_frames(self, frames: int) -> None:
        self.frames += frames
        if self._progress is not None:
            self._progress.update(self._task, completed=self.frames, rate=self.rate(),
                                  total=max(self.frames_total, self.frames))

    def on_video(self, report: Any) -> None:
        self.done += 1
        where = f"{report.sign}/{report.sequence}"
        if report.status == "extracted":
            line = Text(f"  ✓ {where}  {report.video}: {report.frames_written} frames; {_detections(report)}")
        else:
            line = Text(f"  ✗ {report.video}: {report.reason}", style="red")
        if self._progress is not None:
            self._progress.update(self._task, videos=self._videos_text())
            self._progress.console.print(line)
        else:
            facts = ", ".join(part for part in (self._videos_text(), self.rate(), self.eta()) if part)
            self.console.print(line + Text(f"   [{facts}]", style="dim"), soft_wrap=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def render_extract_report(report: Any, console: Console) -> None:
    extracted = [v for v in report.videos if v.status == "extracted"]
    if extracted:
        table = Table(title=f"Extracted into {report.out} ({report.settings['layout']}, "
                            f"{report.settings['values_per_frame']} values per frame)")
        for name, justify in (("recording", "left"), ("video", "left"), ("frames", "right"), ("pose", "right"),
                              ("face", "right"), ("left hand", "right"), ("right hand", "right")):
            table.add_column(name, justify=justify)
        for v in extracted:
            d = v.detected
            table.add_row(f"{v.sign}/{v.sequence}", v.video, str(v.frames_written),
                          *(f"{d[p]}/{v.frames_read}" for p in ("pose", "face", "left_hand", "right_hand")))
        console.print(table)
    failed = [v for v in report.videos if v.status == "failed"]
    for v in failed:
        console.print(Text(f"failed: {v.video}: {v.reason}", style="red"), soft_wrap=True)
    if report.ignored:
        console.print(f"{len(report.ignored)} file{'s' * (len(report.ignored) != 1)} that are not videos left out, "
                      f"e.g. {report.ignored[0]}", markup=False, style="dim")
    console.print(
        f"{len(extracted)} extracted, {report.count('skipped')} already done, {len(failed)} failed; "
        f"{report.frames_read} frames in {report.seconds:.1f} s = {report.frames_per_second:.1f} frames/s with "
        f"{report.workers} worker{'s' * (report.workers != 1)}", markup=False,
        style="bold red" if failed else "bold")
