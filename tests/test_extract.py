"""signtrain extract and prediction from video.

Planning, naming, numbering, sampling and the model-bundle download need neither MediaPipe nor a
video; the extraction tests run MediaPipe Holistic on the real clip in ../shared/media and skip
cleanly where the extract extra or that folder is absent.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_MODEL
from typer.testing import CliRunner

from signtrain.choices import EXTRACT_LAYOUTS
from signtrain.cli.app import app
from signtrain.errors import ConfigError
from signtrain.extract import asset, video
from signtrain.extract.holistic import HOLISTIC, extractable_layouts, layout_for_width, layout_named, selection
from signtrain.extract.run import STATE, Settings, find_videos, plan, sign_of_file

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
CLIP, BUNDLE = MEDIA / "selfie_segmentation_web.mp4", MEDIA / "holistic_landmarker.task"
BUNDLE_SHA256 = "dd47f1372756e03eb32ae7e38a99880286d9100134d5afb6c305c97727ec5b84"
runner = CliRunner()


def needs_mediapipe():
    pytest.importorskip("mediapipe", reason="the extract extra is not installed")
    pytest.importorskip("cv2", reason="the extract extra is not installed")
    if not (CLIP.is_file() and BUNDLE.is_file()):
        pytest.skip(f"shared media not present: {MEDIA}")


# ---------------------------------------------------------------- layouts, names, plans (no MediaPipe)


def test_extractable_layouts_are_the_cli_choices_and_select_the_tutorial_values():
    assert tuple(extractable_layouts()) == EXTRACT_LAYOUTS
    assert np.array_equal(selection(HOLISTIC), np.arange(1662))
    pose4 = selection(layout_named("pose4_hands"))
    assert len(pose4) == 258 and np.array_equal(pose4[:132], np.arange(132))     # pose with visibility
    assert np.array_equal(pose4[132:], np.arange(1536, 1662))                      # then both hands
    pose3 = selection(layout_named("pose_hands"))
    assert len(pose3) == 225 and list(pose3[:6]) == [0, 1, 2, 4, 5, 6]            # visibility dropped
    assert np.array_equal(selection(layout_named("hands")), np.arange(1536, 1662))
    assert layout_for_width(258).name == "pose4_hands"
    with pytest.raises(ConfigError, match="128"):
        layout_for_width(128)  # face point + hands: not something Holistic extraction writes
    with pytest.raises(ConfigError, match="one_hand"):
        layout_named("one_hand")


@pytest.mark.parametrize("name, sign", [("hello.mp4", "hello"), ("hello_03.mp4", "hello"), ("hello-3.MOV", "hello"),
                                        ("hello (2).mp4", "hello"), ("thank you 12.webm", "thank you"),
                                        ("42.mp4", "42"), ("a1b.avi", "a1b")])
def test_a_flat_video_takes_its_file_name_without_a_trailing_number(name, sign):
    assert sign_of_file(Path(name)) == sign


def test_find_videos_labelled_flat_and_single(tmp_path):
    (tmp_path / "hello").mkdir()
    for rel in ("hello/b.mp4", "hello/a.MP4", "hello/notes.txt", "bye_01.mov", "readme.md", ".hidden.mp4"):
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    found, ignored = find_videos(tmp_path)
    assert [(p.name, s) for p, s in found] == [("bye_01.mov", "bye"), ("a.MP4", "hello"), ("b.mp4", "hello")]
    assert sorted(Path(p).name for p in ignored) == ["notes.txt", "readme.md"]
    assert [s for _, s in find_videos(tmp_path, sign="wave")[0]] == ["wave"] * 3
    assert find_videos(tmp_path / "bye_01.mov")[0] == [(tmp_path / "bye_01.mov", "bye")]


@pytest.mark.parametrize("name, sign, match", [
    ("missing", None, "no such video file or folder"),
    ("notes.txt", None, "not a video file"),
    ("", None, "no video files"),
    ("", "../up", "path separator"),
    ("", ".hidden", "starts with a dot"),
])
def test_bad_sources_and_sign_names_are_refused_by_name(tmp_path, name, sign, match):
    (tmp_path / "notes.txt").write_text("x")
    if sign:
        (tmp_path / "a.mp4").write_bytes(b"x")
    with pytest.raises(ConfigError, match=match):
        find_videos(tmp_path / name if name else tmp_path, sign)


def _settings(**kw):
    return Settings(layout_named(kw.pop("layout", "holistic")), **kw)


def test_new_recordings_are_numbered_after_those_already_in_the_tree(tmp_path):
    out = tmp_path / "MP_Data"
    for rel in ("hello/0", "hello/1", "hello/7"):
        (out / rel).mkdir(parents=True)
        np.save(out / rel / "0.npy", np.zeros(1662, np.float32))
    np.save(out / "hello" / "9.npy", np.zeros((3, 1662), np.float32))  # one array per recording counts too
    videos = [(tmp_path / "v" / f"{n}.mp4", sign) for n, sign in ((1, "hello"), (2, "hello"), (3, "bye"))]
    jobs, skipped, manifest = plan(videos, out, _settings())
    assert [(j.sign, j.sequence) for j in jobs] == [("hello", 10), ("hello", 11), ("bye", 0)] and not skipped
    assert manifest["layout"] == "holistic" and manifest["frames"] is None


def test_a_rerun_skips_finished_videos_and_redoes_unfinished_ones_under_the_same_numbers(tmp_path):
    out = tmp_path / "MP_Data"
    videos = [(tmp_path / f"{n}.mp4", "hello") for n in range(3)]
    _, _, manifest = plan(videos, out, _settings(frames=30))
    (out / STATE).mkdir(parents=True)
    (out / STATE / "manifest.json").write_text(json.dumps(manifest))
    (out / "hello" / "1").mkdir(parents=True)  # only video 1 finished (renamed into place)
    np.save(out / "hello" / "1" / "0.npy", np.zeros(1662, np.float32))
    jobs, skipped, _ = plan(videos + [(tmp_path / "new.mp4", "hello")], out, _settings(frames=30))
    assert [s.sequence for s in skipped] == [1] and skipped[0].status == "skipped"
    assert [(Path(j.video).name, j.sequence) for j in jobs] == [("0.mp4", 0), ("2.mp4", 2), ("new.mp4", 3)]


@pytest.mark.parametrize("first, second, match", [
    ({"frames": 30}, {"frames": 20}, "frames 30 -> 20"),
    ({}, {"layout": "hands"}, "layout holistic -> hands"),
    ({}, {"arrays": True}, "arrays False -> True"),
])
def test_one_tree_holds_one_kind_of_recording(tmp_path, first, second, match):
    out = tmp_path / "MP_Data"
    _, _, manifest = plan([(tmp_path / "a.mp4", "a")], out, _settings(**first))
    (out / STATE).mkdir(parents=True)
    (out / STATE / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=match):
        plan([(tmp_path / "a.mp4", "a")], out, _settings(**second))


def test_extracting_another_layout_into_an_existing_tree_is_refused(tmp_path):
    out = tmp_path / "MP_Data"
    (out / "hello" / "0").mkdir(parents=True)
    np.save(out / "hello" / "0" / "0.npy", np.zeros(258, np.float32))
    with pytest.raises(ConfigError, match="258 values per frame"):
        plan([(tmp_path / "a.mp4", "a")], out, _settings())
    assert plan([(tmp_path / "a.mp4", "a")], out, _settings(layout="pose4_hands"))[0][0].sequence == 0


@pytest.mark.parametrize("total, wanted, expected", [(10, 4, [0, 3, 6, 9]), (5, 5, [0, 1, 2, 3, 4]),
                                                     (3, 5, [0, 0, 1, 2, 2]), (7, None, list(range(7))),
                                                     (0, 4, []), (1, 3, [0, 0, 0])])
def test_frames_are_sampled_evenly(total, wanted, expected):
    assert video.even_sample(total, wanted).tolist() == expected


# ---------------------------------------------------------------- the model bundle


@pytest.fixture
def bundle_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving a model bundle (the shared one, else a stand-in zip)."""
    import zipfile

    served = tmp_path / "served"
    served.mkdir()
    if BUNDLE.is_file():
        os.symlink(BUNDLE, served / "holistic_landmarker.task")
    else:
        with zipfile.ZipFile(served / "holistic_landmarker.task", "w") as z:
            z.writestr("pose_detector.tflite", b"p")
            z.writestr("hand_landmarks_detector.tflite", b"h")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    digest = hashlib.sha256((served / "holistic_landmarker.task").read_bytes()).hexdigest()
    yield f"http://127.0.0.1:{server.server_address[1]}/holistic_landmarker.task", digest
    server.shutdown()


