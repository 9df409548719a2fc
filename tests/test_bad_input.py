"""The bad-input catalogue: every class of broken input a real user can hand signtrain.

Each case builds a broken tree (synthetic, or a copy of real recordings from ../shared/data)
or a broken model, runs the command as a user would, and checks: the exit code, no
traceback anywhere, a message that names the file or key, and that nothing the user had -
the inputs and any earlier outputs - changed.  Then the config loader and --set are fuzzed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from conftest import REAL_DATA, TINY_MODEL, write_tree
from typer.testing import CliRunner

from signtrain.cli.app import app
from signtrain.config import all_keys, load_config
from signtrain.errors import ConfigError

runner = CliRunner()
TINY = [x for item in TINY_MODEL for x in ("--set", item)] + ["--set", "train.epochs=1"]


# ---------------------------------------------------------------- building broken things


def base(tmp: Path, features: int = 63, sequences: int = 10) -> Path:
    return write_tree(tmp / "MP", signs=("a", "b", "c"), sequences=sequences, frames=8, features=features)


def frame(tmp: Path, writer: Callable[[Path], None], where: str = "a/1/4.npy") -> tuple[Path, str]:
    root = base(tmp)
    target = root / where
    if target.exists() or target.is_symlink():
        target.unlink()
    writer(target)
    return root, where


def garbage(p): p.write_bytes(b"\x00\x01 definitely not numpy " * 3)
def empty(p): p.write_bytes(b"")
def truncated(p): np.save(p, np.ones(63)); p.write_bytes(p.read_bytes()[:-40])
def pickled(p): np.save(p, np.array([{"x": 1}], dtype=object), allow_pickle=True)
def strings(p): np.save(p, np.array(["a", "b"]))
def matrix(p): np.save(p, np.ones((2, 63)))
def scalar(p): np.save(p, np.float64(3.0))
def short(p): np.save(p, np.ones(10))
def fifo(p): os.mkfifo(p)
def device(p): os.symlink("/dev/zero", p)
def folder(p): p.mkdir()
def nan(p): v = np.ones(63); v[5] = np.nan; np.save(p, v)
def inf(p): v = np.ones(63); v[5] = -np.inf; np.save(p, v)
def huge(p): np.save(p, np.full(63, 1e300))
def giant(p): p.write_bytes(b""); os.truncate(p, (1 << 30) + 10)  # sparse: no disk used


def frames_renamed(tmp: Path, names: Callable[[int], int]) -> Path:
    root = base(tmp)
    seq = root / "b" / "2"
    for f in list(seq.iterdir()):
        f.rename(seq / f"renamed-{names(int(f.stem))}")
    for f in list(seq.iterdir()):
        f.rename(seq / f"{f.name.removeprefix('renamed-')}.npy")
    return root


def after(_, value):
    """Do something for its effect, then give value (builds in one expression)."""
    return value


def array_tree(tmp: Path, writer: Callable[[Path], None]) -> Path:
    root = tmp / "arrays"
    rng = np.random.default_rng(0)
    for sign in ("x", "y"):
        (root / sign).mkdir(parents=True)
        for i in range(10):
            np.save(root / sign / f"{i}.npy", rng.normal(size=(8, 63)))
    writer(root / "x" / "3.npy")
    return root


def csv_tree(tmp: Path, content: bytes) -> Path:
    root = tmp / "csv"
    for sign in ("eins", "zwei"):
        (root / sign).mkdir(parents=True)
        for i in range(4):
            (root / sign / f"{i}.csv").write_text("a;b;c\n1;2;3\n4;5;6\n")
    (root / "eins" / "2.csv").write_bytes(content)
    return root


def islr_tree(tmp: Path, column: str = "", value=None, sign: str = "hello", index_bytes: bytes = b"") -> Path:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    root = tmp / "islr"
    lines = ["path,participant_id,sequence_id,sign"]
    for k, name in enumerate(["hello", "hello", sign, "bye", "bye", "bye"]):
        rel = f"files/{k}.parquet"
        n = 2 * 21
        cols = {"frame": [0] * 21 + [1] * 21, "type": ["right_hand"] * n, "landmark_index": list(range(21)) * 2,
                "x": [0.5] * n, "y": [0.4] * n, "z": [0.0] * n}
        if column and k == 2:
            cols[column] = value(n)
        (root / "files").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(cols), root / rel)
        lines.append(f"{rel},{k % 2},{k},{name}")
    (root / "train.csv").write_bytes(index_bytes or ("\n".join(lines) + "\n").encode())
    return root


def npz_file(tmp: Path, damage: Callable[[Path], None]) -> Path:
    from signtrain.config import load_config as lc
    from signtrain.data.convert import convert

    root = base(tmp / "src")
    out = tmp / "all.npz"
    convert(lc(None, ["data.features_per_frame=null"], data=str(root)).data, out)
    damage(out)
    return out


def cut_zip(p): p.write_bytes(p.read_bytes()[:300])


def drop_member(p):
    with np.load(p) as z:
        parts = {k: z[k] for k in z.files if k != "lengths"}
    np.savez(p, **parts)
    Path(str(p)).with_suffix(".npz")


def skew(p):
    with np.load(p) as z:
        parts = {k: z[k] for k in z.files}
    parts["y"] = parts["y"] + 50
    np.savez(p, **parts)


def real_copy(tmp: Path, name: str, keep: int = 4) -> Path:
    source = REAL_DATA / name
    if not source.is_dir():
        pytest.skip(f"real data not present: {source}")
    root = tmp / name
    for sign in sorted(p for p in source.iterdir() if p.is_dir())[:3]:
        for seq in sorted(sign.iterdir())[:keep]:
            if seq.is_dir():
                shutil.copytree(seq, root / sign.name / seq.name)
            else:
                (root / sign.name).mkdir(parents=True, exist_ok=True)
                shutil.copy(seq, root / sign.name / seq.name)
    return root


def real_frame(tmp: Path, writer) -> tuple[Path, str]:
    root = real_copy(tmp, "dgs_mpdata")
    seq = sorted(p for p in (root / sorted(os.listdir(root))[0]).iterdir())[1]
    target = sorted(seq.iterdir(), key=lambda p: int(p.stem))[3]
    target.unlink()
    writer(target)
    return root, str(target.relative_to(root))


# ---------------------------------------------------------------- checking


def snapshot(root: Path) -> dict[str, str]:
    """Every file's content hash (links and special files by kind), excluding the output lock file."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.name == ".lock" or rel.startswith(".cache"):
            continue
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif stat.S_ISREG(path.lstat().st_mode):
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                h.update(fh.read(1 << 20))
            out[rel] = h.hexdigest() + f":{path.stat().st_size}"
        else:
            out[rel] = "special" if not path.is_dir() else "dir"
    return out


