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
from rich.console import Console

from conftest import real_data, tiny_config
from signtrain import artifacts, ui
from signtrain.errors import DataError
from signtrain.train import train

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
                 "lstm_model.meta.json", "logs/history.csv"):
        assert (out / name).is_file(), name
    assert not [p for p in out.rglob("*") if ".partial" in p.name]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"test_accuracy", "best_epoch", "epochs_run", "train_seconds"} <= set(metrics)
    assert metrics["epochs_run"] == 2 and metrics["test_accuracy"] == result.test_accuracy
    meta = json.loads((out / "lstm_model.meta.json").read_text())
    assert meta["labels"] == ["a", "b", "c"] and meta["feature_length"] == 63 and meta["sequence_length"] == 10
    assert meta["layout"] == "one_hand" and meta["versions"]["tensorflow"] and meta["data"]["fingerprint"]
    assert len(meta["split"]["test_sources"]) == metrics["test_sequences"] > 0
    assert meta["config"]["train"]["epochs"] == 2
    params = np.load(out / "preprocess_params.npz")
    assert params["mean"].shape == () and float(params["std"]) > 0
    assert float(params["mean"]) == pytest.approx(meta["normalization"]["mean"])
    rows = (out / "logs" / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and "val_accuracy" in rows[0]


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

    out = tmp_path / "models"
    train(tiny_config(small_tree, out, epochs=2))
    state = json.loads((out / "logs" / "resume" / "state.json").read_text())
    assert state["epoch"] == 1
    result = train(tiny_config(small_tree, out, epochs=4), resume=True)
    assert result.epochs_run == 4
    rows = (out / "logs" / "history.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2", "3"]
    resumed = keras.models.load_model(out / "logs" / "resume" / "last.keras")
    steps = -(-result.metrics["train_sequences"] // 8)
    assert int(resumed.optimizer.iterations.numpy()) == 4 * steps


def test_resume_without_a_previous_run_is_a_clear_error(small_tree, tmp_path):
    from signtrain.errors import ConfigError

    with pytest.raises(ConfigError, match="nothing to resume"):
        train(tiny_config(small_tree, tmp_path / "fresh"), resume=True)


def test_full_save_failure_falls_back_to_weights(small_tree, tmp_path, monkeypatch):
    import keras

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    result_paths = tmp_path / "models"
    original = keras.Model.save
    calls = {"n": 0}

    def save(self, path, *args, **kwargs):
        # the checkpoint and resume saves work; the final model save fails
        if str(path).endswith(".h5") and ".lstm_model.h5." in str(path):
            calls["n"] += 1
            raise OSError("disk full")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save)
    result = train(tiny_config(small_tree, result_paths))
    assert calls["n"] == 1 and result.saved_as == "weights" and "disk full" in result.save_error
    assert (result_paths / "lstm_model.weights.h5").is_file() and not (result_paths / "lstm_model.h5").exists()
    meta = json.loads((result_paths / "lstm_model.meta.json").read_text())
    assert meta["saved_as"] == "weights" and meta["model_file"] == "lstm_model.weights.h5"


def test_nan_in_data_is_refused_unless_configured(tmp_path):
    from conftest import write_tree

    root = write_tree(tmp_path / "d", signs=("a", "b"), sequences=10, frames=10, features=63)
    vec = np.ones(63)
    vec[3] = np.nan
    np.save(root / "a" / "0" / "2.npy", vec)
    with pytest.raises(DataError, match="1 frames hold NaN/inf; set data.nan_to_zero: true"):
        train(tiny_config(root, tmp_path / "m"))
    result = train(tiny_config(root, tmp_path / "m", "data.nan_to_zero=true", epochs=1))
    assert result.epochs_run == 1


def test_real_dgs_mpdata_trains(tmp_path):
    root = real_data("dgs_mpdata")
    result = train(tiny_config(root, tmp_path / "m", features=126, frames=30, epochs=1))
    assert result.metrics["train_sequences"] + result.metrics["val_sequences"] + result.metrics[
        "test_sequences"] == 120


def _cli(*args, **kwargs):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "signtrain", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=kwargs.get("cwd"))


