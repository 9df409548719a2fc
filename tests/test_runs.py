"""A run is one unit: staged, committed whole, never mixed with another, never lost to a kill.

The commit machinery (signtrain.store.runs) is exercised without TensorFlow by a writer that stages
runs exactly as `train` does and is SIGKILLed at random instants many times; real trainings
are then killed at the named instants of their final save, and Ctrl-C is pressed at start-up
and during the save.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_MODEL, tiny_config, write_tree
from typer.testing import CliRunner

from signtrain.cli.app import app
from signtrain.config import OutputConfig
from signtrain.errors import ConfigError, ModelError, RunError
from signtrain.store import files as artifacts
from signtrain.store import metadata, runs

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


# ---------------------------------------------------------------- the commit, killed at random


def _fake_run(out: Path, labels: list[str], salt: int) -> None:
    """One run written as train._save_all writes it: a model file, the normalisation, the metadata
    binding them by checksum, metrics, then the commit.  The 'model' records its labels."""
    paths = artifacts.RunPaths.inside(Path("."), OutputConfig())
    with runs.RunWriter.open(out) as run:
        inside = artifacts.RunPaths.inside(run.staging, OutputConfig())
        artifacts.write_json(run.path("start.json"), {"labels": labels})
        artifacts.save_preprocess(inside.preprocess, np.zeros(3, np.float32) + salt, np.ones(3, np.float32), 1e-8,
                                  "per_feature")
        artifacts.write_with(inside.model, lambda tmp: tmp.write_bytes(json.dumps({"labels": labels, "salt": salt})
                                                                       .encode() * 50))
        metadata.write(inside.metadata, {
            "run_id": run.run_id, "model_file": inside.model.name, "labels": labels, "feature_length": 3,
            "sequence_length": 2, "normalization": {"mode": "none", "epsilon": 0.0, "mean": 0.0, "std": 1.0},
            "config": {}, "data": {"path": "x"}, "split": {},
            "files": {inside.model.name: artifacts.file_digest(inside.model),
                      inside.preprocess.name: artifacts.file_digest(inside.preprocess)}})
        artifacts.write_json(inside.metrics, {"salt": salt})
        run.commit(runs.record_summary(signs=len(labels)), paths.names())


def _writer_loop(out: str, seed: int) -> None:
    rng = random.Random(seed)
    k = 0
    while True:
        k += 1
        _fake_run(Path(out), ["a", "b", "c"] if k % 2 else ["w", "x", "y", "z"], rng.randrange(10**9))


def check_consistent(out: Path) -> str:
    """What models/ shows: 'none' before any commit, else the labels of one whole run (checked)."""
    model = out / "lstm_model.h5"
    if runs.current_run(out) is None:
        return "none"
    meta = metadata.load(model)  # refuses a set whose checksums do not match
    payload = json.loads(runs.resolve(model).read_bytes()[: len(runs.resolve(model).read_bytes()) // 50])
    assert payload["labels"] == list(meta.labels), "model and metadata disagree"
    stray = [p for p in out.rglob("*.partial*") if ".staging-" not in str(p)]
    assert not stray, stray
    return ",".join(meta.labels)


def test_random_sigkills_always_leave_one_whole_run(tmp_path):
    out = tmp_path / "models"
    context = multiprocessing.get_context("fork")
    rng = random.Random(7)
    seen: dict[str, int] = {}
    kills = 60
    for k in range(kills):
        child = context.Process(target=_writer_loop, args=(str(out), k))
        child.start()
        time.sleep(rng.uniform(0.0, 0.08))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        state = check_consistent(out)
        seen[state] = seen.get(state, 0) + 1
    # figures for the record: `pytest tests/test_runs.py -k random -s`
    print(f"\n{kills} SIGKILLs; states found: {seen}; mismatches: 0")
    assert {"a,b,c", "w,x,y,z"} <= set(seen)
    committed = [r for r in runs.list_runs(out) if r.status == "complete"]
    assert committed and all(metadata.load(r.path / "lstm_model.h5").run_id == r.id for r in committed)


@pytest.mark.parametrize("point", ["replace:preprocess_params.npz", "replace:lstm_model.h5",
                                   "replace:lstm_model.meta.json", "replace:metrics.json", "replace:run.json",
                                   "commit:before-rename", "commit:after-rename", "commit:after-switch"])
def test_sigkill_at_each_instant_of_the_save(tmp_path, point, monkeypatch):
    out = tmp_path / "models"
    _fake_run(out, ["a", "b", "c"], 1)
    monkeypatch.setattr(artifacts, "_FAULT", point)
    monkeypatch.setattr(artifacts, "_FAULT_SIGNAL", "")
    child = multiprocessing.get_context("fork").Process(target=_fake_run, args=(out, ["w", "x", "y", "z"], 2))
    child.start()
    child.join()
    assert child.exitcode == -signal.SIGKILL
    expected = "w,x,y,z" if point == "commit:after-switch" else "a,b,c"
    assert check_consistent(out) == expected


# ---------------------------------------------------------------- readers verify the set


def test_readers_refuse_mixed_edited_or_incomplete_sets(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _fake_run(a, ["a", "b", "c"], 1)
    _fake_run(b, ["w", "x", "y", "z"], 2)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "lstm_model.h5").write_bytes((a / "lstm_model.h5").read_bytes())
    (mixed / "lstm_model.meta.json").write_bytes((b / "lstm_model.meta.json").read_bytes())
    with pytest.raises(ModelError, match="come from different runs"):
        metadata.load(mixed / "lstm_model.h5")
    (mixed / "lstm_model.meta.json").write_bytes((a / "lstm_model.meta.json").read_bytes())
    (mixed / "preprocess_params.npz").write_bytes((b / "preprocess_params.npz").read_bytes())
    with pytest.raises(ModelError, match="preprocess_params.npz does not belong"):
        metadata.load(mixed / "lstm_model.h5")
    (mixed / "preprocess_params.npz").unlink()
    assert metadata.load(mixed / "lstm_model.h5").labels == ("a", "b", "c")  # a copied, whole set
    edited = json.loads((mixed / "lstm_model.meta.json").read_text())
    edited["labels"] = ["a", "c", "b"]
    (mixed / "lstm_model.meta.json").write_text(json.dumps(edited))
    with pytest.raises(ModelError, match="edited after training"):
        metadata.load(mixed / "lstm_model.h5")
    (mixed / "lstm_model.meta.json").unlink()
    result = runner.invoke(app, ["evaluate", str(mixed / "lstm_model.h5")])
    assert result.exit_code == 1 and "lstm_model.meta.json not found" in result.stderr


def test_runs_lists_every_run_and_the_current_one(tmp_path):
    out = tmp_path / "models"
    for k in range(3):
        _fake_run(out, ["a", "b"], k)
    listed = json.loads(runner.invoke(app, ["runs", str(out), "--json"]).stdout)
    assert len(listed) == 3 and [r["current"] for r in listed] == [False, False, True]
    assert listed[-1]["path"] == str(runs.current_run(out)) and listed[0]["status"] == "complete"
    assert "Runs in" in runner.invoke(app, ["runs", str(out)]).stdout


def test_the_lock_refuses_a_second_writer_and_dies_with_its_holder(tmp_path):
    out = tmp_path / "models"
    with runs.RunWriter.open(out):
        with pytest.raises(RunError, match="being written by another signtrain train"):
            with runs.RunWriter.open(out):
                pass
    with runs.RunWriter.open(out):  # released on exit
        pass
    child = multiprocessing.get_context("fork").Process(target=_hold_lock_forever, args=(out,))
    child.start()
    time.sleep(0.3)
    assert runs.lock_holder(out)["pid"] == child.pid
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert runs.lock_holder(out) is None  # a killed holder never leaves it stuck
    with runs.RunWriter.open(out):
        pass


def _hold_lock_forever(out):
    with runs.RunWriter.open(Path(out)):
        time.sleep(60)


def test_names_overwrite_and_the_no_symlink_fallback(tmp_path, monkeypatch):
    out = tmp_path / "models"
    _fake_run(out, ["a", "b"], 1)
    with runs.RunWriter.open(out, name="base"):
        pass  # staged nothing: discarded next time
    with pytest.raises(ConfigError, match="--name 'bad/name'"):
        runs.check_name("bad/name")
    monkeypatch.setattr(runs, "_symlinks_work", lambda out: False)
    copies = tmp_path / "copies"
    _fake_run(copies, ["a", "b"], 1)
    _fake_run(copies, ["x", "y"], 2)
    assert not (copies / "lstm_model.h5").is_symlink() and (copies / runs.POINTER).is_file()
    assert metadata.load(copies / "lstm_model.h5").labels == ("x", "y")


def test_an_earlier_flat_output_folder_is_kept_as_a_run(tmp_path):
    out = tmp_path / "models"
    out.mkdir()
    (out / "lstm_model.h5").write_bytes(b"old model")
    (out / "lstm_model.meta.json").write_text(json.dumps({"labels": ["p", "q"], "data": {"path": "/old"}}))
    (out / "metrics.json").write_text("{}")
    for path in out.iterdir():
        os.utime(path, (time.time() - 3600, time.time() - 3600))  # trained an hour ago
    _fake_run(out, ["a", "b"], 1)
    listed = runs.list_runs(out)
    assert len(listed) == 2 and listed[0].record["legacy"] and (listed[0].path / "lstm_model.h5").read_bytes() == \
        b"old model"
    assert metadata.load(out / "lstm_model.h5").labels == ("a", "b")


# ---------------------------------------------------------------- real trainings


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    return (write_tree(base / "abc", signs=("a", "b", "c"), sequences=9, frames=10, features=63),
            write_tree(base / "wxyz", signs=("w", "x", "y", "z"), sequences=12, frames=10, features=63, seed=1))


@pytest.fixture(scope="module")
def abc_run(data, tmp_path_factory):
    """An output folder holding one finished run on signs a, b, c (trained once, copied per test)."""
    from signtrain.training.run import train

    out = tmp_path_factory.mktemp("abc") / "models"
    train(tiny_config(data[0], out, features=63, epochs=2))
    return out


def previous(abc_run, out):
    import shutil

    shutil.copytree(abc_run, out, symlinks=True)
    return out


def _train_args(data, out, epochs, *extra):
    args = ["train", "--config", "base", "--quiet", "--data", str(data), "--output", str(out), "--set",
            f"train.epochs={epochs}",
            "--set", "data.features_per_frame=63", "--set", "data.sequence_length=10", *extra]
    for item in TINY_MODEL:
        args += ["--set", item]
    return args


def _spawn(args, fault="", cwd=None):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SIGNTRAIN_FAULT": fault}
    return subprocess.Popen([sys.executable, "-m", "signtrain", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def _shows(out: Path) -> tuple[str, ...]:
    """Evaluate and predict what models/ shows: the labels must be the ones its weights were trained on."""
    from signtrain.deploy.evaluate import evaluate
    from signtrain.deploy.predictor import load_predictor

    model = out / "lstm_model.h5"
    predictor = load_predictor(model)
    assert predictor.model.output_shape[-1] == len(predictor.labels)
    assert evaluate(model).labels == predictor.labels
    return tuple(predictor.labels)


@pytest.mark.slow
def test_killed_trainings_leave_the_previous_run_and_resume(data, abc_run, tmp_path):
    from signtrain.training.resume import resume_config
    from signtrain.training.run import TrainRequest, train

    abc, wxyz = data
    out = previous(abc_run, tmp_path / "models")
    first = runs.list_runs(out)[0]
    reference = _shows(out)
    assert reference == ("a", "b", "c")
    # (every named instant of the save is killed above, without TensorFlow; here a real training dies in it)
    proc = _spawn(_train_args(wxyz, out, 2), "replace:lstm_model.h5")
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    assert _shows(out) == ("a", "b", "c")
    # the run killed in its final save left its resume state: --resume continues it and finishes
    unfinished = [r for r in runs.list_runs(out) if r.status == "unfinished"]
    assert len(unfinished) == 1 and unfinished[0].epochs_done == 2
    target = runs.find_run(out, None)
    assert target.id == unfinished[0].id
    config = resume_config(target, ["train.epochs=3"], None, str(out))
    resumed = train(TrainRequest(config, resume=target))
    assert resumed.epochs_run == 3 and _shows(out) == ("w", "x", "y", "z")
    assert [r.status for r in runs.list_runs(out)] == ["complete"] * 2
    assert runs.current_run(out).name == resumed.run_id == target.id
    assert (runs.current_run(out).parent / first.id / "lstm_model.h5").is_file()  # nothing lost


@pytest.mark.slow
def test_ctrl_c_during_the_final_save_commits_and_exits_130(data, tmp_path):
    abc, wxyz = data
    out = tmp_path / "models"
    proc = _spawn(_train_args(wxyz, out, 2), "replace:lstm_model.h5@INT")
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "Training" in stdout
    assert _shows(out) == ("w", "x", "y", "z")


@pytest.mark.slow
def test_ctrl_c_at_start_up_writes_nothing(data, abc_run, tmp_path):
    abc, wxyz = data
    out = previous(abc_run, tmp_path / "models")
    proc = _spawn(_train_args(wxyz, out, 100000))
    assert proc.stdout.readline().startswith("loading TensorFlow")
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "nothing was written" in stderr and "Traceback" not in stderr
    assert time.monotonic() - start < 30
    assert _shows(out) == ("a", "b", "c") and len(runs.list_runs(out)) == 1


@pytest.mark.slow
def test_resume_refuses_another_data_path_or_model(data, abc_run, tmp_path):
    abc, wxyz = data
    out = previous(abc_run, tmp_path / "models")
    result = runner.invoke(app, ["train", "--resume", "--output", str(out), "--data", str(wxyz)])
    assert result.exit_code == 2 and "data.path cannot change" in result.stderr
    result = runner.invoke(app, ["train", "--resume", "--output", str(out), "--set", "model.units=[16]"])
    assert result.exit_code == 2 and "model.units cannot change" in result.stderr
    result = runner.invoke(app, ["train", "--resume", "--output", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "nothing to resume" in result.stderr
    result = runner.invoke(app, ["train", "some-run"])
    assert result.exit_code == 2 and "only with --resume" in result.stderr


def _full_disk_folder(tmp_path):
    """A tiny file system of its own where the test may mount one, else None."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    return mount if done.returncode == 0 else None