@dataclass
class Case:
    id: str
    build: Callable[[Path], tuple[list[str], str]]  # tmp -> (args, text the message must name)
    code: int
    creates: tuple[str, ...] = ()                   # outputs the command may add


def run_case(case: Case, tmp_path: Path) -> None:
    args, named = case.build(tmp_path)
    before = snapshot(tmp_path)
    result = runner.invoke(app, args)
    text = result.stdout + result.stderr
    assert "Traceback" not in text and not (result.exception and not isinstance(result.exception, SystemExit)), text
    assert result.exit_code == case.code, text
    assert named in text, f"{named!r} not named in: {text}"
    after = snapshot(tmp_path)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert {c for c in changed if not c.startswith(case.creates or ("\0",))} == set(), changed


def validate(build_tree, expect_exit=1, why=""):
    def build(tmp):
        root, where = build_tree(tmp)
        return ["validate-data", str(root), "--no-cache"], f"{where}: {why}" if why else where
    return build


def train_on(build_tree, why, *extra):
    def build(tmp):
        root, where = build_tree(tmp)
        out = tmp / "models"
        _previous_run(tmp, out)
        return ["train", "--data", str(root), "--output", str(out), "--quiet", "--no-cache",
                "--set", "data.features_per_frame=null", "--set", "data.sequence_length=8", *TINY, *extra], \
            f"{where}: {why}"
    return build


_RUN_CACHE: dict[str, Path] = {}


def _previous_run(tmp: Path, out: Path) -> None:
    """An earlier good run in the output folder, which a failed command must leave as it was."""
    from conftest import tiny_config

    from signtrain.training.run import train

    if "run" not in _RUN_CACHE:
        import tempfile

        scratch = Path(tempfile.mkdtemp(prefix="signtrain-previous-"))
        data = write_tree(scratch / "data", signs=("p", "q"), sequences=8, frames=8, features=63)
        train(tiny_config(data, scratch / "models", frames=8, epochs=1))
        _RUN_CACHE["run"] = scratch / "models"
    shutil.copytree(_RUN_CACHE["run"], out, symlinks=True)