def test_the_bundle_is_downloaded_once_checked_and_cached(bundle_server, tmp_path, monkeypatch):
    url, digest = bundle_server
    if BUNDLE.is_file():
        assert digest == BUNDLE_SHA256
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SIGNTRAIN_HOLISTIC_URL", url)
    monkeypatch.setenv("SIGNTRAIN_HOLISTIC_SHA256", digest.upper())
    said = []
    first = asset.resolve(on_download=said.append)
    assert first == tmp_path / "cache" / "signtrain" / "mediapipe" / "holistic_landmarker.task"
    assert asset.sha256_of(first) == digest and len(said) == 1 and url in said[0]
    monkeypatch.setenv("SIGNTRAIN_HOLISTIC_URL", "http://127.0.0.1:9/gone")  # the cache answers now
    assert asset.resolve(on_download=said.append) == first and len(said) == 1
    assert [p.name for p in first.parent.iterdir()] == ["holistic_landmarker.task"]


def test_a_download_with_the_wrong_checksum_is_refused_and_not_kept(bundle_server, tmp_path, monkeypatch):
    url, _ = bundle_server
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SIGNTRAIN_HOLISTIC_URL", url)
    monkeypatch.setenv("SIGNTRAIN_HOLISTIC_SHA256", "0" * 64)
    with pytest.raises(asset.AssetError, match="expected 0000.*not kept"):
        asset.resolve()
    assert list((tmp_path / "cache" / "signtrain" / "mediapipe").iterdir()) == []


