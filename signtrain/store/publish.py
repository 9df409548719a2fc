"""Publishing: the one way a file, a folder or a set of files appears under its final name.

A writer stages its result beside the destination (`.NAME.partial-TOKEN`, same folder, so the
rename never crosses a file system), makes it whole, then `place` publishes it by one rename:
a reader sees the old result or the new one, never half of one.  A destination that is a link
is replaced as a link (its target is never written), a folder is never replaced by a file nor a
file by a folder, and a device, FIFO or socket is refused.  A set of files that belong together
(an export: the model and its sidecar) is published as a `Unit`: a journal lists the staged
files first, so a writer killed half-way is rolled forward by the next writer into that folder.
`clean` recognises what a killed writer left (partials, asides, journals) and tidies it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
from pathlib import Path
from typing import Optional

from signtrain.errors import RunError

PARTIAL = ".partial-"
ASIDE = ".replaced-"
JOURNAL = ".publish-"


def fault_point(name: str) -> None:
    from signtrain.store.files import fault_point as point

    point(name)


def staging_path(dest: Path, suffix: Optional[str] = None) -> Path:
    """A fresh name beside dest for staging it (nothing is created); it keeps dest's suffix, which some
    writers check (a Keras save wants .h5 or .keras)."""
    dest = Path(dest)
    if suffix is None:
        suffix = ".weights.h5" if dest.name.endswith(".weights.h5") else dest.suffix
    return dest.parent / f".{dest.name}{PARTIAL}{secrets.token_hex(4)}{suffix}"


def target_of(path: str) -> str:
    """The destination a staging path stands for (.NAME.partial-TOKEN.sfx -> NAME), else the path itself."""
    folder, _, name = str(path).rpartition("/")
    if name.startswith(".") and PARTIAL in name:
        name = name[1:].rsplit(PARTIAL, 1)[0]
    return f"{folder}/{name}" if folder else name


def check_target(dest: Path, folder: bool) -> None:
    """dest may be written as a file (folder=False) or a folder: refuse a device, FIFO or socket, a folder
    where a file is meant and a file where a folder is meant, naming it."""
    try:
        mode = os.lstat(dest).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise RunError(f"{dest}: cannot be examined ({exc.strerror or exc}); choose another place") from None
    if stat.S_ISLNK(mode):
        return  # the link itself is replaced; what it points to is never written
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise RunError(f"{dest}: not a regular file or folder (a device, FIFO or socket); signtrain will not write "
                       f"over it: choose another name")
    if stat.S_ISDIR(mode) and not folder:
        raise RunError(f"{dest}: a folder is there, not a file; remove it or choose another name")
    if stat.S_ISREG(mode) and folder:
        raise RunError(f"{dest}: a file is there, not a folder; remove it or choose another name")


def check_apart(dest: Path, *sources: Path) -> None:
    """Refuse a destination that is, contains, or lies inside any source: replacing it would destroy what
    is being read (links resolved on both sides)."""
    real = Path(os.path.realpath(dest))
    for source in sources:
        src = Path(os.path.realpath(source))
        if real == src:
            raise RunError(f"{dest} is the source itself; choose another destination")
        if src in real.parents:
            raise RunError(f"{dest} lies inside the source {source}; choose a destination outside it")
        if real in src.parents:
            raise RunError(f"{dest} contains the source {source}; replacing it would delete the source: choose "
                           f"another destination")


def place(staged: Path, dest: Path) -> None:
    """Publish staged (a whole file or folder beside dest) as dest by one rename; an older dest is
    removed only once the new one is in."""
    staged, dest = Path(staged), Path(dest)
    folder = staged.is_dir() and not staged.is_symlink()
    check_target(dest, folder)
    if not folder and not (dest.is_dir() and not dest.is_symlink()):
        os.replace(staged, dest)  # atomic for a file, also over a link (the link is replaced)
        return
    if not os.path.lexists(dest):
        os.rename(staged, dest)
        return
    token = staged.name.rsplit(PARTIAL, 1)[-1] if PARTIAL in staged.name else secrets.token_hex(4)
    aside = dest.parent / f".{dest.name}{ASIDE}{token}"
    os.rename(dest, aside)
    fault_point(f"place:{dest.name}")
    os.rename(staged, dest)
    _remove(aside)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


class Unit:
    """Files that belong together, published together into one folder: stage each with
    `unit.stage(name)`, then `unit.publish()`.  The journal written first names every staged file, so
    a kill during the renames is finished by the next `clean` of that folder (roll forward)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = Path(folder), name
        self.staged: dict[str, Path] = {}

    def stage(self, final_name: str, suffix: Optional[str] = None) -> Path:
        path = staging_path(self.folder / final_name, suffix)
        self.staged[final_name] = path
        return path

    def publish(self) -> None:
        for final_name in self.staged:
            check_target(self.folder / final_name, self.staged[final_name].is_dir())
        journal = self.folder / f"{JOURNAL}{self.name}.json"
        entries = [[path.name, final_name] for final_name, path in self.staged.items()]
        tmp = staging_path(journal)
        tmp.write_text(json.dumps(entries), encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, journal)
        fsync_dir(self.folder)
        fault_point(f"publish:{self.name}:journal")
        for staged_name, final_name in entries:
            place(self.folder / staged_name, self.folder / final_name)
            fault_point(f"publish:{self.name}:{final_name}")
        journal.unlink()

    def discard(self) -> None:
        for path in self.staged.values():
            _remove(path)