def rel(root_where):
    root, where = root_where
    return root, str(root / where)


FRAME_DEFECTS = [  # (writer, the reason the report gives)
    (garbage, "not a .npy file"), (empty, "empty file (0 bytes)"), (truncated, "truncated"),
    (pickled, "a pickled object array (not loaded"), (strings, "wrong dtype <U1"),
    (matrix, "wrong shape (2, 63)"), (scalar, "wrong shape ()"), (short, "10 values, the other frames have"),
    (fifo, "not a regular file (a FIFO)"), (device, "not a regular file (a character device)"),
    (folder, "not a regular file (a folder)"), (nan, "NaN or infinite values"), (inf, "NaN or infinite values"),
    (huge, "a value beyond the float32 range"), (giant, "far too large for a landmark recording"),
]

CASES: list[Case] = []
TRAIN_TOO = {"garbage", "truncated", "pickled", "short", "fifo", "device", "nan", "huge", "giant"}
for writer, why in FRAME_DEFECTS:
    CASES.append(Case(f"validate-{writer.__name__}", validate(lambda t, w=writer: rel(frame(t, w)), why=why), 1))
    if writer.__name__ in TRAIN_TOO:  # train goes through the same readers: one of each kind of reason
        CASES.append(Case(f"train-{writer.__name__}", train_on(lambda t, w=writer: rel(frame(t, w)), why), 1))
def huge126(p): np.save(p, np.full(126, 1e300))


for writer, why in FRAME_DEFECTS[:4] + FRAME_DEFECTS[7:8] + [(huge126, "a value beyond the float32 range")]:
    CASES.append(Case(f"real-{writer.__name__}", validate(lambda t, w=writer: rel(real_frame(t, w)), why=why), 1))


def _cases(*more: Case) -> None:
    CASES.extend(more)


def _args(*args):
    return lambda tmp: ([str(a) for a in args], "")