def _tiny_args(data, out, epochs):
    from conftest import TINY_MODEL

    args = ["train", "--data", data, "--output", out, "--quiet", "--set", f"train.epochs={epochs}",
            "--set", "data.features_per_frame=63", "--set", "data.sequence_length=10"]
    for item in TINY_MODEL:
        args += ["--set", item]
    return args


def test_ctrl_c_stops_saves_and_exits_130(small_tree, tmp_path):
    out = tmp_path / "models"
    proc = _cli(*_tiny_args(small_tree, out, 100000))
    deadline = time.monotonic() + 120
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("epoch 3/"):
            break
        assert time.monotonic() < deadline, "training never started"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    text = "".join(lines) + stdout
    assert "Training stopped" in text and "Traceback" not in stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] is True and 3 <= metrics["epochs_run"] < 100000
    assert (out / "lstm_model.h5").is_file() and (out / "lstm_model.meta.json").is_file()


def test_cli_train_errors_are_one_line(tmp_path, small_tree):
    proc = _cli("train", "--data", small_tree, "--output", tmp_path / "m")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "data.features_per_frame=63" in stderr and "Traceback" not in stderr
    proc = _cli("train", "--set", "train.epochz=3")
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "did you mean 'train.epochs'" in stderr


def test_working_directory_convention(tmp_path):
    from conftest import write_tree

    write_tree(tmp_path / "MP_Data", signs=("a", "b"), sequences=10, frames=10, features=63)
    proc = _cli(*_tiny_args("MP_Data", "models", 1)[3:][:0], "train", "--quiet", "--set", "train.epochs=1",
                "--set", "data.features_per_frame=63", "--set", "data.sequence_length=10",
                "--set", "model.units=[4]", "--set", "model.return_sequences=false", "--set", "model.l2=0.0",
                "--set", "model.dropout=0.0", "--set", "model.batch_norm=false", cwd=tmp_path)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert (tmp_path / "models" / "lstm_model.h5").is_file()


# ---- the display and atomic writes (no training needed)

def test_percentages_are_clamped_and_nan_is_a_dash():
    assert ui.percent(-0.25) == "0.0%" and ui.percent(1.7) == "100.0%" and ui.percent(0.5) == "50.0%"
    assert ui.percent(float("nan")) == "—" and ui.percent(None) == "—"


def test_plain_epoch_lines_show_clamped_values():
    buffer = io.StringIO()
    display = ui.TrainingDisplay(Console(file=buffer, width=100), live=False)
    display.on_train_begin({"epochs": 5, "steps": 3, "initial_epoch": 0})
    display.on_epoch_end(0, {"loss": 0.5, "accuracy": -0.2, "val_loss": float("nan"), "val_accuracy": 1.3,
                             "learning_rate": 1e-3})
    line = buffer.getvalue()
    assert line.startswith("epoch 1/5") and "acc 0.0%" in line and "val_acc 100.0%" in line
    assert "val_loss —" in line and "-" not in line.split("lr")[0].replace("val_loss", "")


def test_live_display_renders_progress_and_metrics():
    buffer = io.StringIO()
    display = ui.TrainingDisplay(Console(file=buffer, width=120, force_terminal=True), live=True)
    display.on_train_begin({"epochs": 10, "steps": 4, "initial_epoch": 0})
    display.on_batch_end(1, {"loss": 0.7, "accuracy": 0.6})
    display.on_epoch_end(0, {"loss": 0.7, "accuracy": 0.6, "val_loss": 0.8, "val_accuracy": 0.55,
                             "learning_rate": 1e-3})
    display.on_train_end()
    text = buffer.getvalue()
    assert "epoch" in text and "1/10" in text and "val_acc 55.0%" in text and "best val_acc 55.0% (epoch 1)" in text


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
