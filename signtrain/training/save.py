"""A finished fit becomes a run: test figures, model, normalisation, metadata (with the checksums that
bind them), metrics and curves, staged, then committed whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from signtrain import store
from signtrain.config import Config
from signtrain.deploy.evaluate import compute_metrics, log_loss
from signtrain.extract.plan import extraction_of
from signtrain.layouts import detect_layout
from signtrain.store import metadata, runs
from signtrain.store.files import RunPaths
from signtrain.store.metadata import RunMetadata
from signtrain.training.curves import write_curves
from signtrain.training.prepare import Prepared
from signtrain.training.request import TrainResult


def test(model: Any, prepared: Prepared) -> dict:
    """Accuracy, loss and macro-F1 on the held-out split, with the metrics code evaluate uses (so the two
    agree to the last digit); empty when nothing is held out."""
    from signtrain.deploy.runners import keras_runner

    split, ds = prepared.split, prepared.dataset
    if not len(split.test):
        return {"test_accuracy": None, "test_loss": None, "test_macro_f1": None}
    probs = keras_runner(model)(prepared.normalised(split.test))
    y_test = ds.y[split.test]
    figures = compute_metrics(y_test, probs, ds.labels)
    # macro-F1 over the signs present in the held-out part (a fold may miss a rare sign)
    return {"test_accuracy": figures["accuracy"], "test_loss": log_loss(y_test, probs),
            "test_macro_f1": figures["macro"]["f1"]}


def _evenly(index: np.ndarray, most: int) -> np.ndarray:
    return index[np.linspace(0, len(index) - 1, min(len(index), most)).round().astype(int)] if len(index) else index


def _live_facts(prepared: Prepared, resample: bool) -> dict:
    """What live recognition needs to know of the training recordings: their typical raw length and
    how much a signer moves (from up to 500 of the training split), and how long each sign's movement
    typically lasts (from up to 50 of its own) - deploy.live."""
    from signtrain.deploy.live import calibrate, sign_extents
    from signtrain.training.pipeline import real_frames

    ds, train = prepared.dataset, prepared.split.train
    # the frames each stored row holds of its recording: all of them where recordings were resampled
    # (then at another rate than the camera's: calibrate needs their raw lengths), else the kept ones
    stored = real_frames(ds, resample)

    def recordings(index: np.ndarray) -> tuple[list, list]:
        rows = [np.asarray(ds.X[i, :min(int(stored[i]), ds.X.shape[1])]) for i in index]
        return rows, [int(ds.lengths[i]) if resample else len(row) for i, row in zip(index, rows)]

    facts = calibrate(*recordings(_evenly(train, 500)))
    facts["recording_frames"] = int(np.median(ds.lengths[train])) if len(train) else facts["recording_frames"]
    if facts["motion"]:
        own = np.concatenate([_evenly(train[ds.y[train] == k], 50) for k in range(len(ds.labels))])
        facts["sign_frames"] = sign_extents(*recordings(own), [ds.labels[int(ds.y[i])] for i in own], facts["motion"])
    # the frame rate where extraction knew it (every frame kept); elsewhere live.DEFAULT_FPS stands in
    return {**facts, "fps": (extraction_of(Path(ds.root)) or {}).get("fps")}


def save(model: Any, config: Config, prepared: Prepared, result: TrainResult, run: runs.RunWriter,
         plan: Any, current: bool = True) -> None:
    """Model, normalisation, metadata and metrics into the staging folder, then the commit."""
    paths, ds, split, norm = RunPaths.inside(run.staging, config.output), prepared.dataset, prepared.split, \
        prepared.normalizer
    store.save_preprocess(paths.preprocess, norm.mean, norm.std, norm.epsilon, norm.mode)
    written, kind, error = store.save_model_staged(model, paths.model)
    result.saved_as, result.save_error = kind, error
    layout = detect_layout(ds.feature_length)
    sources = ds.relative_sources()
    meta = RunMetadata(
        path=paths.metadata, model_path=written, run_id=run.run_id, labels=tuple(ds.labels),
        feature_length=ds.feature_length, layout=layout.name if layout else None,
        sequence_length=ds.sequence_length, normalizer=norm, config=config, saved_as=kind,
        data_path=str(Path(ds.root).resolve()), data_format=ds.format, fingerprint=prepared.fingerprint,
        test_sources=tuple(sources[i] for i in split.test), val_sources=tuple(sources[i] for i in split.val),
        export=None, extraction=extraction_of(Path(ds.root)), versions=store.library_versions(),
        files={written.name: store.file_digest(written), paths.preprocess.name: store.file_digest(paths.preprocess)},
        normalization_file=paths.preprocess.name, data_sequences=len(ds), data_account=prepared.summary.account,
        split_seed=config.train.seed, train_sequences=len(split.train), val_sequences=len(split.val),
        init=result.metrics.get("init"), live=_live_facts(prepared, config.data.resample))
    metadata.write(paths.metadata, meta.to_dict())
    state = result.state
    extra = dict(result.metrics)  # macro-F1, init, what the caller asked to record
    result.metrics = {
        "test_accuracy": result.test_accuracy, "test_loss": result.test_loss,
        "monitor": state.monitor, "best_epoch": state.best_epoch, "best_" + state.monitor: state.best,
        "weights": result.weights, "epochs_run": result.epochs_run, "train_seconds": round(result.train_seconds, 3),
        "train_sequences": len(split.train), "val_sequences": len(split.val), "test_sequences": len(split.test),
        "interrupted": result.interrupted, "saved_as": kind, "checkpoint_error": state.save_error,
        "distribute": plan.kind, "replicas": plan.replicas, "run_id": run.run_id,
        "data_account": prepared.summary.account,
        **{k: v for k, v in extra.items() if v is not None},
    }
    store.write_json(paths.metrics, result.metrics)
    if not write_curves(paths.history, state, paths.curves,
                        f"run {run.run_id}: {len(ds.labels)} signs, {Path(ds.root).name}"):
        result.notes.append("curves.png not drawn: matplotlib is not installed (pip install 'signtrain[plots]')")
    start = runs.read_json(run.path("start.json")) or {}
    record = runs.record_summary(data=str(Path(ds.root).resolve()), signs=len(ds.labels),
                                 test_accuracy=result.test_accuracy, epochs_run=result.epochs_run,
                                 interrupted=result.interrupted, resumed_from=start.get("resumed_from"))
    aliases = tuple(dict.fromkeys((*paths.names(), written.name)))
    result.run_dir = run.commit(record, aliases, current)
    result.saved_path = result.paths.dir / written.name
