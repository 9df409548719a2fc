"""A training run as one unit: staged in a hidden folder, committed whole by one rename, and
made the output folder's current run by one atomic switch of a link.

    models/                                   output.dir
      lstm_model.h5 -> current/lstm_model.h5  one alias per artifact, never rewritten
      current -> runs/20261122-101500         the run models/ shows: switched by one rename
      runs/20261122-101500/                   a complete run; run.json (every file's checksum) inside
      runs/.staging-20261122-103000/          a run being written, or killed: resumable from its last epoch
      .lock                                   held by the one `train` writing here

A SIGKILL at any instant leaves `current` on the previous complete run or on the new complete
one: the files of a run are written while it is invisible, and the switch is a single
rename(2).  The lock is an flock, which the kernel releases when its holder dies.  Where the
file system has no symbolic links, the artifacts are copied to the top level and a CURRENT
file names the run; signtrain's readers go through that file, so they still never mix runs.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from signtrain import store
from signtrain.errors import ConfigError, RunError
from signtrain.store.files import read_json
from signtrain.store.publish import fsync_dir
from signtrain.store.locks import Lock, lock_holder

RUNS = "runs"
CURRENT = "current"
POINTER = "CURRENT"          # the no-symlink fallback: a file holding the current run's id
STAGING = ".staging-"
RECORD = "run.json"          # written last into a run: its summary and every file's checksum
CONFIG = "config.yaml"
ALIASES_EXTRA = ("export", "evaluation")  # folders export/evaluate write into the current run
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: Optional[str]) -> None:
    if name is not None and not _NAME.match(name):
        raise ConfigError(f"--name {name!r}: use letters, digits, '.', '_' or '-' (up to 64, not starting "
                          f"with '.' or '-'), e.g. --name baseline")


# ---------------------------------------------------------------- finding runs


def resolve(path: Path) -> Path:
    """A path as the user gave it (models/lstm_model.h5) -> the file inside one immutable run folder.
    Resolved once, so every file a reader opens afterwards comes from the same run."""
    path = Path(path)
    real = Path(os.path.realpath(path))
    if real.parent.parent.name == RUNS or real.parent.parent.parent.name == RUNS:
        return real
    pointer = path.parent / POINTER
    if pointer.is_file():
        run = path.parent / RUNS / pointer.read_text(encoding="utf-8").strip()
        if (run / path.name).exists():
            return Path(os.path.realpath(run / path.name))
    return real


def run_dir_of(path: Path) -> Optional[Path]:
    """The run folder a resolved artifact path belongs to (it may sit in export/ or evaluation/)."""
    for parent in (path.parent, path.parent.parent):
        if parent.parent.name == RUNS:
            return parent
    return None


def current_run(out: Path) -> Optional[Path]:
    link = out / CURRENT
    if link.is_symlink() or link.is_dir():
        real = Path(os.path.realpath(link))
        return real if (real / RECORD).is_file() else None
    pointer = out / POINTER
    if pointer.is_file():
        run = out / RUNS / pointer.read_text(encoding="utf-8").strip()
        return run if (run / RECORD).is_file() else None
    return None


@dataclass
class RunInfo:
    id: str
    path: Path
    status: str                   # complete | stopped | unfinished | running | damaged
    record: dict = field(default_factory=dict)
    current: bool = False
    epochs_done: int = 0

    def to_dict(self) -> dict:
        r = self.record
        return {"id": self.id, "status": self.status, "current": self.current, "path": str(self.path),
                "name": r.get("name"), "created": r.get("created"), "data": r.get("data"),
                "signs": r.get("signs"), "test_accuracy": r.get("test_accuracy"),
                "epochs": r.get("epochs_run", self.epochs_done), "resumed_from": r.get("resumed_from"),
                **({"damaged": r["damaged"]} if "damaged" in r else {})}


def list_runs(out: Path) -> list[RunInfo]:
    """Every run under out/runs, oldest first: committed ones and unfinished (staged) ones."""
    root = out / RUNS
    if not out.exists():
        raise RunError(f"{out}: not found; signtrain train writes its runs into the output folder (models by "
                       f"default): give that folder")
    if not out.is_dir():
        raise RunError(f"{out}: not a folder; give the output folder of your trainings (models by default)")
    if not root.is_dir():
        return []
    current = current_run(out)
    busy = lock_holder(out)
    runs = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name.removeprefix(STAGING)):
        if entry.name.startswith(STAGING):
            state = resume_state(entry) or {}
            start = read_json(entry / "start.json") or {}
            status = "running" if busy and busy.get("run") == entry.name.removeprefix(STAGING) else "unfinished"
            runs.append(RunInfo(entry.name.removeprefix(STAGING), entry, status, start,
                                epochs_done=int(state.get("epoch", -1)) + 1))
        elif (entry / RECORD).is_file():
            record = read_json(entry / RECORD)
            why = record_problem(record)
            status = "damaged" if why else "stopped" if record.get("interrupted") else "complete"
            runs.append(RunInfo(entry.name, entry, status, {"damaged": why} if why else record,
                                current=current is not None and entry.resolve() == current.resolve()))
    return runs


def record_problem(record: Optional[dict]) -> Optional[str]:
    """Why a run.json cannot be trusted (not an object, a field of the wrong kind or out of range), or None.
    A damaged record is listed as damaged, never as complete, and its figures are never shown."""
    if record is None:
        return "run.json is not a readable JSON object"
    checks = {"test_accuracy": lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                                       and 0.0 <= v <= 1.0),
              "signs": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
              "epochs_run": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
              "interrupted": lambda v: v is None or isinstance(v, bool),
              "files": lambda v: isinstance(v, dict) and all(isinstance(k, str) and isinstance(d, str)
                                                            for k, d in v.items()),
              "created": lambda v: v is None or isinstance(v, str),
              "data": lambda v: v is None or isinstance(v, str),
              "name": lambda v: v is None or isinstance(v, str)}
    for key, good in checks.items():
        if not good(record.get(key)):
            return f"run.json: {key} = {str(record.get(key))[:40]!r} is not valid"
    return None


def find_run(out: Path, which: Optional[str]) -> RunInfo:
    """--resume [RUN_OR_FOLDER]: a run id or name under out/runs, a run folder, or an output folder
    (its newest run: an unfinished one when it is newer than the current run)."""
    if which:
        path = Path(which)
        if path.is_dir() and (path / RUNS).is_dir():
            return find_run(path, None)
        if path.is_dir() and (path.parent.name == RUNS):
            return find_run(path.parent.parent, path.name.removeprefix(STAGING))
        runs = list_runs(out)
        match = [r for r in runs if which in (r.id, r.record.get("name"))]
        if not match:
            raise ConfigError(f"--resume {which}: no run of that id or name in {out / RUNS}, and not a run or "
                              f"output folder; signtrain runs {out} lists them")
        if match[-1].status == "damaged":
            raise ConfigError(f"--resume {which}: that run is damaged ({match[-1].record['damaged']}); it cannot be "
                              f"continued: train a new run")
        if match[-1].status == "unfinished" and match[-1].epochs_done == 0:
            raise ConfigError(f"--resume {which}: that run never finished an epoch, so there is nothing to "
                              f"continue; train a new run")
        return match[-1]
    if not out.is_dir():
        raise ConfigError(f"--resume: nothing to resume in {out} (not a folder of runs); train without --resume "
                          f"first, or give the output folder of a training")
    runs = [r for r in list_runs(out) if r.status in ("complete", "stopped", "unfinished") and
            (r.status != "unfinished" or r.epochs_done > 0)]  # damaged and empty runs hold nothing to resume
    if not runs:
        raise ConfigError(f"--resume: nothing to resume in {out} (no run with a finished epoch); "
                          f"train without --resume first")
    current = [r for r in runs if r.current]
    newest = runs[-1]
    return newest if newest.status == "unfinished" or not current else current[0]


def resume_state(run: Path) -> Optional[dict]:
    """The state a run saved after its last finished epoch (in <output.log_dir>/resume/)."""
    found = next(iter(sorted(run.glob("*/resume/state.json"))), None)
    return read_json(found) if found is not None else None


# ---------------------------------------------------------------- writing a run


def new_run_id(root: Path, name: Optional[str], when: Optional[float] = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    base = f"{stamp}-{name}" if name else stamp
    run_id, k = base, 1
    while (root / run_id).exists() or (root / (STAGING + run_id)).exists():
        k += 1
        run_id = f"{base}-{k}"
    return run_id


@dataclass
class RunWriter:
    """Stages one run under out/runs/.staging-<id>/ and commits it.  Use as a context manager:
    the output folder is locked for the writer's lifetime."""

    out: Path
    run_id: str
    staging: Path
    name: Optional[str] = None
    replaces: list[Path] = field(default_factory=list)  # runs deleted after the commit (--overwrite)
    dropped: list[str] = field(default_factory=list)    # unfinished runs with no finished epoch, removed
    committed: Optional[Path] = None
    _lock: Optional[Lock] = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, out: Path, name: Optional[str] = None, overwrite: bool = False,
             resume: Optional[RunInfo] = None, carry: tuple[str, ...] = ()) -> Iterator["RunWriter"]:
        """resume: continue that run (an unfinished one in place; a committed one as a new run that
        starts from copies of its `carry` files: resume state, history, checkpoint...)."""
        out = Path(out)
        check_name(name)
        fresh = not out.exists()
        _make_output_folder(out)
        root = out / RUNS
        in_place = resume is not None and resume.status == "unfinished"
        run_id = resume.id if in_place else new_run_id(root, name)
        lock = Lock(out, run_id)
        lock.acquire()
        try:
            same_name = [r for r in list_runs(out) if r.record.get("name") == name and r.status != "unfinished"] \
                if name else []
            if same_name and not overwrite:
                raise ConfigError(f"--name {name}: {out} already holds a run of that name ({same_name[-1].path}); "
                                  f"choose another name, or pass --overwrite to replace it")
            _adopt_legacy(out)
            dropped = _drop_empty_staging(root, keep=run_id)
            staging = root / (STAGING + run_id)
            if in_place:
                _remove_partials(staging)
            else:
                staging.mkdir(parents=True)
                if resume is not None:
                    _copy(resume.path, staging, carry)
            replaces = [r.path for r in same_name]
            if overwrite:
                previous = current_run(out)
                replaces += [previous] if previous is not None else []
            writer = cls(out, run_id, staging, name, replaces, dropped, _lock=lock)
            try:
                yield writer
            finally:
                if writer.committed is None and resume_state(staging) is None:
                    writer.discard()  # nothing a later --resume could use
        finally:
            lock.release()
            if fresh and not any((out / RUNS).iterdir()):  # a first run that left nothing: no trace either
                shutil.rmtree(out, ignore_errors=True)

    def path(self, relative: str) -> Path:
        return self.staging / relative

    def discard(self) -> None:
        """Forget a run that produced nothing worth keeping (stopped before its first epoch)."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def commit(self, record: dict, aliases: tuple[str, ...], current: bool = True) -> Path:
        """run.json (the record plus every file's checksum) written last, then one rename makes the
        run whole, then (current) one more makes it the run the output folder shows.  Returns the
        committed run folder."""
        _remove_partials(self.staging)
        files = {p.relative_to(self.staging).as_posix(): store.file_digest(p)
                 for p in sorted(self.staging.rglob("*")) if p.is_file() and RECORD != p.name}
        payload = {**record, "id": self.run_id, "name": self.name, "files": files}
        store.write_json(self.staging / RECORD, payload)
        store.fault_point("commit:before-rename")
        final = self.staging.parent / self.run_id
        os.rename(self.staging, final)
        fsync_dir(final.parent)
        store.fault_point("commit:after-rename")
        if current:
            make_current(self.out, final, aliases)
            store.fault_point("commit:after-switch")
        self.committed = final
        for old in self.replaces:
            if old.resolve() != final.resolve():
                shutil.rmtree(old, ignore_errors=True)
        return final


def make_current(out: Path, run: Path, aliases: tuple[str, ...]) -> None:
    """Point out/current at run (one atomic rename) behind stable aliases out/<name> -> current/<name>."""
    names = tuple(dict.fromkeys((*aliases, *ALIASES_EXTRA)))
    if _symlinks_work(out):
        for name in names:
            _ensure_alias(out, name)
        tmp = out / f".{CURRENT}-{secrets.token_hex(4)}"
        os.symlink(Path(RUNS) / run.name, tmp, target_is_directory=True)
        os.replace(tmp, out / CURRENT)
        fsync_dir(out)
        return
    # no symbolic links here: copies of the artifacts at the top level, then the pointer file last
    for name in aliases:
        source = run / name
        if source.is_file():
            store.write_with(out / name, lambda tmp, s=source: shutil.copyfile(s, tmp))
    store.write_with(out / POINTER, lambda tmp: tmp.write_text(run.name + "\n", encoding="utf-8"))


def _ensure_alias(out: Path, name: str) -> None:
    alias, target = out / name, Path(CURRENT) / name
    if alias.is_symlink() and os.readlink(alias) == str(target):
        return
    if alias.exists() and not alias.is_symlink():
        raise RunError(f"{alias} is in the way of the run layout (a file or folder signtrain did not make); "
                       f"move it elsewhere or train into another folder with --output")
    tmp = out / f".{name.replace('/', '_')}-{secrets.token_hex(4)}"
    os.symlink(target, tmp)
    os.replace(tmp, alias)


_SYMLINKS: dict[str, bool] = {}


def _symlinks_work(out: Path) -> bool:
    key = str(out.resolve())
    if key not in _SYMLINKS:
        probe = out / f".symlink-probe-{secrets.token_hex(4)}"
        try:
            os.symlink(RUNS, probe, target_is_directory=True)
            probe.unlink()
            _SYMLINKS[key] = True
        except (OSError, NotImplementedError, AttributeError):
            _SYMLINKS[key] = False
    return _SYMLINKS[key]


def _make_output_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise RunError(f"--output {out}: a file is there, not a folder; choose a folder for the model")
    try:
        (out / RUNS).mkdir(parents=True, exist_ok=True)
        probe = out / f".write-probe-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunError(f"cannot write to {out} ({exc.strerror or exc}); choose a writable folder with --output "
                       f"(or free space there)") from None


def _adopt_legacy(out: Path) -> None:
    """An output folder written by signtrain < 0.2 holds the artifacts at its top level: keep that
    model as a run of its own, so the new layout never overwrites it."""
    meta = sorted(p for p in out.glob("*.meta.json") if not p.is_symlink())
    if not meta or (out / CURRENT).exists() or (out / POINTER).exists():
        return
    legacy = read_json(meta[0]) or {}
    when = meta[0].stat().st_mtime
    run_id = new_run_id(out / RUNS, "earlier", when)
    staging = out / RUNS / (STAGING + run_id)
    staging.mkdir(parents=True)
    keep = [p for p in out.iterdir() if not p.name.startswith(".") and p.name != RUNS and not p.is_symlink()]
    for item in keep:
        shutil.move(str(item), staging / item.name)
    store.write_json(staging / RECORD, {
        "id": run_id, "name": "earlier", "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)),
        "legacy": True, "data": legacy.get("data", {}).get("path"),
        "signs": len(legacy.get("labels", [])), "files": {}})
    final = out / RUNS / run_id
    os.rename(staging, final)
    model_file = legacy.get("model_file", "lstm_model.h5")
    names = [p.name for p in final.iterdir() if p.name != RECORD]
    make_current(out, final, tuple(dict.fromkeys([model_file, *names])))


def _drop_empty_staging(root: Path, keep: str) -> list[str]:
    """Staging folders of dead runs that never finished an epoch hold nothing to resume. -> their ids"""
    dropped = []
    for entry in sorted(root.glob(STAGING + "*")):
        if entry.name != STAGING + keep and resume_state(entry) is None:
            shutil.rmtree(entry, ignore_errors=True)
            dropped.append(entry.name.removeprefix(STAGING))
    return dropped


def _remove_partials(folder: Path) -> None:
    for stray in folder.rglob("*.partial*"):
        if stray.is_dir():
            shutil.rmtree(stray, ignore_errors=True)
        else:
            stray.unlink(missing_ok=True)


def _copy(run: Path, staging: Path, carry: tuple[str, ...]) -> None:
    """Resuming a committed run starts a new run from the old one's last epoch; the old one stays."""
    for relative in carry:
        source = run / relative
        if source.is_dir():
            shutil.copytree(source, staging / relative)
        elif source.is_file():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / relative)


def record_summary(**fields: Any) -> dict:
    """The part of run.json that `signtrain runs` lists."""
    return {"created": time.strftime("%Y-%m-%d %H:%M:%S"), **fields}