_cases(
    Case("timestamp-frame-names", lambda t: (["validate-data", str(frames_renamed(t, lambda i: 1700000000000 + 33 * i)),
                                             "--no-cache"], "timestamps?"), 0),
    Case("one-stray-huge-frame-number", lambda t: (["validate-data", str(frames_renamed(
        t, lambda i: 99999999 if i == 7 else i)), "--no-cache"], "0 to 99999999"), 0),
    Case("frame-numbered-from-a-large-offset-with-a-gap", lambda t: (["validate-data", str(frames_renamed(
        t, lambda i: 1700000000000 + i + (i >= 4))), "--no-cache"], "1 frame number(s) absent (1700000000004)"), 0),
    Case("missing-frames-named", lambda t: (lambda r: (["validate-data", str(r), "--no-cache"],
                                                       "1 frame number(s) absent (3)"))(
        frames_renamed(t, lambda i: i + 1 if i >= 3 else i)), 0),
    Case("array-garbage", lambda t: (["validate-data", str(array_tree(t, garbage)), "--no-cache"],
                                     "x/3.npy: not a .npy file"), 1),
    Case("array-3d", lambda t: (["validate-data", str(array_tree(t, lambda p: np.save(p, np.ones((2, 3, 4))))),
                                 "--no-cache"], "wrong shape (2, 3, 4)"), 1),
    Case("array-pickled", lambda t: (["validate-data", str(array_tree(t, pickled)), "--no-cache"],
                                     "pickled object array"), 1),
    Case("array-train-drops-with-policy", lambda t: (["train", "--data", str(array_tree(t, garbage)), "--output",
                                                      str(t / "models"), "--quiet", "--no-cache", "--set",
                                                      "data.features_per_frame=null", "--set",
                                                      "data.bad_frame=drop_sequence", "--set",
                                                      "split.test_fraction=0.2", *TINY],
                                                     "1 unreadable recording files: left out"), 0, ("models",)),
    Case("one-sign", lambda t: (["validate-data", str(write_tree(t / "one", signs=("solo",), sequences=6, frames=5,
                                                                  features=63)), "--no-cache"], "only one sign"), 1),
    Case("one-sign-train", lambda t: (["train", "--data", str(write_tree(t / "one", signs=("solo",), sequences=6,
                                                                         frames=5, features=63)),
                                       "--output", str(t / "m"), "--set", "data.features_per_frame=null"],
                                      "only one sign"), 1),
    Case("empty-root", lambda t: after((t / "empty").mkdir(), (["validate-data", str(t / "empty")],
                                                                "no sequences found")), 1),
    Case("missing-root", _args("validate-data", "/nonexistent/MP_Data"), 1),
    Case("layout-mismatch", lambda t: (["train", "--data", str(base(t)), "--output", str(t / "m"), "--set",
                                        "data.features_per_frame=225"], "data.features_per_frame=63"), 1),
    Case("csv-not-utf8", lambda t: (["validate-data", str(csv_tree(t, "a;b;c\n\xe9;2;3\n".encode("latin-1"))),
                                     "--no-cache"], "eins/2.csv: not UTF-8 text (byte 0xe9"), 1),
    Case("csv-word", lambda t: (["validate-data", str(csv_tree(t, b"a;b;c\n1;two;3\n")), "--no-cache"],
                                "eins/2.csv: row 2"), 1),
    Case("csv-empty", lambda t: (["validate-data", str(csv_tree(t, b"")), "--no-cache"], "eins/2.csv: empty file"), 1),
    Case("csv-header-only", lambda t: (["validate-data", str(csv_tree(t, b"a;b;c\n")), "--no-cache"],
                                       "header only"), 1),
    Case("csv-beyond-float32", lambda t: (["validate-data", str(csv_tree(t, b"a;b;c\n1;1e300;3\n")), "--no-cache"],
                                          "eins/2.csv (row 2): a value beyond the float32 range"), 1),
    Case("parquet-x-strings", lambda t: (["validate-data", str(islr_tree(t, "x", lambda n: ["a"] * n)),
                                          "--no-cache"], "column x holds string"), 1),
    Case("parquet-frame-strings", lambda t: (["validate-data", str(islr_tree(t, "frame", lambda n: ["0"] * n)),
                                              "--no-cache"], "column frame holds string"), 1),
    Case("parquet-index-nan", lambda t: (["validate-data", str(islr_tree(
        t, "landmark_index", lambda n: [float("nan")] + [1.0] * (n - 1))), "--no-cache"],
        "column landmark_index holds NaN"), 1),
    Case("parquet-index-not-utf8", lambda t: (["validate-data", str(islr_tree(
        t, index_bytes="path,participant_id,sequence_id,sign\nf.parquet,1,1,caf\xe9\n".encode("latin-1"))),
        "--no-cache"], "train.csv: not UTF-8 text"), 1),
    Case("parquet-index-columns", lambda t: (["validate-data", str(islr_tree(t, index_bytes=b"path,sign\nx,y\n")),
                                              "--no-cache"], "missing column(s) participant_id"), 1),
    Case("parquet-missing-file", lambda t: (lambda r: after((r / "files" / "3.parquet").unlink(), (
        ["validate-data", str(r), "--no-cache"], "3.parquet: listed in train.csv but not on disk")))(islr_tree(t)), 1),
    Case("parquet-garbage", lambda t: (lambda r: after((r / "files" / "4.parquet").write_bytes(b"PAR1 nope"), (
        ["validate-data", str(r), "--no-cache"], "4.parquet: unreadable parquet")))(islr_tree(t)), 1),
    Case("convert-sign-escapes", lambda t: (["convert", str(islr_tree(t, sign="../../evil")), str(t / "out")],
                                            "'../../evil' cannot be a folder name"), 1),
    Case("npz-truncated", lambda t: (["validate-data", str(npz_file(t, cut_zip))], "all.npz: not a readable"), 1),
    Case("npz-missing-member", lambda t: (["validate-data", str(npz_file(t, drop_member))], "all.npz: not a readable"),
         1),
    Case("npz-skewed", lambda t: (["validate-data", str(npz_file(t, skew))], "do not fit together"), 1),
    Case("convert-existing-npz", lambda t: (["convert", str(base(t / "s")), str(npz_file(t, lambda p: None))],
                                            "already exists"), 1),
    Case("convert-existing-folder", lambda t: (["convert", str(base(t / "s")), str(base(t / "d"))],
                                               "already exists"), 1),
    Case("convert-policy-stops", lambda t: (lambda r: (["convert", str(r[0]), str(t / "out.npz")], r[1]))(
        rel(frame(t, garbage))), 1),
    Case("csv-columns-word", lambda t: (["validate-data", str(base(t)), "--set", "data.csv_columns=abc"],
                                        "data.csv_columns"), 2),
    Case("csv-columns-three", lambda t: (["validate-data", str(base(t)), "--set", "data.csv_columns=1:2:3"],
                                         "data.csv_columns"), 2),
    Case("sequence-length-too-large", lambda t: (["validate-data", str(base(t)), "--no-cache", "--set",
                                                  "data.sequence_length=2000000000"], "data.sequence_length"), 2),
    Case("output-file-escapes-the-run", lambda t: (["train", "--data", str(base(t)), "--set",
                                                    "output.model_file=../evil.h5"], "output.model_file"), 2),
    Case("output-file-suffix", lambda t: (["train", "--data", str(base(t)), "--set", "output.model_file=model.txt"],
                                          "must end in .h5 or .keras"), 2),
    Case("signs-listed-twice", lambda t: (["validate-data", str(base(t)), "--set", "data.signs=[a, b, a]"],
                                          "data.signs lists a more than once"), 2),
    Case("example-data-features", lambda t: (["example-data", str(t / "ex"), "--features", "100"], "--features"), 2),
    Case("unknown-key", _args("validate-data", ".", "--set", "data.sequense_length=3"), 2),
    Case("config-not-yaml", lambda t: after((t / "c.yaml").write_text("data: [1, 2\n"), (
        ["validate-data", str(base(t)), "--config", str(t / "c.yaml")], "not valid YAML")), 2),
    Case("config-not-utf8", lambda t: after((t / "c.yaml").write_bytes(b"data:\n  path: caf\xe9\n"), (
        ["validate-data", str(base(t)), "--config", str(t / "c.yaml")], "not a UTF-8 text file")), 2),
    Case("config-a-list", lambda t: after((t / "c.yaml").write_text("- 1\n- 2\n"), (
        ["validate-data", str(base(t)), "--config", str(t / "c.yaml")], "must be a mapping")), 2),
    Case("train-output-is-a-file", lambda t: after((t / "m").write_text("x"), (
        ["train", "--data", str(base(t)), "--output", str(t / "m"), "--set", "data.features_per_frame=null"],
        "a file is there, not a folder")), 1),
)