@pytest.mark.slow
def test_disk_full_and_read_only_keep_the_previous_run(data, abc_run, tmp_path, monkeypatch):
    import errno

    from signtrain.training.run import train

    abc, wxyz = data
    mount = _full_disk_folder(tmp_path)
    out = previous(abc_run, (mount or tmp_path) / "models")
    messages = []

    class Listen:
        def __getattr__(self, name):
            return lambda *a, **k: messages.append(a[0]) if name == "on_message" else None

    if mount is not None:  # fill the file system
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        (mount / "filler").write_bytes(b"\0" * max(free - 8192, 0))
    else:  # no tmpfs here: the writer itself reports a full disk
        original = artifacts.atomic_path

        def full(target):
            if "staging" in str(target):
                raise OSError(errno.ENOSPC, "No space left on device", str(target))
            return original(target)

        monkeypatch.setattr(artifacts, "atomic_path", full)
    with pytest.raises(RunError, match="No space left on device.*previous run is intact"):
        train(tiny_config(wxyz, out, features=63, epochs=2), Listen())
    assert sum("could not write the best checkpoint" in m for m in messages) == 1  # said once
    assert _shows(out) == ("a", "b", "c")
    monkeypatch.undo()
    if mount is not None:
        (mount / "filler").unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    else:
        def read_only(out):
            raise RunError(f"cannot write to {out} (Read-only file system); choose a writable folder")

        monkeypatch.setattr(runs, "_make_output_folder", read_only)
    result = runner.invoke(app, _train_args(wxyz, out, 1))
    assert result.exit_code == 1 and "Read-only file system" in result.stderr and "Traceback" not in result.stderr
    assert _shows(out) == ("a", "b", "c")
    if mount is not None:
        subprocess.run(["umount", str(mount)], check=False)


