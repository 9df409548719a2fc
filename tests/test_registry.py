"""Each extension point takes a new entry as one module plus one registry line: a toy of each is
registered here and used through the ordinary library calls."""

import numpy as np
import pytest
from conftest import TINY_MODEL, tiny_config, write_tree

from signtrain import registry
from signtrain.config import describe_keys, load_config
from signtrain.errors import ConfigError


@pytest.fixture
def toy_reader():
    """Registers the toy reader ahead of the fallback (mp_data stays last), and restores the table."""
    saved = dict(registry.READERS)
    entries = list(saved.values())
    registry.READERS.clear()
    for entry in entries[:-1] + [registry.Reader("toy", "toy_extensions", "toy text files")] + entries[-1:]:
        registry.READERS[entry.name] = entry
    yield
    registry.READERS.clear()
    registry.READERS.update(saved)


def _toy_tree(root, signs=("left", "right"), recordings=4, frames=6, width=5):
    rng = np.random.default_rng(0)
    root.mkdir()
    (root / "TOY").write_text("")
    for k, sign in enumerate(signs):
        (root / sign).mkdir()
        for i in range(recordings):
            np.savetxt(root / sign / f"{i}.txt", rng.normal(k, 0.1, (frames, width)))
    return root


def test_a_data_format_is_one_module_and_one_registry_line(toy_reader, tmp_path):
    from signtrain.data import detect_format, load_dataset

    root = _toy_tree(tmp_path / "toy_data")
    assert detect_format(root, "auto") == "toy"
    assert "toy" in next(k for k in describe_keys() if k.key == "data.format").allowed
    for setting in ("auto", "toy"):
        cfg = load_config("base", [f"data.format={setting}", "data.features_per_frame=null", "data.cache=false",
                                   "data.sequence_length=6"], data=str(root))
        ds = load_dataset(cfg.data)
        assert ds.format == "toy" and ds.labels == ["left", "right"] and len(ds) == 8 and ds.feature_length == 5
        assert np.allclose(ds.X[ds.y == 1].mean(), 1.0, atol=0.1)


def test_an_unregistered_data_format_is_refused_by_the_config():
    with pytest.raises(ConfigError, match="data.format: 'toy' is not allowed"):
        load_config("base", ["data.format=toy"])


def test_a_model_kind_is_one_module_and_one_registry_line(monkeypatch):
    from signtrain.models import build_model

    with pytest.raises(ConfigError, match="model.kind: 'toy_mean' is not allowed"):
        load_config("base", ["model.kind=toy_mean"])
    monkeypatch.setitem(registry.MODEL_KINDS, "toy_mean",
                        registry.ModelKind("toy_mean", "toy_extensions", "units of the one dense layer"))
    cfg = load_config("base", [*TINY_MODEL, "model.kind=toy_mean", "model.units=[4]", "model.dense_units=[]"])
    model = build_model(cfg.model, 10, 7, 3)
    assert [layer.name for layer in model.layers][-3:] == ["toy_mean", "toy_dense", "sign_probabilities"]
    assert model(np.zeros((2, 10, 7), np.float32)).shape == (2, 3)


@pytest.mark.slow
def test_an_export_format_is_one_module_and_one_registry_line(monkeypatch, tmp_path):
    from signtrain.deploy.export import export
    from signtrain.deploy.predictor import load_predictor
    from signtrain.store import metadata
    from signtrain.training.run import train

    monkeypatch.setitem(registry.EXPORT_FORMATS, "toy", registry.ExportFormat("toy", "toy_extensions", ".toymodel",
                                                                              baked=False))
    data = write_tree(tmp_path / "MP_Data", sequences=12, frames=10, features=63)
    train(tiny_config(data, tmp_path / "models", epochs=1))
    model = tmp_path / "models" / "lstm_model.h5"
    report = export(model, ["toy"], output=tmp_path / "out")
    entry = report.entries[0]
    assert entry.passed and entry.max_abs_diff <= 1e-5, entry.note
    exported = tmp_path / "out" / "lstm_model.toymodel"
    assert exported.is_file() and metadata.load(exported).export.format == "toy"
    X = np.random.default_rng(1).normal(size=(2, 10, 63)).astype(np.float32)
    assert np.allclose(load_predictor(exported).predict_proba(X), load_predictor(model).predict_proba(X), atol=1e-5)
