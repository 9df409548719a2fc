"""Web: a folder that runs offline from any static host (`signtrain serve FOLDER`): the page
(signtrain/deploy/web/page), the model as ONNX for onnxruntime-web, labels, the stream's windowing
and decision facts (settings.json, read by the page's port of deploy.live), the MediaPipe Holistic
bundle `signtrain extract` uses, and the runtimes' JavaScript and wasm files (deploy/web/assets).
Its parity check runs the folder's model.onnx in onnxruntime (the browser's run is tested by
tests/test_web.py in a real Chromium)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from signtrain.deploy.formats import onnx
from signtrain.deploy.predictor import Predictor
from signtrain.deploy.runners import Runner

MODEL = "model.onnx"
BUNDLE = "holistic_landmarker.task"
PAGE = Path(__file__).resolve().parents[1] / "web" / "page"


def settings(predictor: Predictor) -> dict:
    """What the page needs besides its files: signs, the frame vector's selection, the stream's facts."""
    from signtrain.deploy import live
    from signtrain.deploy.speech import mapping
    from signtrain.deploy.web.assets import PACKAGES
    from signtrain.extract.holistic import layout_for_width, selection

    meta, data = predictor.meta, predictor.meta.config.data
    facts = meta.live or {}
    extents = facts.get("sign_frames") or {}
    return {
        "labels": list(predictor.labels),
        "selection": selection(layout_for_width(predictor.feature_length)).tolist(),
        "input": {"frames": predictor.sequence_length, "features": predictor.feature_length},
        "live": {"recording_frames": facts.get("recording_frames"), "fps": facts.get("fps"),
                 "motion": facts.get("motion"), "length": predictor.sequence_length, "resample": bool(data.resample),
                 "sign_frames": [extents.get(s) for s in predictor.labels] if extents else None,
                 "truncate": data.truncate, "default_fps": live.DEFAULT_FPS, "default_motion": live.DEFAULT_MOTION,
                 "gap_seconds": live.GAP_SECONDS, "wait_seconds": live.WAIT_SECONDS, "threshold": live.THRESHOLD,
                 "hold": live.HOLD},
        "words": mapping(meta.config.speech.words),
        "model": {"file": MODEL, "run_id": meta.run_id},
        "packages": {p.name: p.version for p in PACKAGES},
    }


def write(predictor: Predictor, quantize: str, calibration: np.ndarray, path: Path,
          web_assets: Optional[Path] = None, model_asset: Optional[Path] = None,
          on_download: Optional[Callable[[str], None]] = None) -> None:
    from signtrain.deploy.web.assets import copy_into
    from signtrain.extract import asset

    config = settings(predictor)  # first: a model of a layout the page cannot build is refused before any work
    bundle = asset.resolve(model_asset, on_download)
    path.mkdir(parents=True)
    for page_file in sorted(PAGE.iterdir()):
        shutil.copyfile(page_file, path / page_file.name)
    copy_into(path / "vendor", web_assets, on_download)
    shutil.copyfile(bundle, path / BUNDLE)
    onnx.write(predictor, quantize, calibration, path / MODEL)
    (path / "labels.txt").write_text("\n".join(predictor.labels) + "\n")
    (path / "settings.json").write_text(json.dumps(config, indent=1) + "\n")


def open_runner(path: Path) -> Runner:
    return onnx.open_runner(path / MODEL)