def clean(folder: Path, only: Optional[str] = None) -> list[str]:
    """Finish or remove what a killed writer left in folder (only: what it left for that one name):
    journals are rolled forward, a folder set aside comes back where its replacement never arrived,
    partials and asides are removed.  -> what was done, one line each.  Call it holding the folder's
    lock (or, with only, as the one writer of that name)."""
    folder = Path(folder)
    done: list[str] = []
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return done
    for name in entries:
        if only is None and name.startswith(JOURNAL) and name.endswith(".json"):
            done += _roll_forward(folder / name)
    for name in sorted(os.listdir(folder)):
        if not name.startswith(".") or (PARTIAL not in name and ASIDE not in name):
            continue
        if only is not None and not name.startswith((f".{only}{PARTIAL}", f".{only}{ASIDE}")):
            continue
        path = folder / name
        if not os.path.lexists(path):
            continue  # already moved below
        if ASIDE in name:
            original, token = name[1:].rsplit(ASIDE, 1)
            if not os.path.lexists(folder / original):
                # killed between the two renames of place(): the staged replacement is whole, so it goes in
                staged = [folder / n for n in os.listdir(folder) if n.startswith(f".{original}{PARTIAL}{token}")]
                os.rename(staged[0] if staged else path, folder / original)
                done.append(f"{original}: " + ("published (an interrupted replacement, finished)" if staged
                                               else "restored (its replacement never arrived)"))
                if staged:
                    _remove(path)
                continue
        _remove(path)
        done.append(f"{name}: removed (left by a writer that was stopped)")
    return done


def settle(folder: Path) -> None:
    """Before reading from folder: a unit whose publishing was cut short (its journal is there, every
    staged file whole) is finished first, so a reader sees the earlier unit or the new one, never a
    mix.  Waits briefly for a live writer; cheap when there is no journal."""
    from signtrain.store.locks import FolderLock

    try:
        journals = [n for n in os.listdir(folder) if n.startswith(JOURNAL) and n.endswith(".json")]
    except OSError:
        return
    if not journals or not os.access(folder, os.W_OK):
        return
    with FolderLock(Path(folder), f"{folder} is being written", wait=10.0):
        for name in journals:
            if (Path(folder) / name).exists():
                _roll_forward(Path(folder) / name)


def _roll_forward(journal: Path) -> list[str]:
    done = []
    try:
        entries = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        entries = []
    for staged_name, final_name in entries if isinstance(entries, list) else []:
        staged = journal.parent / str(staged_name)
        if os.path.lexists(staged) and "/" not in str(final_name) and not str(final_name).startswith("."):
            place(staged, journal.parent / str(final_name))
            done.append(f"{final_name}: published (an interrupted export, finished)")
    journal.unlink()
    return done


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