def test_resume_names_what_it_removes_and_refuses_a_run_that_trained_its_epochs(data, abc_run, tmp_path):
    out = previous(abc_run, tmp_path / "models")
    empty = out / "runs" / ".staging-20991231-235959"
    empty.mkdir()
    (empty / "start.json").write_text("{}")  # a training killed before its first epoch
    result = runner.invoke(app, ["train", "--resume", "--output", str(out)])
    assert result.exit_code == 2 and "already trained its 2 epochs" in result.stderr, result.output
    assert "removed the unfinished run 20991231-235959" in result.output and not empty.exists()
    runs = json.loads(runner.invoke(app, ["runs", str(out), "--json"]).stdout)
    assert [r["status"] for r in runs] == ["complete"]  # no 0-epoch run was made


def test_a_cross_validation_stopped_in_a_fold_never_makes_a_fold_current(data, abc_run, tmp_path):
    from types import SimpleNamespace

    from conftest import tiny_config

    from signtrain.errors import Interrupted
    from signtrain.training.crossval import cross_validate

    out = previous(abc_run, tmp_path / "models")
    before = (out / "current").resolve()
    seen = []

    def fold(request):
        seen.append(request.current)
        return SimpleNamespace(run_id=f"f{len(seen)}", test_accuracy=0.5, metrics={}, train_seconds=1.0,
                               interrupted=len(seen) == 2)

    with pytest.raises(Interrupted, match="none of them made current"):
        cross_validate(tiny_config(data[0], out, "split.validation_fraction=0.0", features=63), 3, train_fold=fold)
    assert seen == [False, False] and (out / "current").resolve() == before