# models broken after training: one small trained run, copied per case
def trained(tmp: Path) -> Path:
    out = tmp / "models"
    _previous_run(tmp, out)
    return out


def edit_meta(change: Callable[[dict], dict], keep_digest: bool = False):
    def build(tmp):
        out = trained(tmp)
        meta_path = (out / "lstm_model.meta.json").resolve()
        meta = change(json.loads(meta_path.read_text()))
        if keep_digest:
            from signtrain.store.metadata import content_digest

            meta["digest"] = content_digest(meta)
        meta_path.write_text(json.dumps(meta) if isinstance(meta, dict) else meta)
        return ["evaluate", str(out / "lstm_model.h5")], "lstm_model.meta.json"
    return build


def legacy(meta: dict, **changes) -> dict:
    """The same metadata as an earlier signtrain wrote it (no checksums), changed."""
    meta = {k: v for k, v in meta.items() if k not in ("digest", "files", "format_version")}
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


def recording(tmp: Path, writer) -> Path:
    seq = tmp / "rec"
    seq.mkdir()
    for t in range(8):
        writer(seq / f"{t}.npy")
    return seq


_cases(
    Case("meta-empty-object", edit_meta(lambda m: {}), 1),
    Case("meta-not-json", edit_meta(lambda m: "{not json"), 1),
    Case("meta-hand-edited", edit_meta(lambda m: {**m, "labels": ["q", "p"]}), 1),
    Case("meta-no-labels", edit_meta(lambda m: legacy(m, labels=None)), 1),
    Case("meta-fewer-labels", edit_meta(lambda m: legacy(m, labels=["p"])), 1),
    Case("meta-bad-length", edit_meta(lambda m: legacy(m, sequence_length="many")), 1),
    Case("meta-edited-with-new-digest", edit_meta(lambda m: {**m, "labels": ["p", "q", "r"]}, keep_digest=True), 1),
    Case("model-file-gone", lambda t: (lambda out: after((out / "lstm_model.h5").resolve().unlink(), (
        ["evaluate", str(out / "lstm_model.h5")], "lstm_model.h5")))(trained(t)), 1),
    Case("predict-all-frames-unreadable", lambda t: (
        ["predict", str(trained(t) / "lstm_model.h5"), str(recording(t, garbage))], "no readable frame"), 1),
    Case("predict-one-frame-unreadable", lambda t: (lambda rec: after((rec / "2.npy").write_bytes(b"x"), (
        ["predict", str(trained(t) / "lstm_model.h5"), str(rec)], "2.npy: not a .npy file")))(
        recording(t, lambda p: np.save(p, np.ones(63)))), 1),
    Case("predict-wrong-width", lambda t: (
        ["predict", str(trained(t) / "lstm_model.h5"), str(recording(t, lambda p: np.save(p, np.ones(126))))],
        "126 (two hands)"), 1),
    Case("predict-missing-recording", lambda t: (["predict", str(trained(t) / "lstm_model.h5"), str(t / "nope.npy")],
                                                 "nope.npy"), 1),
    Case("evaluate-output-is-a-file", lambda t: after((t / "report").write_text("x"), (
        ["evaluate", str(trained(t) / "lstm_model.h5"), "--output", str(t / "report")], "a file is there")), 1),
    Case("export-output-is-a-file", lambda t: after((t / "exp").write_text("x"), (
        ["export", str(trained(t) / "lstm_model.h5"), "--output", str(t / "exp")], "a file is there")), 1),
    Case("evaluate-other-layout", lambda t: (["evaluate", str(trained(t) / "lstm_model.h5"), "--data",
                                              str(base(t / "o", features=126))], "126 (two hands)"), 1),
)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    run_case(case, tmp_path)


