import json
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_config, write_tree
from typer.testing import CliRunner

from signtrain.cli.app import app
from signtrain.config import load_config
from signtrain.deploy import export as export_module
from signtrain.deploy.export import export
from signtrain.deploy.predict import stream, windows
from signtrain.deploy.predictor import load_predictor
from signtrain.registry import EXPORT_FORMATS
from signtrain.training.run import train

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("export")
    data = write_tree(base / "MP_Data", signs=("a", "b", "c"), sequences=12, frames=10, features=126)
    train(tiny_config(data, base / "models", "model.units=[8, 6]", "model.return_sequences=[true, false]",
                      features=126, epochs=3))
    return base, data, base / "models" / "lstm_model.h5"


def test_every_format_reloads_and_matches_keras(trained, tmp_path):
    base, data, model = trained
    available = [f for f in ("tflite", "saved_model", "keras", "onnx")
                 if not export_module._missing_modules(EXPORT_FORMATS[f])]
    report = export(model, available, output=tmp_path)
    assert [e.format for e in report.entries] == available and all(e.passed for e in report.entries)
    keras_predictor = load_predictor(model)
    X = np.stack([np.load(p) for p in sorted((data / "b" / "3").glob("*.npy"),
                                             key=lambda p: int(p.stem))])[None].astype(np.float32)
    X[0, 7:] = 0  # padded tail: the exported graphs must mask it as the Keras model does
    expected = keras_predictor.predict_proba(X)
    for entry in report.entries:
        loaded = load_predictor(entry.path)
        np.testing.assert_allclose(loaded.predict_proba(X), expected, atol=1e-5)
        assert loaded.labels == ["a", "b", "c"]
        assert entry.latency_median_ms > 0 and entry.size_bytes > 0
    tflite = next(e for e in report.entries if e.format == "tflite")
    assert not [op for op in tflite.ops if op.lower().startswith("flex")]
    for entry in report.entries:  # each file its own sidecar, tied to its run
        meta = json.loads((Path(entry.path).parent / (Path(entry.path).name + ".meta.json")).read_text())
        assert meta["export"]["normalization_in_graph"] is (entry.format != "keras")
        assert meta["export"]["source"]["run_id"] == meta["run_id"] and meta["files"]
    assert not (tmp_path / "lstm_model.meta.json").exists()
    assert (tmp_path / "labels.txt").read_text().split() == ["a", "b", "c"]
    # signtrain predict with each exported file on held-out recordings: the Keras model's answer
    test_sources = json.loads((base / "models" / "lstm_model.meta.json").read_text())["split"]["test_sources"]
    for source in test_sources[:1]:
        want = json.loads(runner.invoke(app, ["predict", str(model), str(data / source), "--json", "--top-k",
                                              "3"]).stdout)["top_k"]
        for entry in report.entries:
            got = json.loads(runner.invoke(app, ["predict", entry.path, str(data / source), "--json", "--top-k",
                                                 "3"]).stdout)["top_k"]
            assert [g["sign"] for g in got][:1] == [w["sign"] for w in want][:1]
            assert [g["probability"] for g in got] == pytest.approx([w["probability"] for w in want], abs=1e-5)


def test_base_architecture_converts_to_builtin_ops_only(tmp_path):
    data = write_tree(tmp_path / "MP_Data", signs=("a", "b"), sequences=8, frames=30, features=225)
    config = load_config("base", ["train.epochs=1", "train.tensorboard=false", "model.unroll=false"],
                         data=str(data), output=str(tmp_path / "models"))
    train(config)
    report = export(tmp_path / "models" / "lstm_model.h5", ["tflite"])
    entry = report.entries[0]
    assert entry.passed and entry.max_abs_diff <= 1e-5, entry.note
    assert "WHILE" in entry.ops and not [op for op in entry.ops if "flex" in op.lower()]


def test_int8_calibrates_on_training_sequences(trained, tmp_path, monkeypatch, capfd):
    base, _, model = trained
    seen = {}
    from signtrain.deploy.formats import tflite

    original = tflite.write

    def spy(predictor, quantize, calibration, path):
        seen["calibration"] = calibration
        return original(predictor, quantize, calibration, path)

    monkeypatch.setattr(tflite, "write", spy)
    report = export(model, ["tflite"], quantize="int8", output=tmp_path)
    entry = report.entries[0]
    assert entry.passed, entry.note
    assert entry.path.endswith("lstm_model_int8.tflite") and "QUANTIZE" in entry.ops
    calibration = seen["calibration"]
    train_size = json.loads((base / "models" / "metrics.json").read_text())["train_sequences"]
    assert len(calibration) == train_size and calibration.shape[1:] == (10, 126)  # the training split, raw
    assert np.abs(calibration).max() > 0
    noise = capfd.readouterr().err
    assert "Statistics for quantized inputs" not in noise and "WARNING" not in noise  # the converter kept quiet


