"""The training budget in optimizer steps (train.steps): the auto rule, epochs of at least
MIN_EPOCH_STEPS steps, and how it meets the config (an explicit --set train.epochs wins)."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_config

from signtrain.config import TrainConfig, load_config
from signtrain.errors import ConfigError
from signtrain.training.budget import MIN_EPOCH_STEPS, PASSES_MAX, PASSES_MIN, auto_passes, describe, plan_budget


def _train(**kw) -> TrainConfig:
    return TrainConfig(**kw)


def test_no_budget_leaves_epochs_in_charge():
    assert plan_budget(_train(epochs=7), 500) is None


@pytest.mark.parametrize("n", [6, 30, 91, 180, 600, 1250, 3700, 50_000])
@pytest.mark.parametrize("batch", [16, 64])
def test_the_auto_budget(n, batch):
    budget = plan_budget(_train(steps="auto", batch_size=batch), n)
    passes = budget.steps / budget.pass_steps
    assert budget.pass_steps == -(-n // batch)
    assert PASSES_MIN - 1 <= passes <= PASSES_MAX + budget.epoch_steps / budget.pass_steps  # rounding to epochs
    assert budget.epoch_steps >= min(MIN_EPOCH_STEPS, budget.steps) and budget.epochs >= 1
    assert budget.steps == budget.epochs * budget.passes_per_epoch * budget.pass_steps
    # an epoch is one pass once a pass is long enough; several passes on small sets
    assert (budget.passes_per_epoch == 1) == (budget.pass_steps >= MIN_EPOCH_STEPS)
    assert f"{budget.steps} steps" in describe(budget) and "auto" in describe(budget)


def test_small_sets_get_more_passes_and_large_sets_more_steps():
    sizes = [20, 90, 400, 1250, 5000, 20000]
    passes = [auto_passes(n) for n in sizes]
    steps = [plan_budget(_train(steps="auto", batch_size=64), n).steps for n in sizes]
    assert passes == sorted(passes, reverse=True) and passes[0] == PASSES_MAX and passes[-1] == PASSES_MIN
    assert steps == sorted(steps)
    assert auto_passes(1250) == pytest.approx(150)


@pytest.mark.parametrize("steps, n, batch, epochs, per_epoch", [(600, 91, 64, 38, 8), (100, 1000, 50, 5, 1),
                                                                (10, 91, 64, 1, 8), (1000, 3200, 32, 10, 1)])
def test_a_fixed_budget(steps, n, batch, epochs, per_epoch):
    budget = plan_budget(_train(steps=steps, batch_size=batch), n)
    assert (budget.epochs, budget.passes_per_epoch) == (epochs, per_epoch)
    assert abs(budget.steps - steps) <= budget.epoch_steps / 2 + 1 or budget.epochs == 1


def test_an_explicit_epoch_count_wins_over_a_recipe_budget(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("train:\n  steps: auto\n  epochs: 150\n")
    assert load_config(recipe).train.steps == "auto"
    assert load_config(recipe, ["train.epochs=5"]).train.steps is None
    assert load_config(recipe, ["train.epochs=5", "train.steps=300"]).train.steps == 300
    assert load_config("default").train.steps == "auto" and load_config("base").train.steps is None


@pytest.mark.parametrize("value, match", [("0", "below the minimum 1"), ("lots", "give a number or auto"),
                                          ("-3", "below the minimum")])
def test_bad_budgets_are_refused(value, match):
    with pytest.raises(ConfigError, match=match):
        load_config("base", [f"train.steps={value}"])


@pytest.mark.slow
def test_a_budgeted_training_runs_its_steps_in_epochs_of_several_passes(tree, tmp_path):
    from signtrain.training.run import train

    config = tiny_config(tree(sequences=6, features=63), tmp_path / "models", "train.steps=12",
                         "split.validation_fraction=0.0", "split.test_fraction=0.25", "train.batch_size=8")
    result = train(config)
    budget = result.metrics["budget"]
    # 13 training recordings in batches of 8: 2 steps a pass -> 8 passes (16 steps) an epoch -> one epoch
    assert (budget["pass_steps"], budget["passes_per_epoch"], budget["epochs"]) == (2, 8, 1)
    assert result.epochs_run == 1
    saved = json.loads((tmp_path / "models" / "metrics.json").read_text())
    assert saved["budget"]["steps"] == 16 and "train.steps: 12" in saved["budget"]["rule"]
    history = (tmp_path / "models" / "logs" / "history.csv").read_text().splitlines()
    assert len(history) == 2  # header + the one epoch


@pytest.mark.slow
@pytest.mark.parametrize("precomputed", [True, False])
def test_every_epoch_takes_its_steps_from_one_pipeline_iterator(tree, tmp_path, monkeypatch, precomputed):
    import keras
    import tensorflow as tf

    from signtrain.training.run import TrainRequest, train

    made, batches = [], []
    iterate = tf.data.Dataset.__iter__
    monkeypatch.setattr(tf.data.Dataset, "__iter__", lambda self: made.append(self) or iterate(self))

    class Count(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            batches.append(0)

        def on_train_batch_end(self, batch, logs=None):
            batches[-1] += 1

    config = tiny_config(tree(sequences=6, features=63), tmp_path / "models", "train.steps=48",
                         "split.validation_fraction=0.0", "split.test_fraction=0.25", "train.batch_size=8",
                         "augment.crop=0.2", f"augment.precomputed={str(precomputed).lower()}")
    result = train(TrainRequest(config, callbacks=[Count()]))
    budget = result.metrics["budget"]
    # 13 training recordings in batches of 8: 2 steps a pass, 8 passes (16 steps) an epoch, 3 epochs
    assert (budget["pass_steps"], budget["passes_per_epoch"], budget["epochs"]) == (2, 8, 3)
    assert batches == [16, 16, 16]
    assert len(made) == 1   # a fresh iterator per epoch re-instantiated the whole pipeline each time
