import json
import shutil

import numpy as np
import pytest
from conftest import real_data, tiny_config, write_tree
from sklearn import metrics as skm
from typer.testing import CliRunner

from signtrain.cli.app import app
from signtrain.deploy.evaluate import compute_metrics, evaluate
from signtrain.errors import DataError, ModelError
from signtrain.training.run import train

runner = CliRunner()
LABELS = ["a", "b", "c", "d", "e", "f"]


def fixed_predictions():
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(6), 5)
    logits = rng.normal(size=(30, 6))
    logits[np.arange(30), y] += 1.2  # mostly right, sometimes not
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs


def test_every_figure_matches_scikit_learn():
    y, probs = fixed_predictions()
    pred = probs.argmax(axis=1)
    m = compute_metrics(y, probs, LABELS)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["top_k"]["top_3"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=3))
    assert m["top_k"]["top_5"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=5))
    for kind in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, pred, average=kind, zero_division=0)
        assert (m[kind]["precision"], m[kind]["recall"], m[kind]["f1"]) == pytest.approx((p, r, f))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, zero_division=0)
    assert [row["f1"] for row in m["per_sign"]] == pytest.approx(list(f))
    assert [row["support"] for row in m["per_sign"]] == [5] * 6
    assert m["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()
    assert [e["matrix"] for e in m["per_class_2x2"]] == skm.multilabel_confusion_matrix(y, pred).tolist()
    weakest = sorted(m["per_sign"], key=lambda r: r["f1"])[:3]
    assert all(row["weakest"] for row in weakest) and sum(r["weakest"] for r in m["per_sign"]) == 3
    cm = np.array(m["confusion_matrix"])
    top = m["confused_pairs"][0]
    assert top["count"] == max(cm[i, j] for i in range(6) for j in range(6) if i != j)


def test_top_k_only_where_there_are_enough_signs():
    y = np.array([0, 1, 2, 0])
    probs = np.eye(3)[[0, 1, 1, 0]]
    m = compute_metrics(y, probs, ["x", "y", "z"])
    assert m["top_k"] == {} and m["accuracy"] == 0.75


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("eval")
    data = write_tree(base / "MP_Data", signs=("a", "b", "c", "d"), sequences=12, frames=10, features=126)
    result = train(tiny_config(data, base / "models", features=126, epochs=3))
    return base, data, result


@pytest.mark.slow
def test_evaluate_reproduces_the_training_test_accuracy(trained):
    base, _, result = trained
    model = base / "models" / "lstm_model.h5"
    out = runner.invoke(app, ["evaluate", str(model), "--json", "--output", str(base / "ev")])
    assert out.exit_code == 0, out.stderr
    report = json.loads(out.stdout)
    metrics = json.loads((base / "models" / "metrics.json").read_text())
    assert report["accuracy"] == metrics["test_accuracy"] == result.test_accuracy
    assert report["sequences"] == metrics["test_sequences"] and report["split"] == "test"
    assert {"accuracy", "labels", "confusion_matrix", "per_sign"} <= set(report)
    for name in ("report.json", "per_sign.csv", "confusion_matrix.png"):
        assert (base / "ev" / name).is_file()
    assert (base / "ev" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    rows = (base / "ev" / "per_sign.csv").read_text().splitlines()
    assert rows[0] == "sign,precision,recall,f1,support" and len(rows) == 5
    text = runner.invoke(app, ["evaluate", str(model), "--output", str(base / "ev2")]).stdout
    assert f"Accuracy: {result.test_accuracy * 100:.2f}%" in text and "Per sign" in text


@pytest.mark.slow
def test_other_splits_and_other_trees(trained):
    base, data, result = trained
    model = base / "models" / "lstm_model.h5"
    sizes = {s: evaluate(model, split=s).sequences for s in ("test", "val", "train", "all")}
    # reading without the cache is the same data: no "changed since training" note
    assert evaluate(model, use_cache=False).notes == []
    assert sizes["all"] == 48 == sizes["test"] + sizes["val"] + sizes["train"]
    # another tree in the same layout, with a subset of the signs and longer recordings
    other = write_tree(base / "other", signs=("b", "d"), sequences=3, frames=14, features=126, seed=5)
    report = evaluate(model, data=str(other))
    assert report.sequences == 6 and report.labels == ["a", "b", "c", "d"]
    assert any("8 truncated" in note or "truncated" in note for note in report.notes)


@pytest.mark.slow
def test_incompatible_data_is_refused(trained):
    base, _, _ = trained
    model = base / "models" / "lstm_model.h5"
    big = write_tree(base / "holistic", signs=("a", "b"), sequences=2, frames=4, features=1662)
    out = runner.invoke(app, ["evaluate", str(model), "--data", str(big)])
    assert out.exit_code == 1 and "1662" in out.stderr and "126" in out.stderr and "Traceback" not in out.stderr
    strange = write_tree(base / "strange", signs=("a", "zebra"), sequences=2, frames=4, features=126)
    with pytest.raises(DataError, match="never learned: zebra"):
        evaluate(model, data=str(strange))


@pytest.mark.slow
def test_missing_metadata_or_corrupt_model(trained, tmp_path):
    base, _, _ = trained
    lonely = tmp_path / "lstm_model.h5"
    shutil.copy(base / "models" / "lstm_model.h5", lonely)
    with pytest.raises(ModelError, match="lstm_model.meta.json not found"):
        evaluate(lonely)
    shutil.copy(base / "models" / "lstm_model.meta.json", tmp_path / "lstm_model.meta.json")
    lonely.write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    out = runner.invoke(app, ["evaluate", str(lonely)])
    assert out.exit_code == 1 and "come from different runs" in out.stderr and "Traceback" not in out.stderr
    assert runner.invoke(app, ["evaluate", str(tmp_path / "none.h5")]).exit_code == 1


@pytest.mark.slow
def test_real_dgs_mpdata_model_evaluates_on_its_tree(tmp_path):
    root = real_data("dgs_mpdata")
    train(tiny_config(root, tmp_path / "m", features=126, frames=30, epochs=1))
    report = evaluate(tmp_path / "m" / "lstm_model.h5", data=str(root))
    assert report.sequences == 120 and len(report.labels) == 8 and 0 <= report.accuracy <= 1
    assert any("padded" in note for note in report.notes)