def test_failed_parity_exits_1_and_writes_nothing(trained, tmp_path, monkeypatch):
    _, _, model = trained
    monkeypatch.setitem(EXPORT_FORMATS["tflite"].thresholds, "none", (-1.0, 1.0))
    result = runner.invoke(app, ["export", str(model), "--format", "tflite", "--output", str(tmp_path)])
    assert result.exit_code == 1 and "parity check failed" in result.stdout
    assert not list(tmp_path.glob("*.tflite")) and not list(tmp_path.glob(".*"))


def test_missing_onnx_packages_are_a_clear_message(trained, tmp_path, monkeypatch):
    _, _, model = trained
    monkeypatch.setattr(export_module, "_missing_modules", lambda fmt: list(fmt.modules))
    result = runner.invoke(app, ["export", str(model), "--format", "onnx", "--output", str(tmp_path)])
    assert result.exit_code == 1 and "pip install 'signtrain[onnx]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_predict_top_k_on_a_folder_and_a_npy(trained, tmp_path):
    base, data, model = trained
    out = runner.invoke(app, ["predict", str(model), str(data / "a" / "2"), "--json", "--top-k", "2"])
    ranked = json.loads(out.stdout)["top_k"]
    assert out.exit_code == 0 and len(ranked) == 2 and ranked[0]["probability"] >= ranked[1]["probability"]
    frames = np.stack([np.load(data / "a" / "2" / f"{t}.npy") for t in range(10)])
    np.save(tmp_path / "rec.npy", frames)
    again = json.loads(runner.invoke(app, ["predict", str(model), str(tmp_path / "rec.npy"), "--json",
                                           "--top-k", "2"]).stdout)["top_k"]
    assert again[0]["sign"] == ranked[0]["sign"]
    assert again[0]["probability"] == pytest.approx(ranked[0]["probability"], abs=1e-6)
    np.save(tmp_path / "wrong.npy", np.ones((10, 63)))
    bad = runner.invoke(app, ["predict", str(model), str(tmp_path / "wrong.npy")])
    assert bad.exit_code == 1 and "63" in bad.stderr and "126" in bad.stderr


class _Scripted:
    """A predictor that reads a window's sign from value 0 of its moving frames (1 = hello, 2 = thanks)."""

    labels = ["hello", "thanks"]

    def predict_proba(self, X):
        out = []
        for window in X:
            moving = np.abs(np.diff(window, axis=0)).sum(axis=1) > 0
            sign = int(round(window[1:][moving, 0].mean())) - 1 if moving.any() else 0
            out.append([0.95, 0.05] if sign == 0 else [0.1, 0.9])
        return np.array(out)


def test_stream_says_each_sign_once_with_frame_positions():
    from signtrain.deploy.live import LiveSettings

    def signing(sign, n=8):
        frames = np.zeros((n, 3))
        frames[:, 0], frames[:, 1] = sign, np.linspace(0, 1, n)
        return frames

    frames = np.concatenate([signing(1), np.repeat(signing(1)[-1:], 10, axis=0), signing(2),
                             np.repeat(signing(2)[-1:], 10, axis=0)])
    assert windows(frames, 4).shape == (33, 4, 3)
    settings = LiveSettings(span=8, length=4, resample=True, truncate="keep_start", motion=1e-3, gap=3, wait=4, stride=2,
                            threshold=0.8, hold=2)
    result = stream(_Scripted(), frames, settings, fps=10.0)
    assert result.sentence == "hello thanks"
    first, second = result.emissions
    assert (first.start_frame, first.frame) == (3, 10) and (second.start_frame, second.frame) == (21, 28)
    assert first.probability == pytest.approx(0.95) and first.end_s == pytest.approx(1.1)
    assert stream(_Scripted(), frames, LiveSettings(**{**settings.to_dict(), "threshold": 0.99})).emissions == []


