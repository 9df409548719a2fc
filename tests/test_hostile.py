"""Hostile inputs and faults, by class (the reliability catalogue): every command keeps to its target.

Each class is one mechanism - one way to publish, one rule for names, bounded work, honest
records, one path check - tried with many examples.  Every case runs the command as a user
would and checks the exit code, no traceback, the file or key named, and that nothing the user
had (inputs, earlier outputs, files beside the target) changed; see test_bad_input.run_case.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import write_tree
from test_bad_input import TINY, Case, base, islr_tree, run_case, snapshot, trained
from typer.testing import CliRunner

from signtrain.cli.app import app

runner = CliRunner()


def cases(*items: Case):
    return pytest.mark.parametrize("case", items, ids=lambda c: c.id)


# ---------------------------------------------------------------- 1. a destination apart from its source


def nested(tmp: Path) -> Path:
    """P/base: a tree, with a file beside it that a destroyed P would take along."""
    root = write_tree(tmp / "P" / "base", signs=("hello", "bye"), sequences=4, frames=6, features=63)
    (tmp / "P" / "beside.txt").write_text("keep me")
    return root


@cases(
    Case("convert-into-parent", lambda t: (["convert", str(nested(t)), str(t / "P"), "--overwrite"],
                                           "contains the source"), 1),
    Case("convert-into-parent-dotdot", lambda t: (["convert", str(nested(t) / "hello" / ".."), str(t / "P"),
                                                   "--overwrite"], "contains the source"), 1),
    Case("convert-into-grandparent", lambda t: (["convert", str(nested(t) / "hello"), str(t / "P"), "--overwrite"],
                                                "contains the source"), 1),
    Case("convert-into-itself", lambda t: (["convert", str(nested(t)), str(t / "P" / "base"), "--overwrite"],
                                           "is the source itself"), 1),
    Case("convert-inside-source", lambda t: (["convert", str(nested(t)), str(t / "P" / "base" / "copy")],
                                             "lies inside the source"), 1),
    Case("convert-npz-inside-source", lambda t: (["convert", str(nested(t)), str(t / "P" / "base" / "x.npz")],
                                                 "lies inside the source"), 1),
    Case("convert-through-link-to-source", lambda t: (
        ["convert", str(nested(t)), str(_link(t / "alias", t / "P")), "--overwrite"], "contains the source"), 1),
)
def test_a_destination_never_holds_or_sits_in_its_source(case, tmp_path):
    run_case(case, tmp_path)


def _link(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


# ---------------------------------------------------------------- 2. one rule for names


def named_tree(tmp: Path, bad: str) -> Path:
    root = write_tree(tmp / "D", signs=("hello", "bye", "yes"), sequences=6, frames=6, features=63)
    os.rename(root / "yes", root / bad)
    return root


BAD_NAMES = ["hel\nlo", "tab\there", "nul\x01x", "line\u2028sep", "cr\rx"]


@pytest.mark.parametrize("bad", BAD_NAMES, ids=lambda b: repr(b))
@pytest.mark.parametrize("command", ["validate-data", "train", "convert"])
def test_a_sign_folder_that_cannot_be_a_label_is_named_and_refused(bad, command, tmp_path):
    args = {"validate-data": lambda r: ["validate-data", str(r)],
            "train": lambda r: ["train", "--data", str(r), "--output", str(tmp_path / "models"), *TINY],
            "convert": lambda r: ["convert", str(r), str(tmp_path / "out")]}[command]
    run_case(Case(f"{command}-bad-name", lambda t: (args(named_tree(t, bad)), repr(bad)), 1), tmp_path)


def islr_named(t: Path, sign: str) -> Path:
    """An ISLR tree whose third recording carries `sign` (written as a CSV writer would, quoted)."""
    import csv
    import io

    root = islr_tree(t)
    rows = list(csv.reader(io.StringIO((root / "train.csv").read_text())))
    rows[3][3] = sign
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    (root / "train.csv").write_text(buffer.getvalue())
    return root


@pytest.mark.parametrize("sign, named", [("../evil", "'../evil'"), ("a/b", "'a/b'"), ("..", "'..'"), (".", "'.'"),
                                         (".hidden", "'.hidden'"), ("he\nllo", "'he\\nllo'"),
                                         ("", "empty"), ("x\ty", "'x\\ty'")], ids=repr)
def test_train_csv_sign_names_are_held_to_the_same_rule(sign, named, tmp_path):
    run_case(Case("islr-sign", lambda t: (["validate-data", str(islr_named(t, sign))], named), 1), tmp_path)


@pytest.mark.parametrize("listed", ["../../../../etc/passwd", "/etc/passwd", "files/../../outside.parquet"])
def test_paths_in_train_csv_stay_inside_the_data_root(listed, tmp_path):
    def build(t):
        root = islr_tree(t)
        (t / "outside.parquet").write_bytes(b"not read")
        text = (root / "train.csv").read_text().splitlines()
        text[3] = f"{listed},0,2,hello"
        (root / "train.csv").write_text("\n".join(text) + "\n")
        return ["validate-data", str(root)], "outside"

    run_case(Case("islr-path-escapes", build, 1), tmp_path)


@pytest.mark.parametrize("sign", ["he\nllo", "../up", "..", ".", ".x", "a/b", "t\tab"], ids=repr)
def test_extract_refuses_a_sign_name_it_would_misplace(sign, tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    result = runner.invoke(app, ["extract", str(tmp_path / "clip.mp4"), str(tmp_path / "out"), "--sign", sign])
    assert result.exit_code == 2 and "--sign" in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("stem", ["..", ".", "..hidden"], ids=repr)
def test_extract_refuses_a_sign_name_taken_from_a_file_name(stem, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / f"{stem}.mp4").write_bytes(b"")
    result = runner.invoke(app, ["extract", str(videos / f"{stem}.mp4"), str(tmp_path / "out")])
    assert result.exit_code == 2 and "taken from its name" in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["videos"]  # nothing written, not even OUT


# ---------------------------------------------------------------- 3. writes never follow a link, never a device


def test_a_planted_lock_link_is_never_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    data = base(tmp_path)
    out = tmp_path / "models"
    out.mkdir()
    (out / ".lock").symlink_to(victim)
    result = runner.invoke(app, ["train", "--data", str(data), "--output", str(out), *TINY])
    assert victim.read_text() == "precious"
    assert result.exit_code == 1 and ".lock" in result.stderr and "link" in result.stderr


def test_config_init_never_replaces_a_device(tmp_path):
    result = runner.invoke(app, ["config", "init", "best", "/dev/null", "--overwrite"])
    assert result.exit_code == 2 and "/dev/null" in result.stderr and "a device" in result.stderr
    assert Path("/dev/null").is_char_device()


def media_bundle() -> Path:
    """The MediaPipe bundle of ../shared/media (skipped cleanly where that folder is absent)."""
    bundle = Path(__file__).resolve().parents[2] / "shared" / "media" / "holistic_landmarker.task"
    if not bundle.is_file():
        pytest.skip(f"the MediaPipe bundle is not present: {bundle}")
    return bundle


def extract_over_state(tmp_path: Path, bundle: Path, plant) -> object:
    """extract into an OUT whose .signtrain-extract/ holds what `plant(state)` put there."""
    (tmp_path / "clip.mp4").write_bytes(b"")
    state = tmp_path / "out" / ".signtrain-extract"
    state.mkdir(parents=True)
    plant(state)
    return runner.invoke(app, ["extract", str(tmp_path / "clip.mp4"), str(tmp_path / "out"), "--sign", "hi",
                               "--model-asset", str(bundle)])


def test_a_planted_extract_lock_link_is_never_written_through(tmp_path):
    bundle = media_bundle()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    result = extract_over_state(tmp_path, bundle, lambda state: (state / ".lock").symlink_to(victim))
    assert victim.read_text() == "precious" and result.exit_code == 1 and ".lock" in result.stderr


def test_a_killed_convert_leaves_nothing_after_the_next(tmp_path):
    source = base(tmp_path)
    (tmp_path / ".out.partial-deadbeef").mkdir()  # what a convert killed mid-write leaves
    (tmp_path / ".out.partial-deadbeef" / "x.npy").write_bytes(b"half")
    (tmp_path / ".other.partial-cafecafe").write_text("not ours to touch")
    result = runner.invoke(app, ["convert", str(source), str(tmp_path / "out")])
    assert result.exit_code == 0 and not (tmp_path / ".out.partial-deadbeef").exists()
    assert (tmp_path / ".other.partial-cafecafe").read_text() == "not ours to touch"


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_config_init_never_writes_over_what_is_not_a_file(kind, tmp_path):
    target = tmp_path / "recipe.yaml"
    {"fifo": lambda: os.mkfifo(target), "folder": lambda: target.mkdir()}[kind]()
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["config", "init", "best", str(target), "--overwrite"])
    assert result.exit_code in (1, 2) and str(target) in result.stderr and "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before


def test_config_init_replaces_a_link_not_its_target(tmp_path):
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text("mine")
    (tmp_path / "recipe.yaml").symlink_to(elsewhere)
    result = runner.invoke(app, ["config", "init", "best", str(tmp_path / "recipe.yaml"), "--overwrite"])
    assert result.exit_code == 0 and elsewhere.read_text() == "mine"
    assert not (tmp_path / "recipe.yaml").is_symlink() and "model:" in (tmp_path / "recipe.yaml").read_text()


# ---------------------------------------------------------------- 4. bounded work


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(12)) + "train:\n  epochs: *m\n"


@pytest.mark.parametrize("command", [["config", "show"], ["validate-data", "DATA"], ["train", "--data", "DATA"]])
def test_a_yaml_alias_bomb_is_refused_at_once(command, tmp_path):
    config = tmp_path / "bomb.yaml"
    config.write_text(BOMB)
    data = base(tmp_path)
    args = [str(data) if a == "DATA" else a for a in command] + ["--config", str(config)]
    run_case(Case("yaml-bomb", lambda t: (args, "alias"), 2, creates=("models",)), tmp_path)


@pytest.mark.parametrize("text", ["train:\n  epochs: &n 5\n  batch_size: *n\n", "x: &a 1\ny: *a\n"])
def test_any_alias_in_a_config_is_refused_by_line(text, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(text)
    result = runner.invoke(app, ["config", "show", "--config", str(config)])
    assert result.exit_code == 2 and "alias" in result.stderr and "line" in result.stderr


@pytest.mark.parametrize("args", [["--signs", "100000", "--sequences", "100000"],
                                  ["--signs", "2000", "--sequences", "600"],
                                  ["--frames", "100000", "--sequences", "400"]])
def test_example_data_is_bounded(args, tmp_path):
    result = runner.invoke(app, ["example-data", str(tmp_path / "ex"), *args])
    assert result.exit_code == 2 and "at most" in result.stderr and not (tmp_path / "ex").exists()


@pytest.mark.parametrize("url, named", [("file:///dev/zero", "MiB"), ("/nonexistent/x.task", "/nonexistent/x.task"),
                                        ("file:///nonexistent/x.task", "x.task")])
def test_a_bundle_download_is_bounded_and_leaves_nothing(url, named, tmp_path, monkeypatch):
    from signtrain.extract import asset

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SIGNTRAIN_HOLISTIC_URL", url)
    monkeypatch.setattr(asset, "MAX_BUNDLE_BYTES", 4 << 20)
    (tmp_path / "clip.mp4").write_bytes(b"")
    result = runner.invoke(app, ["extract", str(tmp_path / "clip.mp4"), str(tmp_path / "out"), "--sign", "hi"])
    assert result.exit_code == 1 and named in result.stderr and "Traceback" not in result.stderr
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert leftovers == []


def test_a_frame_sampled_twice_is_detected_once(monkeypatch, tmp_path):
    from signtrain.extract import run as extract_run
    from signtrain.layouts import LAYOUTS

    calls = []

    class Landmarker:
        def __init__(self, asset):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def detect(self, rgb, stamp):
            calls.append(stamp)
            return np.full(1662, float(len(calls)), np.float32), np.ones(4, np.int64)

    def frames(source, picks):
        for n, index in enumerate(picks):
            yield int(index), n * 33, np.zeros((2, 2, 3), np.uint8)

    monkeypatch.setattr(extract_run, "Landmarker", Landmarker)
    monkeypatch.setattr(extract_run.video, "frames", frames)
    picks = extract_run.video.even_sample(3, 1000)
    array, _, decoded = extract_run.landmarks_of(Path("x.mp4"), Path("a.task"), LAYOUTS[126], picks)
    assert len(calls) == 3 and decoded == 3 and len(array) == 1000
    assert sorted(set(array[:, 0].tolist())) == [1.0, 2.0, 3.0]  # the repeats repeat results


# ---------------------------------------------------------------- 5. honest records


def zero_tree(tmp: Path) -> Path:
    root = write_tree(tmp / "Z", signs=("a", "b"), sequences=6, frames=6, features=63)
    for frame in root.rglob("*.npy"):
        np.save(frame, np.zeros(63))
    return root


@cases(
    Case("validate-all-zero", lambda t: (["validate-data", str(zero_tree(t))], "all-zero"), 1),
    Case("train-all-zero", lambda t: (["train", "--data", str(zero_tree(t)), "--output", str(t / "m"), *TINY],
                                      "all-zero"), 1),
    Case("convert-all-zero", lambda t: (["convert", str(zero_tree(t)), str(t / "out")], "all-zero"), 1),
)
def test_a_tree_with_nothing_detected_is_an_error(case, tmp_path):
    run_case(case, tmp_path)


@pytest.mark.parametrize("index", [[99999], [-5], [21, 22, 10**6]])
def test_parquet_rows_that_name_no_landmark_are_counted(index, tmp_path):
    def bad(n):
        return list(range(21 - len(index))) + index + list(range(21))

    root = islr_tree(tmp_path, column="landmark_index", value=bad)
    result = runner.invoke(app, ["validate-data", str(root), "--json", "--no-cache"])
    account = json.loads(result.stdout)["account"]
    assert account["dropped_rows"]["count"] == len(index) and account["dropped_rows"]["unit"] == "rows"


DAMAGED = {"x": b"x", "random": bytes(range(256)) * 4, "list": b"[1, 2, 3]", "null": b"null",
           "accuracy-1e308": json.dumps({"test_accuracy": 1e308, "files": {}}).encode(),
           "signs-text": json.dumps({"signs": "many", "files": {}}).encode(),
           "nested": b"[" * 100000 + b"]" * 100000}


@pytest.mark.parametrize("damage", list(DAMAGED), ids=str)
def test_a_damaged_run_record_is_listed_as_damaged_and_never_breaks_the_listing(damage, tmp_path):
    out = trained(tmp_path)
    good = [p for p in (out / "runs").iterdir()][0]
    bad = out / "runs" / "20990101-000000-bad"
    bad.mkdir()
    (bad / "run.json").write_bytes(DAMAGED[damage])
    result = runner.invoke(app, ["runs", str(out), "--json"])
    listed = {r["id"]: r for r in json.loads(result.stdout)}
    assert result.exit_code == 0 and listed[good.name]["status"] == "complete"
    assert listed[bad.name]["status"] == "damaged" and listed[bad.name]["test_accuracy"] is None
    shown = runner.invoke(app, ["runs", str(out)])
    assert shown.exit_code == 0 and "damaged" in shown.stdout and "100.0%" not in shown.stdout
    resumed = runner.invoke(app, ["train", "--resume", bad.name, "--output", str(out)])
    assert resumed.exit_code == 2 and "damaged" in resumed.stderr


# ---------------------------------------------------------------- 6. one path check


def fifo_at(p: Path) -> Path:
    os.mkfifo(p)
    return p


@cases(
    Case("config-fifo", lambda t: (["config", "show", "--config", str(fifo_at(t / "c.yaml"))], "FIFO"), 2),
    Case("config-folder", lambda t: (["config", "show", "--config", str(_mkdir(t / "c.yaml"))], "a folder"), 2),
    Case("config-device", lambda t: (["config", "show", "--config", str(_link(t / "c.yaml", Path("/dev/zero")))],
                                     "a device"), 2),
    Case("config-dangling", lambda t: (["config", "show", "--config", str(_link(t / "c.yaml", t / "gone"))],
                                       "not found"), 2),
    Case("config-missing", lambda t: (["config", "show", "--config", str(t / "nope.yaml")], "not found"), 2),
    Case("extract-source-fifo", lambda t: (["extract", str(fifo_at(t / "v.mp4")), str(t / "out")], "FIFO"), 2),
    Case("extract-source-missing", lambda t: (["extract", str(t / "v.mp4"), str(t / "out")], "not found"), 2),
    Case("extract-out-proc", lambda t: (["extract", str(_video(t)), "/proc/signtrain-out", "--sign", "hi"],
                                        "/proc"), 2),
    Case("extract-out-file", lambda t: (["extract", str(_video(t)), str(_file(t / "out")), "--sign", "hi"],
                                        "a file is there"), 2),
    Case("model-asset-folder", lambda t: (["extract", str(_video(t)), str(t / "out"), "--model-asset",
                                           str(_mkdir(t / "m.task"))], "a folder"), 2),
    Case("model-asset-fifo", lambda t: (["extract", str(_video(t)), str(t / "out"), "--model-asset",
                                         str(fifo_at(t / "m.task"))], "FIFO"), 2),
    Case("model-fifo", lambda t: (["info", str(fifo_at(t / "m.h5"))], "FIFO"), 1),
    Case("recording-missing", lambda t: (["predict", str(trained(t) / "lstm_model.h5"), str(t / "nope.npy")],
                                         "not found"), 1),
    Case("recording-fifo", lambda t: (["predict", str(trained(t) / "lstm_model.h5"), str(fifo_at(t / "r.npy"))],
                                      "FIFO"), 1),
    Case("runs-missing", lambda t: (["runs", str(t / "nowhere")], "not found"), 1),
    Case("runs-file", lambda t: (["runs", str(_file(t / "f"))], "not a folder"), 1),
    Case("example-data-onto-file", lambda t: (["example-data", str(_file(t / "f"))], "a file is there"), 2),
    Case("config-init-proc", lambda t: (["config", "init", "best", "/proc/recipe.yaml"], "/proc/recipe.yaml"), 1),
    Case("convert-proc", lambda t: (["convert", str(base(t)), "/proc/converted"], "/proc/converted"), 1),
    Case("convert-source-missing", lambda t: (["convert", str(t / "nothing"), str(t / "out")], "not found"), 1),
)
def test_every_path_argument_is_checked_and_said_as_such(case, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    run_case(case, tmp_path)


def _mkdir(p: Path) -> Path:
    p.mkdir()
    return p


def _file(p: Path) -> Path:
    p.write_text("x")
    return p


def _video(t: Path) -> Path:
    (t / "clip.mp4").write_bytes(b"")
    return t / "clip.mp4"


# ---------------------------------------------------------------- 7. an export killed at every instant


EXPORT_FAULTS = ["publish:lstm_model.tflite:journal", "publish:lstm_model.tflite:lstm_model.tflite",
                 "publish:lstm_model.tflite:lstm_model.tflite.meta.json", "publish:lstm_model.tflite:labels.txt"]


@pytest.mark.slow
def test_an_export_killed_at_any_instant_leaves_one_whole_export(tmp_path):
    """SIGKILL at every named instant of an export into a folder holding an earlier one: a reader then
    finds the earlier export or the new one, whole, never a mix; the next export leaves no leftover."""
    import shutil
    import subprocess
    import sys

    from conftest import tiny_config

    from signtrain.deploy.export import export
    from signtrain.deploy.predictor import load_predictor
    from signtrain.training.run import TrainRequest, train

    data = write_tree(tmp_path / "MP_Data", signs=("a", "b", "c"), sequences=10, frames=8, features=63)
    first = train(TrainRequest(tiny_config(data, tmp_path / "models", "train.seed=1", frames=8, epochs=1)))
    second = train(TrainRequest(tiny_config(data, tmp_path / "models", "train.seed=2", frames=8, epochs=1)))
    earlier = tmp_path / "earlier"
    assert all(e.passed for e in export(first.run_dir / "lstm_model.h5", ["tflite"], output=earlier).entries)
    for fault in EXPORT_FAULTS:
        folder = tmp_path / fault.replace(":", "_")
        shutil.copytree(earlier, folder)
        env = {**os.environ, "SIGNTRAIN_FAULT": fault}
        killed = subprocess.run([sys.executable, "-m", "signtrain", "export", str(second.run_dir / "lstm_model.h5"),
                                 "--output", str(folder)], env=env, capture_output=True, text=True, timeout=300)
        assert killed.returncode == -9, (fault, killed.stderr[-500:])  # the instant was reached
        seen = load_predictor(folder / "lstm_model.tflite")  # whole: checksums of model and sidecar agree
        assert seen.meta.run_id in (first.run_id, second.run_id), fault
        assert (folder / "labels.txt").read_text().split() == seen.labels
        report = export(second.run_dir / "lstm_model.h5", ["tflite"], output=folder)
        assert report.entries[0].passed and load_predictor(folder / "lstm_model.tflite").meta.run_id == second.run_id
        assert sorted(p.name for p in folder.iterdir()) == ["labels.txt", "lstm_model.tflite",
                                                            "lstm_model.tflite.meta.json"], fault


@pytest.mark.parametrize("manifest", [b'{"videos": {"x": "y"}}', b'{"videos": {"/v.mp4": {"sign": "../up"}}}',
                                      b'{"videos": {"/v.mp4": {"sign": "a", "sequence": -3}}}', b'{"videos": [1, 2]}',
                                      b"[" * 50000 + b"]" * 50000, b"\xff\xfe"])
def test_a_hand_edited_extract_manifest_is_named_not_a_crash(manifest, tmp_path):
    bundle = media_bundle()
    result = extract_over_state(tmp_path, bundle, lambda state: (state / "manifest.json").write_bytes(manifest))
    assert result.exit_code == 1 and "damaged extraction manifest" in result.stderr, result.output
    assert (tmp_path / "out" / ".signtrain-extract" / "manifest.json").read_bytes() == manifest


@pytest.mark.slow
def test_ctrl_c_while_tensorflow_loads_stops_the_training_there(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    data = base(tmp_path)
    child = subprocess.Popen([sys.executable, "-m", "signtrain", "train", "--data", str(data), "--output",
                              str(tmp_path / "models"), "--quiet", *TINY], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = child.stdout.readline()  # "loading TensorFlow…": the import has begun
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert "loading TensorFlow" in line and child.returncode == 130
    assert "while loading TensorFlow" in err and not (tmp_path / "models").exists()