def test_offline_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SIGNTRAIN_HOLISTIC_URL", "http://127.0.0.1:9/holistic_landmarker.task")
    (tmp_path / "clip.mp4").write_bytes(b"")  # a video to extract: the paths are checked before the download
    result = runner.invoke(app, ["extract", str(tmp_path / "clip.mp4"), str(tmp_path / "out"), "--sign", "hi"])
    assert result.exit_code == 1 and "cannot download" in result.stderr and "--model-asset PATH" in result.stderr
    assert not (tmp_path / "out").exists()
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content, match", [(None, ": not found"), (b"not a zip", "not a MediaPipe .task bundle")])
def test_a_bad_model_asset_is_refused_by_name(tmp_path, content, match):
    given = tmp_path / "model.task"
    if content is not None:
        given.write_bytes(content)
    result = runner.invoke(app, ["extract", str(tmp_path), str(tmp_path / "out"), "--model-asset", str(given)])
    assert result.exit_code == 2 and match in result.stderr and str(given) in result.stderr


def test_without_the_extra_extraction_says_how_to_install_it(monkeypatch):
    from signtrain.extract.holistic import ExtractUnavailable, _import_mediapipe

    monkeypatch.setitem(sys.modules, "cv2", None)
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    for attempt in (_import_mediapipe, video._cv2):
        with pytest.raises(ExtractUnavailable, match=r"pip install 'signtrain\[extract\]'") as caught:
            attempt()
        assert caught.value.exit_code == 2


# ---------------------------------------------------------------- extraction with MediaPipe on the real clip


def _invoke_json(args: list[str]) -> tuple[int, dict]:
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, json.loads(result.stdout)


