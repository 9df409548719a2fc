import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import real_data, tiny_config
from rich.console import Console
from typer.testing import CliRunner

from signtrain import ui
from signtrain.cli.app import app
from signtrain.errors import DataError
from signtrain.progress import TrainBegin
from signtrain.store import files as artifacts
from signtrain.store import runs
from signtrain.training.run import TrainRequest, train

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory):
    from conftest import write_tree

    return write_tree(tmp_path_factory.mktemp("data") / "MP_Data", signs=("a", "b", "c"), sequences=12,
                      frames=10, features=63)


def test_training_writes_every_artifact(small_tree, tmp_path):
    result = train(tiny_config(small_tree, tmp_path / "models"))
    out = tmp_path / "models"
    for name in ("lstm_model.h5", "lstm_model_checkpoint.h5", "preprocess_params.npz", "metrics.json",
                 "lstm_model.meta.json", "config.yaml", "logs/history.csv"):
        assert (out / name).is_file(), name
        assert (result.run_dir / name).is_file() and (out / name).resolve() == (result.run_dir / name).resolve()
    assert not [p for p in out.rglob("*") if ".partial" in p.name]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"test_accuracy", "best_epoch", "epochs_run", "train_seconds", "monitor", "weights"} <= set(metrics)
    assert metrics["epochs_run"] == 2 and metrics["test_accuracy"] == result.test_accuracy
    assert metrics["monitor"] == "val_loss" and metrics["run_id"] == result.run_id == result.run_dir.name
    meta = json.loads((out / "lstm_model.meta.json").read_text())
    assert meta["labels"] == ["a", "b", "c"] and meta["feature_length"] == 63 and meta["sequence_length"] == 10
    assert meta["layout"] == "one_hand" and meta["versions"]["tensorflow"] and meta["data"]["fingerprint"]
    assert len(meta["split"]["test_sources"]) == metrics["test_sequences"] > 0
    assert meta["config"]["train"]["epochs"] == 2 and meta["run_id"] == result.run_id
    assert meta["files"]["lstm_model.h5"] == artifacts.file_digest(out / "lstm_model.h5")
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["files"]["lstm_model.meta.json"] == artifacts.file_digest(out / "lstm_model.meta.json")
    params = np.load(out / "preprocess_params.npz")
    assert params["mean"].shape == () and float(params["std"]) > 0
    assert float(params["mean"]) == pytest.approx(meta["normalization"]["mean"])
    rows = (out / "logs" / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and "val_accuracy" in rows[0] and [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["train"]["epochs"] == 2 and Path(config["data"]["path"]).is_absolute()


def test_same_seed_same_split_and_weights(small_tree, tmp_path):
    import keras

    for run in ("a", "b"):
        train(tiny_config(small_tree, tmp_path / run, "preprocess.normalization=per_feature"))
    meta = [json.loads((tmp_path / r / "lstm_model.meta.json").read_text()) for r in ("a", "b")]
    assert meta[0]["split"] == meta[1]["split"]
    assert len(meta[0]["normalization"]["mean"]) == 63
    weights = [keras.models.load_model(tmp_path / r / "lstm_model.h5").get_weights() for r in ("a", "b")]
    for w0, w1 in zip(*weights):
        np.testing.assert_array_equal(w0, w1)


def test_resume_continues_epochs_optimizer_and_history(small_tree, tmp_path):
    import keras

    from signtrain.training.resume import resume_config

    out = tmp_path / "models"
    first = train(tiny_config(small_tree, out, epochs=2))
    state = json.loads((out / "logs" / "resume" / "state.json").read_text())
    assert state["epoch"] == 1 and state["train_state"]["epochs_done"] == 2
    target = runs.find_run(out, None)
    result = train(TrainRequest(resume_config(target, ["train.epochs=4"], None, str(out)), resume=target))
    assert result.epochs_run == 4 and result.run_id != first.run_id  # a committed run continues as a new one
    rows = (out / "logs" / "history.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    resumed = keras.models.load_model(out / "logs" / "resume" / "last.keras")
    steps = -(-result.metrics["train_sequences"] // 8)
    assert int(resumed.optimizer.iterations.numpy()) == 4 * steps
    assert (first.run_dir / "lstm_model.h5").is_file()  # the run it continued is kept
    assert json.loads((result.run_dir / "start.json").read_text())["resumed_from"] == first.run_id


def test_full_save_failure_falls_back_to_weights(small_tree, tmp_path, monkeypatch):
    import keras

    result_paths = tmp_path / "models"
    original = keras.Model.save
    calls = {"n": 0}

    def save(self, path, *args, **kwargs):
        # the checkpoint and resume saves work; the final model save fails (not for lack of space)
        if str(path).endswith(".h5") and ".lstm_model.h5." in str(path):
            calls["n"] += 1
            raise ValueError("cannot serialise this layer")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save)
    result = train(tiny_config(small_tree, result_paths))
    assert calls["n"] == 1 and result.saved_as == "weights" and "cannot serialise" in result.save_error
    assert (result_paths / "lstm_model.weights.h5").is_file() and not (result_paths / "lstm_model.h5").exists()
    meta = json.loads((result_paths / "lstm_model.meta.json").read_text())
    assert meta["saved_as"] == "weights" and meta["model_file"] == "lstm_model.weights.h5"
    from signtrain.deploy.predictor import load_predictor

    assert load_predictor(result_paths / "lstm_model.weights.h5").labels == ["a", "b", "c"]


def test_nan_in_data_is_refused_unless_configured(tmp_path):
    from conftest import write_tree

    root = write_tree(tmp_path / "d", signs=("a", "b"), sequences=10, frames=10, features=63)
    vec = np.ones(63)
    vec[3] = np.nan
    np.save(root / "a" / "0" / "2.npy", vec)
    with pytest.raises(DataError, match=r"1 frame\(s\) hold NaN/inf .*a/0/2.npy: NaN or infinite values.* set "
                                        r"data.nan_to_zero: true"):
        train(tiny_config(root, tmp_path / "m"))
    result = train(tiny_config(root, tmp_path / "m", "data.nan_to_zero=true", epochs=1))
    assert result.epochs_run == 1


def test_real_dgs_mpdata_trains(tmp_path):
    root = real_data("dgs_mpdata")
    result = train(tiny_config(root, tmp_path / "m", features=126, frames=30, epochs=1))
    assert result.metrics["train_sequences"] + result.metrics["val_sequences"] + result.metrics[
        "test_sequences"] == 120


def _tiny_args(data, out, epochs):
    from conftest import TINY_MODEL

    args = ["train", "--data", str(data), "--output", str(out), "--quiet", "--set", f"train.epochs={epochs}",
            "--set", "data.features_per_frame=63", "--set", "data.sequence_length=10"]
    for item in TINY_MODEL:
        args += ["--set", item]
    return args


def test_ctrl_c_stops_saves_and_exits_130_and_a_second_train_is_refused(small_tree, tmp_path):
    out = tmp_path / "models"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "signtrain", *_tiny_args(small_tree, out, 100000)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("epoch 3/"):
            break
        assert time.monotonic() < deadline, "training never started"
    second = CliRunner().invoke(app, _tiny_args(small_tree, out, 1))  # while the first one writes
    assert second.exit_code == 1 and "being written by another signtrain train" in second.stderr
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    text = "".join(lines) + stdout
    assert "Training stopped" in text and "Traceback" not in stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] is True and 3 <= metrics["epochs_run"] < 100000
    assert (out / "lstm_model.h5").is_file() and (out / "lstm_model.meta.json").is_file()
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"  # drawn after Ctrl-C too
    assert len(runs.list_runs(out)) == 1


def test_cli_train_errors_are_one_line(tmp_path, small_tree):
    result = CliRunner().invoke(app, ["train", "--data", str(small_tree), "--output", str(tmp_path / "m"), "--set",
                                      "data.features_per_frame=225"])
    assert result.exit_code == 1 and "data.features_per_frame=63" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "m" / "current").exists()
    result = CliRunner().invoke(app, ["train", "--set", "train.epochz=3"])
    assert result.exit_code == 2 and "did you mean 'train.epochs'" in result.stderr


def test_working_directory_convention(tmp_path, monkeypatch):
    from conftest import write_tree

    write_tree(tmp_path / "MP_Data", signs=("a", "b"), sequences=10, frames=10, features=63)
    monkeypatch.chdir(tmp_path)
    args = [a for a in _tiny_args("MP_Data", "models", 1) if a not in ("--data", "MP_Data", "--output", "models")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "models" / "lstm_model.h5").is_file()


# ---- the display and atomic writes (no training needed)

def test_percentages_are_clamped_and_nan_is_a_dash():
    assert ui.percent(-0.25) == "0.0%" and ui.percent(1.7) == "100.0%" and ui.percent(0.5) == "50.0%"
    assert ui.percent(float("nan")) == "—" and ui.percent(None) == "—"


def test_plain_epoch_lines_show_clamped_values():
    buffer = io.StringIO()
    display = ui.TrainingDisplay(Console(file=buffer, width=100), live=False)
    display.on_train_begin(TrainBegin(5, 3, 0, "val_accuracy"))
    display.on_epoch_end(0, {"loss": 0.5, "accuracy": -0.2, "val_loss": float("nan"), "val_accuracy": 1.3,
                             "learning_rate": 1e-3})
    line = buffer.getvalue().splitlines()[-1]
    assert line.startswith("epoch 1/5") and "acc 0.0%" in line and "val_acc 100.0%" in line
    assert "val_loss —" in line and "-" not in line.split("lr")[0].replace("val_loss", "")


def test_live_display_renders_progress_and_metrics():
    from signtrain.training.callbacks import TrainState

    buffer = io.StringIO()
    display = ui.TrainingDisplay(Console(file=buffer, width=120, force_terminal=True), live=True)
    display.on_train_begin(TrainBegin(10, 4, 0, "val_accuracy"))
    display.on_batch_end(1, {"loss": 0.7, "accuracy": 0.6})
    state = TrainState("val_accuracy", "max", best=0.55, best_epoch=1, epochs_done=1)
    display.on_epoch_end(0, {"loss": 0.7, "accuracy": 0.6, "val_loss": 0.8, "val_accuracy": 0.55,
                             "learning_rate": 1e-3}, state)
    display.on_train_end()
    text = buffer.getvalue()
    assert "epoch" in text and "1/10" in text and "val_acc 55.0%" in text and "best val_accuracy 55.0% (epoch 1)" in text


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "lstm_model.h5"
    target.write_bytes(b"good model")

    def crash(tmp):
        tmp.write_bytes(b"half a mod")
        raise OSError("killed")

    with pytest.raises(OSError):
        artifacts.write_with(target, crash)
    assert target.read_bytes() == b"good model" and os.listdir(tmp_path) == ["lstm_model.h5"]
    artifacts.write_with(target, lambda tmp: tmp.write_bytes(b"new model"))
    assert target.read_bytes() == b"new model" and os.listdir(tmp_path) == ["lstm_model.h5"]
