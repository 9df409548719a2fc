"""train --init: start from a trained model, add signs, keep what it knew."""

import json

import pytest
from conftest import TINY_MODEL, tiny_config, write_tree
from typer.testing import CliRunner

from signtrain.cli.app import app
from signtrain.store import metadata
from signtrain.training.finetune import config_for

pytestmark = pytest.mark.slow


def test_adding_signs_keeps_the_old_signs_predictions(tmp_path):
    from signtrain.deploy.evaluate import evaluate
    from signtrain.deploy.predictor import load_predictor
    from signtrain.training.run import TrainRequest, train

    old = write_tree(tmp_path / "old", signs=("a", "b", "c"), sequences=12, frames=8, features=63, seed=3)
    more = write_tree(tmp_path / "more", signs=("a", "b", "c", "d"), sequences=12, frames=8, features=63, seed=3)
    first = train(tiny_config(old, tmp_path / "m1", "train.learning_rate=0.02", frames=8, epochs=12))
    assert first.test_accuracy == 1.0
    meta = metadata.load(tmp_path / "m1" / "lstm_model.h5")
    config = config_for(meta, tiny_config(more, tmp_path / "m2", "train.learning_rate=0.01", frames=8, epochs=5))
    assert config.train.learning_rate == pytest.approx(0.001) and config.model == meta.config.model
    tuned = train(TrainRequest(config, init=meta))
    labels = load_predictor(tmp_path / "m2" / "lstm_model.h5").labels
    assert labels == ["a", "b", "c", "d"]
    # the old signs on the old model's own test recordings: still recognised
    report = evaluate(tmp_path / "m2" / "lstm_model.h5", data=str(old))
    assert report.accuracy >= 0.95
    saved = json.loads((tmp_path / "m2" / "lstm_model.meta.json").read_text())
    assert saved["init"]["run_id"] == first.run_id and saved["normalization"]["mean"] == \
        json.loads((tmp_path / "m1" / "lstm_model.meta.json").read_text())["normalization"]["mean"]
    assert tuned.metrics["init"]["model_signs"] == ["a", "b", "c"]


def test_init_refuses_another_layout_and_resume(tmp_path):
    from signtrain.training.run import train

    old = write_tree(tmp_path / "old", signs=("a", "b"), sequences=8, frames=8, features=63)
    train(tiny_config(old, tmp_path / "m", frames=8, epochs=1))
    wide = write_tree(tmp_path / "wide", signs=("a", "b"), sequences=8, frames=8, features=126)
    args = ["train", "--init", str(tmp_path / "m" / "lstm_model.h5"), "--data", str(wide), "--output",
            str(tmp_path / "m2"), *[x for item in TINY_MODEL for x in ("--set", item)]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "126 (two hands)" in result.stderr and "--init" in result.stderr
    result = CliRunner().invoke(app, ["train", "--resume", "--init", str(tmp_path / "m" / "lstm_model.h5")])
    assert result.exit_code == 2 and "not --config or --init" in result.stderr