@pytest.mark.parametrize("kind, extra", [
    ("gru", ["model.conv_filters=[6]", "model.conv_kernel=3", "data.resample=true", "augment.crop=0.3"]),
    ("gru", ["model.conv_filters=[6, 6]", "model.conv_stride=2", "data.resample=true", "augment.crop=0.3",
             "augment.precomputed=true"]),
    ("bilstm", ["augment.speed=0.2"]),
    ("transformer", ["model.conv_filters=[8]", "model.units=[8]", "model.return_sequences=[true]",
                     "augment.speed=0.2"]),
])
def test_every_model_kind_exports_to_builtin_tflite(kind, extra, tmp_path):
    data = write_tree(tmp_path / "MP_Data", signs=("a", "b", "c"), sequences=12, frames=8, features=126)
    config = tiny_config(data, tmp_path / "m", f"model.kind={kind}", "preprocess.sort_hands=true",
                         "preprocess.hand_normalization=true", "preprocess.presence=true",
                         "preprocess.velocity=true", "augment.rotation=5", *extra,
                         features=126, frames=8, epochs=1)
    train(config)
    report = export(tmp_path / "m" / "lstm_model.h5", ["tflite"])
    entry = report.entries[0]
    assert entry.passed, entry.note
    assert not [op for op in entry.ops if "flex" in op.lower()]
    reloaded = load_predictor(tmp_path / "m" / "lstm_model.h5")  # custom layers load back
    assert reloaded.model is not None


def test_predict_on_tflite_never_imports_tensorflow(trained, tmp_path):
    import subprocess
    import sys

    base, data, model = trained
    report = export(model, ["tflite"], output=tmp_path)
    code = ("import sys\nfrom signtrain.cli.app import main\nsys.argv = ['signtrain', 'predict', sys.argv[1], sys.argv[2], "
            "'--json']\ntry:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print('TF', any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code, report.entries[0].path, str(data / "a" / "2")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("TF False") and '"top_k"' in done.stdout
    assert "Traceback" not in done.stderr and done.stderr.strip() == ""


def test_evaluate_sentences_judges_the_live_path_on_held_out_recordings(trained):
    _, _, model = trained
    result = runner.invoke(app, ["evaluate", str(model), "--sentences", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {(r["kind"], r["pause_s"]) for r in report["rows"]}
    assert {("still", 0.2), ("still", 1.5), ("nothing", 0.5), ("none", 0.0)} <= rows and len(rows) == 9
    for row in report["rows"]:
        assert row["sentences"] == 20 and 0 <= row["wer"] and 0 <= row["rest_clean"] <= 1
        assert row["words"] >= 60  # 3-5 signs a sentence
        assert 0 <= row["misread_alone"] <= row["words"]
        assert row["wer_alone"] == round(row["misread_alone"] / row["words"], 4)
    # every row is drawn from the same seeded sentences: the same words, so the same recordings misread alone
    assert len({(r["words"], r["misread_alone"]) for r in report["rows"]}) == 1
    assert report["settings"]["span"] == 10 and report["settings"]["length"] == 10
    shown = runner.invoke(app, ["evaluate", str(model), "--sentences"])
    assert shown.exit_code == 0 and "WER" in shown.stdout and "nothing" in shown.stdout
    assert "alone" in shown.stdout and "misreads even on their own" in shown.stdout
    table = [line for line in shown.stdout.splitlines() if line.startswith(("pause", "0.2 s still", "none"))]
    assert len(table) == 3 and not any("…" in line or len(line) > 80 for line in table)  # whole in 80 columns


def test_predict_speaks_the_sign_into_a_wav(trained, tmp_path):
    import wave

    _, data, model = trained
    frames = np.stack([np.load(p) for p in sorted((data / "b" / "3").glob("*.npy"), key=lambda p: int(p.stem))])
    np.save(tmp_path / "rec.npy", frames)
    result = runner.invoke(app, ["predict", str(model), str(tmp_path / "rec.npy"), "--speak-to",
                                 str(tmp_path / "said.wav")])
    assert result.exit_code == 0, result.output
    with wave.open(str(tmp_path / "said.wav")) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    assert len(samples) > 1000 and np.abs(samples.astype(float)).mean() > 50


def test_fine_tuning_from_an_exported_file_names_the_run_s_model(trained, tmp_path):
    _, data, model = trained
    export(model, ["tflite"], output=tmp_path / "exp")
    result = runner.invoke(app, ["train", "--init", str(tmp_path / "exp" / "lstm_model.tflite"), "--data", str(data),
                                 "--output", str(tmp_path / "m")])
    assert result.exit_code == 2 and "an exported tflite file" in result.stderr and "lstm_model.h5" in result.stderr
