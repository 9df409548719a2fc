"""train --folds: the fold logic (every recording tested once, stratified, signers kept whole), the
summary's arithmetic, the final model as asked, and the command end to end on a tiny model."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import TINY_MODEL, tiny_config
from typer.testing import CliRunner

from signtrain.cli.app import app
from signtrain.config import SplitConfig
from signtrain.data.split import fold_splits
from signtrain.errors import ConfigError, DataError
from signtrain.training.crossval import CrossValResult, FoldResult, cross_validate

runner = CliRunner()


def _labels(counts) -> np.ndarray:
    return np.concatenate([np.full(n, k) for k, n in enumerate(counts)])


@pytest.mark.parametrize("counts, folds, val", [((10, 10, 10), 5, 0.1), ((6, 9, 15, 7), 3, 0.0),
                                                ((5, 5), 5, 0.2), ((40, 12, 25), 4, 0.15)])
def test_every_recording_is_tested_exactly_once_and_every_fold_is_stratified(counts, folds, val):
    y = _labels(counts)
    splits = fold_splits(y, SplitConfig(validation_fraction=val), folds, seed=3)
    assert len(splits) == folds
    tested = np.concatenate([s.test for s in splits])
    assert sorted(tested) == list(range(len(y)))
    for s in splits:
        parts = [set(s.train), set(s.val), set(s.test)]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert len(s.train) + len(s.val) + len(s.test) == len(y)
        for k, n in enumerate(counts):  # each sign's share of the fold: n / folds, give or take one
            assert abs(np.sum(y[s.test] == k) - n / folds) < 1
        assert (len(s.val) > 0) == (val > 0)
    again = fold_splits(y, SplitConfig(validation_fraction=val), folds, seed=3)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(splits, again))
    other = fold_splits(y, SplitConfig(validation_fraction=val), folds, seed=4)
    assert not all(np.array_equal(a.test, b.test) for a, b in zip(splits, other))


def test_grouped_folds_keep_each_signer_whole():
    rng = np.random.default_rng(0)
    y = np.tile(np.arange(4), 30)
    signers = [f"p{v}" for v in rng.integers(0, 6, len(y))]
    splits = fold_splits(y, SplitConfig(validation_fraction=0.2, group_by="participant"), 3, seed=0, groups=signers)
    assert sorted(np.concatenate([s.test for s in splits])) == list(range(len(y)))
    for s in splits:
        who = [{signers[i] for i in part} for part in (s.train, s.val, s.test)]
        assert not (who[0] & who[2] or who[1] & who[2] or who[0] & who[1])


@pytest.mark.parametrize("counts, folds, groups, match", [
    ((10, 3), 5, None, "smallest sign has 3 recordings.*--folds 3"),
    ((10, 10), 4, ["a", "b", "c"] * 6 + ["a", "b"], "needs at least 4 signers; the data has 3"),
])
def test_impossible_fold_counts_are_refused_with_what_would_work(counts, folds, groups, match):
    cfg = SplitConfig(group_by="participant" if groups else "none")
    with pytest.raises(DataError, match=match):
        fold_splits(_labels(counts), cfg, folds, seed=0, groups=groups)


def test_the_summary_statistics():
    result = CrossValResult(3, 2, False, "all", [
        FoldResult(r, k, "x", acc, f1, 10, 1.0)
        for (r, k, acc, f1) in [(1, 1, 0.9, 0.8), (1, 2, 1.0, 1.0), (1, 3, 0.8, 0.7),
                                (2, 1, 1.0, 1.0), (2, 2, 0.9, 0.9), (2, 3, 0.9, 0.8)]])
    mean, std = result.stat("accuracy")
    assert mean == pytest.approx(0.9166667) and std == pytest.approx(np.std([.9, 1, .8, 1, .9, .9], ddof=1))
    # repeats: the standard error comes from the repeat means (0.9 and 0.9333)
    assert result.standard_error("accuracy") == pytest.approx(np.std([0.9, 0.93333333], ddof=1) / np.sqrt(2))
    summary = result.to_dict()
    assert summary["macro_f1_mean"] == pytest.approx(np.mean([.8, 1, .7, 1, .9, .8])) and len(summary["results"]) == 6


def test_folds_then_a_final_model_on_all_the_data(tree, tmp_path):
    config = tiny_config(tree(sequences=8, features=63), tmp_path / "models", "split.validation_fraction=0.2")
    seen = []

    def fake_train(request):
        split, name, record = request.split, request.name, request.record
        seen.append((split, name, record))
        n = len(seen)
        accuracy = None if not len(split.test) else 0.5 + 0.1 * n
        return SimpleNamespace(run_id=f"run{n}", test_accuracy=accuracy, metrics={"test_macro_f1": accuracy},
                               train_seconds=1.0, interrupted=False)

    result = cross_validate(config, 4, repeats=2, final="all", train_fold=fake_train, name="letters")
    assert len(seen) == 9 and [r.accuracy for r in result.results] == pytest.approx([0.6 + 0.1 * i for i in range(8)])
    assert [name for _, name, _ in seen[:5]] == ["letters-fold1-r1", "letters-fold2-r1", "letters-fold3-r1",
                                                 "letters-fold4-r1", "letters-fold1-r2"]
    final_split, final_name, final_record = seen[-1]
    assert final_name == "letters" and len(final_split.test) == 0
    assert len(final_split.train) + len(final_split.val) == 24 and len(final_split.val) > 0
    assert final_record["crossval"]["final"] and final_record["crossval"]["accuracy_mean"] == pytest.approx(0.95)
    saved = json.loads(result.path.read_text())
    assert saved["final_run"] == "run9" and saved["folds"] == 4 and saved["repeats"] == 2
    # the two repeats assign folds differently
    assert not np.array_equal(seen[0][0].test, seen[4][0].test)


def test_a_wrong_final_or_fold_count_is_refused(tree, tmp_path):
    config = tiny_config(tree(sequences=8, features=63), tmp_path / "models")
    with pytest.raises(ConfigError, match="--final last"):
        cross_validate(config, 3, final="last", train_fold=lambda *a, **k: None)
    with pytest.raises(ConfigError, match="at least 2 folds"):
        cross_validate(config, 1, train_fold=lambda *a, **k: None)


@pytest.mark.slow
def test_train_folds_end_to_end_keeps_the_best_fold(tree, tmp_path):
    data = tree(sequences=8, features=63)
    models = tmp_path / "models"
    keys = [*TINY_MODEL, "train.epochs=2", "data.sequence_length=10", "split.validation_fraction=0.25"]
    args = ["train", "--data", str(data), "--output", str(models), "-q", "--folds", "2", "--final", "best",
            *(a for s in keys for a in ("--set", s))]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2-fold cross-validation" in result.stdout and "mean ± std" in result.stdout
    summary = json.loads(next((models / "crossval").glob("*.json")).read_text())
    assert [r["fold"] for r in summary["results"]] == [1, 2]
    best = max(summary["results"], key=lambda r: r["accuracy"])
    assert summary["final_run"] == best["run_id"] and (models / "current").resolve().name == best["run_id"]
    metrics = json.loads((models / "runs" / best["run_id"] / "metrics.json").read_text())
    assert metrics["crossval"]["fold"] == best["fold"] and metrics["test_sequences"] == 12
    assert metrics["test_accuracy"] == pytest.approx(best["accuracy"])
    # each fold is an ordinary run: evaluate re-tests its own held-out fold
    evaluated = runner.invoke(app, ["evaluate", str(models / "lstm_model.h5"), "--json"])
    assert evaluated.exit_code == 0 and json.loads(evaluated.stdout)["accuracy"] == pytest.approx(best["accuracy"])


def test_folds_refuse_resume_and_init(tmp_path):
    result = runner.invoke(app, ["train", "--folds", "3", "--init", str(tmp_path / "m.h5")])
    assert result.exit_code == 2 and "--folds trains new runs from scratch" in result.stderr


def test_folds_with_a_sign_of_one_recording_say_why():
    from signtrain.config import SplitConfig
    from signtrain.data.split import fold_splits
    from signtrain.errors import DataError

    y = np.array([0, 0, 0, 1, 1, 1, 2])
    with pytest.raises(DataError, match="at least 2 of every sign") as refused:
        fold_splits(y, SplitConfig(), 2, 0)
    assert "--folds 2" not in str(refused.value).split(":", 1)[1]  # it does not suggest what was asked
    with pytest.raises(DataError, match="use --folds 3"):
        fold_splits(np.array([0, 0, 0, 1, 1, 1, 1]), SplitConfig(), 4, 0)