def test_the_catalogue_covers_every_command_and_exit_code():
    """The catalogue is a map of bad input per command: every command that reads input has cases, and
    both refusal codes occur (2: the command line or config, 1: the data or the work)."""
    commands = {c.id.split("-")[0] for c in CASES}
    assert {"validate", "train", "evaluate", "export", "predict", "convert"} <= commands, commands
    assert {1, 2} <= {c.code for c in CASES}
    assert len({c.id for c in CASES}) == len(CASES)  # every case named once


def test_permission_denied_frame_is_named(tmp_path, monkeypatch):
    """As root nothing is denied, so the denial is injected where the file is opened."""
    import errno

    from signtrain.data import npyfile

    root, where = frame(tmp_path, lambda p: np.save(p, np.ones(63)))
    real_open = os.open

    def denying(path, flags, *args, **kwargs):
        if str(path).endswith(where):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(npyfile.os, "open", denying)
    monkeypatch.setattr("signtrain.data.mpdata.os.open", denying)
    result = runner.invoke(app, ["validate-data", str(root), "--no-cache"])
    assert result.exit_code == 1 and f"{where}: permission denied" in result.stdout


def test_a_damaged_cache_middle_is_rebuilt_and_said(tmp_path):
    from signtrain.data import load_dataset

    root = base(tmp_path)
    cfg = load_config("base", ["data.features_per_frame=null", f"data.cache_dir={tmp_path / 'c'}"], data=str(root)).data
    load_dataset(cfg)
    x_file = next((tmp_path / "c").rglob("X.npy"))
    data = bytearray(x_file.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = b"\xff" * 64  # NaN bit patterns in the middle: the ends are untouched
    x_file.write_bytes(bytes(data))
    again = load_dataset(cfg)
    assert not again.from_cache and np.isfinite(again.X).all()
    assert load_dataset(cfg).from_cache


def test_a_diverging_training_stops_at_once_and_keeps_the_previous_run(tmp_path):
    out = tmp_path / "models"
    _previous_run(tmp_path, out)
    before = snapshot(out)
    root = base(tmp_path)
    result = runner.invoke(app, ["train", "--config", "base", "--data", str(root), "--output", str(out), "--quiet",
                                 "--no-cache", "--set", "data.features_per_frame=null", "--set", "data.sequence_length=8",
                                 *TINY, "--set", "train.epochs=50", "--set", "train.learning_rate=1e30",
                                 "--set", "preprocess.normalization=none"])
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "became nan at epoch 1" in result.stderr.lower() and "lower train.learning_rate" in result.stderr
    assert snapshot(out) == before


def test_an_unexpected_failure_is_one_line_and_a_crash_log(tmp_path, monkeypatch):
    import signtrain.data.validation as validation

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def boom(*args, **kwargs):
        raise ZeroDivisionError("division by zero in a place nobody foresaw")

    monkeypatch.setattr(validation, "build_report", boom)
    result = runner.invoke(app, ["validate-data", str(base(tmp_path))])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().replace("\n", " ")
    assert "validate-data failed unexpectedly: ZeroDivisionError: division by zero" in line
    log = next((tmp_path / "cache" / "signtrain" / "crash").glob("*.log"))
    assert "Traceback" in log.read_text() and "boom" in log.read_text() and str(log) in line.replace(" ", "")


# ---------------------------------------------------------------- fuzzing the config


def _random_value(rng: random.Random, depth: int = 0):
    pick = rng.randrange(12 if depth < 2 else 9)
    return [lambda: rng.randint(-10**12, 10**12), lambda: rng.uniform(-1e6, 1e6), lambda: rng.choice([True, False]),
            lambda: None, lambda: rng.choice(["", "auto", "zero", "lstm", "nan", "inf", "1e-3", "-", "../x", "ü∂",
                                              "{a: 1}", "[", "2:", "010", "no"]),
            lambda: float(rng.choice(["nan", "inf", "-inf"])), lambda: rng.choice([0, 1, -1, 2**63, 0.5, 1e308]),
            lambda: "x" * rng.randrange(200), lambda: rng.randint(0, 5),
            lambda: [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))],
            lambda: {rng.choice(["a", "units", "epochs"]): _random_value(rng, depth + 1)},
            lambda: rng.choice([[True], [1, 2, 3], [0.1, 0.2], ["a"]])][pick]()