def _write_video(path: Path, frames: list) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """SOURCE/wave/clip.mp4 (the real clip) + SOURCE/wave/broken.mp4 -> OUT, 30 frames each."""
    needs_mediapipe()
    root = tmp_path_factory.mktemp("extract")
    (root / "videos" / "wave").mkdir(parents=True)
    os.symlink(CLIP, root / "videos" / "wave" / "clip.mp4")
    (root / "videos" / "wave" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    _write_video(root / "videos" / "wave" / "empty_room.avi", [np.full((360, 640, 3), 90, np.uint8)] * 6)
    args = ["extract", str(root / "videos"), str(root / "MP_Data"), "--frames", "30", "--workers", "1",
            "--model-asset", str(BUNDLE), "--json"]
    code, report = _invoke_json(args)
    return root, args, code, report


def test_the_clip_becomes_tutorial_order_frames_with_the_detections_reported(extracted):
    root, _, code, report = extracted
    assert code == 1 and report["extracted"] == 1 and report["failed"] == 2  # the bad videos, named
    reasons = {Path(v["video"]).name: v["reason"] for v in report["videos"] if v["status"] == "failed"}
    assert "cannot be opened" in reasons["broken.mp4"]
    assert reasons["empty_room.avi"] == "no person detected in any of its 6 frames"  # nothing written for it
    done = next(v for v in report["videos"] if v["status"] == "extracted")
    # numbers are given in name order before work starts: the broken video keeps 0 for a re-run
    assert done["sign"] == "wave" and done["sequence"] == 1 and done["frames_written"] == 30
    assert done["output"] == str(root / "MP_Data" / "wave" / "1")
    assert sorted(p.name for p in (root / "MP_Data" / "wave").iterdir()) == ["1"]
    files = sorted(Path(done["output"]).iterdir(), key=lambda p: int(p.stem))
    assert [p.name for p in files] == [f"{i}.npy" for i in range(30)]
    frames = np.stack([np.load(p) for p in files])
    assert frames.shape == (30, 1662) and frames.dtype == np.float32
    pose = frames[:, :132].reshape(30, 33, 4)
    assert np.all((pose[..., 3] >= 0) & (pose[..., 3] <= 1))          # visibility column
    assert np.all((pose[:, 0, :2] > 0) & (pose[:, 0, :2] < 1))        # the nose, in normalised image units
    blocks = {"pose": (0, 132), "face": (132, 1536), "left_hand": (1536, 1599), "right_hand": (1599, 1662)}
    for part, (a, b) in blocks.items():
        present = np.any(frames[:, a:b] != 0, axis=1)
        assert present.sum() == done["detected"][part], part           # zero exactly where not detected
    assert done["detected"]["pose"] == 30 and 0 < done["detected"]["right_hand"] < 30  # the clip has both cases


def test_a_rerun_skips_finished_work_and_a_new_video_is_numbered_next(extracted):
    root, args, _, _ = extracted
    before = {p: p.stat().st_mtime_ns for p in (root / "MP_Data").rglob("*.npy")}
    code, report = _invoke_json(args)
    assert code == 1 and (report["skipped"], report["extracted"], report["failed"]) == (1, 0, 2)
    assert {p: p.stat().st_mtime_ns for p in (root / "MP_Data").rglob("*.npy")} == before
    # the data tree reads as any MP_Data tree: extract's state folder is not a sign
    code = runner.invoke(app, ["validate-data", str(root / "MP_Data"), "--json"]).exit_code
    assert code in (0, 1)  # one recording per sign is an error in validation, never a crash


def test_a_killed_extraction_leaves_no_partial_recording_and_resumes(tmp_path):
    needs_mediapipe()
    (tmp_path / "videos").mkdir()
    os.symlink(CLIP, tmp_path / "videos" / "wave.mp4")
    argv = [sys.executable, "-m", "signtrain", "extract", str(tmp_path / "videos"), str(tmp_path / "out"),
            "--frames", "8", "--workers", "1", "--model-asset", str(BUNDLE)]
    env = {**os.environ, "SIGNTRAIN_FAULT": "extract:rename"}
    killed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9
    assert not (tmp_path / "out" / "wave").exists() or not any((tmp_path / "out" / "wave").iterdir())
    os.symlink(CLIP, tmp_path / "videos" / "wave_2.mp4")  # resumed with a second video, two worker processes
    again = subprocess.run([*argv[:-3], "2", *argv[-2:], "--json"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["workers"] == 2 and sorted(v["sequence"] for v in report["videos"]) == [0, 1]
    assert sorted(p.name for p in (tmp_path / "out" / "wave").iterdir()) == ["0", "1"]
    first, second = ([np.load(tmp_path / "out" / "wave" / n / f"{i}.npy") for i in range(8)] for n in "01")
    assert all(np.array_equal(a, b) for a, b in zip(first, second))  # same video, same frames, either process
    assert not (tmp_path / "out" / STATE / "staging").exists()


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory):
    """The first 40 frames of the real clip as its own video (a short 'sign' to stream over)."""
    needs_mediapipe()
    import cv2

    capture = cv2.VideoCapture(str(CLIP))
    frames = [capture.read()[1] for _ in range(40)]
    capture.release()
    return _write_video(tmp_path_factory.mktemp("clip") / "short.avi", frames)


def test_a_model_trained_on_extracted_data_predicts_from_the_video(extracted, short_clip, tmp_path):
    """wave = the extracted clip (jittered copies); still = the same frames with the hands removed
    and the body shifted.  The trained model must call the clip itself 'wave', from the video, by
    the same extraction (the run records how its data was extracted)."""
    root = extracted[0]
    tree = root / "MP_Data"
    rng = np.random.default_rng(0)
    wave = np.stack([np.load(tree / "wave" / "1" / f"{i}.npy") for i in range(30)])
    for sign, base in (("wave", wave), ("still", np.concatenate([wave[:, :1536] + 0.3, 0 * wave[:, 1536:]], 1))):
        for n in range(2 if sign == "wave" else 0, 13):
            folder = tree / sign / str(n)
            folder.mkdir(parents=True, exist_ok=True)
            for i, row in enumerate(base + rng.normal(0, 0.01, base.shape).astype(np.float32) * (base != 0)):
                np.save(folder / f"{i}.npy", row)
    models = tmp_path / "models"
    settings = [*TINY_MODEL, "train.epochs=15", "data.sequence_length=30"]
    trained = runner.invoke(app, ["train", "--data", str(tree), "--output", str(models), "-q",
                                  *(arg for s in settings for arg in ("--set", s))])
    assert trained.exit_code == 0, trained.output
    meta = json.loads((models / "lstm_model.meta.json").read_text())
    assert meta["extraction"] == {"layout": "holistic", "values_per_frame": 1662, "frames": 30, "arrays": False}
    model = str(models / "lstm_model.h5")
    code, top = _invoke_json(["predict", model, str(CLIP), "--model-asset", str(BUNDLE), "--json"])
    assert code == 0 and top["top_k"][0]["sign"] == "wave"
    code, streamed = _invoke_json(["predict", model, str(short_clip), "--stream", "--threshold", "0.5",
                                   "--model-asset", str(BUNDLE), "--json"])
    assert code == 0 and streamed["frames"] == 40 and streamed["steps"] >= 1 and streamed["fps"] == 25.0
    # the camera path is the same stream, fed frame by frame: a video played as if it were a camera
    code, followed = _invoke_json(["predict", model, "--camera", str(short_clip), "--threshold", "0.5",
                                   "--model-asset", str(BUNDLE), "--json"])
    assert code == 0 and followed["frames"] == 40 and followed["steps"] == streamed["steps"]
    key = [(e["sign"], e["start_frame"], e["frame"]) for e in followed["emissions"]]
    assert key == [(e["sign"], e["start_frame"], e["frame"]) for e in streamed["emissions"]]
    for e in followed["emissions"]:
        assert 0 <= e["start_s"] < e["end_s"] <= 40 / 25.0