def test_the_config_loader_never_fails_but_with_a_config_error(tmp_path):
    import yaml

    from signtrain.config import Config

    rng = random.Random(13)
    keys = all_keys()
    sections = sorted({k.split(".")[0] for k in keys})
    outcomes = {"ok": 0, "refused": 0}
    for k in range(300):
        if k % 2:  # a real config with one key changed: often still valid
            doc = Config().to_dict()
            section, key = rng.choice(keys).split(".")
            doc[section][key] = _random_value(rng) if rng.random() < 0.5 else rng.choice(
                [doc[section][key], 1, 0.5, True, "auto", None, [1]])
        else:  # anything at all
            doc = {}
            for _ in range(rng.randrange(1, 5)):
                section = rng.choice(sections + ["trian", "data.x", ""]) if rng.random() < 0.9 else rng.randrange(5)
                key = rng.choice(keys).split(".")[1] if rng.random() < 0.85 else rng.choice(["epoch", "", 3])
                doc.setdefault(section, {})
                if isinstance(doc[section], dict):
                    doc[section][key] = _random_value(rng)
        path = tmp_path / f"{k}.yaml"
        text = yaml.safe_dump(doc) if rng.random() < 0.9 else rng.choice(["[", ": :", "a: b: c", "\t- x", "{"])
        path.write_text(text)
        try:
            load_config(path)
            outcomes["ok"] += 1
        except ConfigError:
            outcomes["refused"] += 1
    assert outcomes["ok"] >= 10 and outcomes["refused"] >= 100, outcomes  # both outcomes met


def test_set_overrides_never_fail_but_with_a_config_error():
    rng = random.Random(5)
    keys = all_keys()
    texts = ["=", "a=b", "train.epochs", ".=1", "train.=1", "=train.epochs", "train.epochs==5", "x.y.z=1"]
    for _ in range(400):
        key = rng.choice(keys) if rng.random() < 0.9 else rng.choice(["data", "data.", "zz.top", "train.epoch"])
        value = rng.choice([str(_random_value(rng)), "[1, 2", "{a", "null", "~", "1e-3", "-5", "2:", "'x'", "!!python/x"])
        texts.append(f"{key}={value}")
    ok = 0
    for text in texts:
        try:
            load_config("base", [text])
            ok += 1
        except ConfigError:
            pass
    assert 0 < ok < len(texts)


@pytest.mark.parametrize("text,code", [("train.epochs=1e400", 2), ("data.sequence_length=-0", 2),
                                       ("model.units=[]", 2), ("model.units=[1e9999]", 2),
                                       ("train.seed=!!python/object:os.system", 2), ("augment.rotation=nan", 2),
                                       ("data.path=[1", 0)])  # the DATA argument wins over data.path
def test_the_cli_answers_odd_overrides_with_exit_2(text, code, tmp_path):
    result = runner.invoke(app, ["validate-data", str(base(tmp_path)), "--set", text])
    assert result.exit_code == code and "Traceback" not in result.stdout + result.stderr
    if code == 2:
        assert text.split("=")[0] in result.stderr

