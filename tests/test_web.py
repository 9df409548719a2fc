"""`signtrain export --format web` and `signtrain serve`: the folder, its checked packages, the server,
and the page itself in a real headless Chromium (tests/browser.py) on the real clip in ../shared/media:
the same landmarks as `signtrain extract`, the same model outputs as the Python runner, the same
decisions as the Python Recognizer (shared golden vectors), the same sentence as `predict --stream`,
a fake camera recognised and spoken, and no request to another host."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from signtrain.deploy.web import assets

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "media"
CLIP, BUNDLE = MEDIA / "selfie_segmentation_web.mp4", MEDIA / "holistic_landmarker.task"
GOLDEN = Path(__file__).parent / "golden"
SIGNS = ("first", "second", "third")  # browser.clip_model's
TOLERANCE_MEDIAN, TOLERANCE_P95 = 0.005, 0.03  # image units: the page's landmarks against extract's


def test_the_page_decides_and_sets_its_windows_as_python_does():
    """tests/golden/live.json through the page's recognizer.js and settings.js (node): the emissions
    test_live.py checks for the Python Recognizer, and LiveSettings.of's settings at each frame rate."""
    node = shutil.which("node")
    assert node, "node is needed to run the page's JavaScript (apt-get install nodejs; `make test` does)"
    done = subprocess.run([node, str(GOLDEN / "replay_live.mjs")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got, golden = json.loads(done.stdout), json.loads((GOLDEN / "live.json").read_text())
    assert [c["said"] for c in got["cases"]] == [c["said"] for c in golden["cases"]]
    assert got["settings"] == [c["settings"] for c in golden["settings"]]


# ---------------------------------------------------------------- packages


@pytest.fixture(scope="module")
def web_assets(tmp_path_factory):
    """The pinned npm tarballs, fetched (and integrity-checked) once for the module."""
    folder = tmp_path_factory.mktemp("web-assets")
    for package in assets.PACKAGES:
        (folder / package.tarball).write_bytes(assets.tarball(package))
    return folder


def test_a_tampered_or_missing_package_is_refused(web_assets, tmp_path):
    from signtrain.errors import ConfigError

    package = assets.PACKAGES[1]
    bad = tmp_path / "bad"
    bad.mkdir()
    data = bytearray((web_assets / package.tarball).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / package.tarball).write_bytes(bytes(data))
    with pytest.raises(assets.WebAssetError, match="integrity .* is not the published"):
        assets.tarball(package, bad)
    absent = assets.PACKAGES[0]
    with pytest.raises(ConfigError, match=f"{absent.tarball} is not there; .*npm pack {absent.name}@{absent.version}"):
        assets.tarball(absent, bad)


def test_packages_come_from_the_cache_once_fetched(web_assets, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    package = assets.PACKAGES[0]
    cached = tmp_path / "cache" / "signtrain" / "web" / package.tarball
    cached.parent.mkdir(parents=True)
    shutil.copyfile(web_assets / package.tarball, cached)
    monkeypatch.setenv("SIGNTRAIN_NPM_REGISTRY", "http://127.0.0.1:9")  # nothing listens: the cache must serve
    assert assets.integrity_of(assets.tarball(package)) == package.integrity
    cached.write_bytes(b"damaged")
    with pytest.raises(assets.WebAssetError, match="cannot download .*--web-assets"):
        assets.tarball(package)
    assert not cached.exists()  # the damaged copy is not kept


# ---------------------------------------------------------------- the export


def _needs_media():
    pytest.importorskip("mediapipe", reason="the extract extra is not installed")
    pytest.importorskip("tf2onnx", reason="the onnx extra is not installed")
    if not CLIP.is_file() or not BUNDLE.is_file():
        pytest.skip(f"shared media not present: {MEDIA}")


@pytest.fixture(scope="module")
def clip_run(tmp_path_factory):
    """A model of three made-up 'signs', the thirds of the real clip, and the clip's landmarks as
    `signtrain extract` reads them (browser.clip_model)."""
    _needs_media()
    import browser

    return browser.clip_model(CLIP, BUNDLE, tmp_path_factory.mktemp("clip-run"))


@pytest.fixture(scope="module")
def web_folder(clip_run, web_assets):
    from signtrain.deploy.export import export

    model, _ = clip_run
    report = export(model, ["web"], web_assets=web_assets, model_asset=BUNDLE)
    entry = report.entries[0]
    assert entry.passed, entry.note
    folder = Path(entry.path)
    return folder


@pytest.mark.slow
def test_the_web_folder_holds_the_page_its_packages_and_a_sidecar(web_folder, clip_run):
    model, _ = clip_run
    names = {p.relative_to(web_folder).as_posix() for p in web_folder.rglob("*") if p.is_file()}
    for page_file in ("index.html", "app.js", "recognizer.js", "landmarks.js", "settings.js", "own-host.js",
                      "style.css", "model.onnx", "labels.txt", "settings.json", "holistic_landmarker.task"):
        assert page_file in names
    for package in assets.PACKAGES:
        assert set(package.files.values()) <= {n.removeprefix("vendor/") for n in names}
    settings = json.loads((web_folder / "settings.json").read_text())
    assert settings["labels"] == list(SIGNS) and len(settings["selection"]) == 258
    assert settings["input"] == {"frames": 48, "features": 258}
    assert settings["live"]["recording_frames"] == 40 and settings["live"]["resample"] is True
    assert (web_folder / "holistic_landmarker.task").read_bytes() == BUNDLE.read_bytes()
    sidecar = json.loads(web_folder.with_name(web_folder.name + ".meta.json").read_text())
    assert sidecar["export"]["format"] == "web" and sidecar["export"]["source"]["model_file"] == model.name
    for page_file in ("index.html", "app.js", "recognizer.js", "landmarks.js", "settings.js"):
        text = (web_folder / page_file).read_text()
        # nothing loaded from another host: no import, fetch, src or href of an absolute address
        loads = r"""(from|import\(|fetch\(|src=|href=|modelAssetPath:)\s*["'`](https?:)?//"""
        assert not re.search(loads, text), page_file


@pytest.mark.slow
def test_serve_gives_the_types_and_isolation_headers_wasm_needs(web_folder):
    from signtrain.deploy.web.serve import make_server, url_of

    server = make_server(web_folder, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for path, kind in (("index.html", "text/html"), ("app.js", "text/javascript"),
                           ("vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm", "application/wasm"),
                           ("vendor/tasks-vision/vision_bundle.mjs", "text/javascript"),
                           ("model.onnx", "application/octet-stream"),
                           ("holistic_landmarker.task", "application/octet-stream")):
            with urllib.request.urlopen(url_of(server) + path) as response:
                assert response.headers["Content-Type"].startswith(kind), path
                assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
                assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_signtrain_serve_prints_the_url_and_stops_on_ctrl_c(web_folder, tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "from signtrain.cli.app import main; main()", "serve",
                                str(web_folder), "--port", "0"],
                               stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"},
                               # as from a terminal: an earlier test of this process may have left
                               # SIGINT ignored, and an ignored signal is inherited by a child
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = process.stderr.readline()
    assert "serving" in line and "http://localhost:" in line, line
    url = line.split(" at ")[1].split()[0]
    with urllib.request.urlopen(url + "settings.json") as response:
        assert json.loads(response.read())["labels"] == list(SIGNS)
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    assert "stopped" in process.stderr.read()


@pytest.mark.parametrize("folder, match", [("missing", "FOLDER .*missing: not found"),
                                           ("empty", "not a web export")])
def test_serve_refuses_what_is_not_a_web_export(tmp_path, folder, match):
    from signtrain.deploy.web.serve import make_server
    from signtrain.errors import ConfigError

    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=match):
        make_server(tmp_path / folder, port=0)


# ---------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def page_run(web_folder, clip_run):
    """The page reading the clip as a video file, every frame, with its landmark vectors kept."""
    import browser

    why = browser.missing()
    assert why is None, f"the browser tests need {why}; `make test` installs them where it can"
    shutil.copyfile(CLIP, web_folder / "clip.mp4")  # served beside the page for the test only
    page = browser.Page(web_folder)
    try:
        started = page.ready()
        page.js("signtrain.keep_vectors = true")
        # as a file the user picks: a blob, read whole (the page never streams a video from a server)
        said = page.run("fetch('clip.mp4').then((r) => r.blob())"
                        ".then((b) => signtrain.playUrl(URL.createObjectURL(b)))")
        assert page.js("return signtrain.video_fps") == 25  # the clip's rate, found by playing it
        state = page.js("return {vectors: signtrain.vectors, spoken: window.__spoken, text: "
                        "document.getElementById('sentence').textContent}")
        windows = [w.tolist() for w in _windows(clip_run[1])]
        outputs = page.run("signtrain.predictWindows(arguments[0])", 120, windows)
        foreign = page.foreign_requests()
    finally:
        page.close()
        (web_folder / "clip.mp4").unlink()
    return {"said": said, "startup": started, "foreign": foreign, "windows": windows, "outputs": outputs, **state}


def _windows(frames):
    from signtrain.data.assemble import resample
    from signtrain.extract.holistic import layout_named, selection

    chosen = frames[:, selection(layout_named("pose4_hands"))]
    return [resample(chosen[s:s + 40], 48) for s in range(0, len(chosen) - 40, 37)]


@pytest.mark.slow
def test_the_page_reads_the_same_landmarks_as_signtrain_extract(page_run, clip_run):
    """The browser decodes the video itself (not OpenCV) and runs MediaPipe's wasm build: the same
    parts are found in (almost) every frame, and the points in view (inside the image; for the pose,
    visibility > 0.5: the legs below this clip's frame are guesses) at the same places to a few
    thousandths of the image."""
    python = clip_run[1]
    page = np.asarray(page_run["vectors"], np.float32)
    assert page.shape == python.shape
    blocks = {"pose": (0, 132, 4), "face": (132, 1536, 3), "left_hand": (1536, 1599, 3), "right_hand": (1599, 1662, 3)}
    for part, (a, b, width) in blocks.items():
        seen_py, seen_page = python[:, a:b].any(axis=1), page[:, a:b].any(axis=1)
        assert np.mean(seen_py == seen_page) >= 0.9, part
        both = seen_py & seen_page
        points_py = python[both, a:b].reshape(both.sum(), -1, width)
        points_page = page[both, a:b].reshape(both.sum(), -1, width)
        in_view = np.all((points_py[..., :2] > 0) & (points_py[..., :2] < 1), axis=-1)
        if width == 4:
            in_view &= points_py[..., 3] > 0.5
        error = np.abs(points_page[..., :2] - points_py[..., :2])[in_view]
        assert np.median(error) < TOLERANCE_MEDIAN and np.percentile(error, 95) < TOLERANCE_P95, \
            (part, float(np.median(error)), float(np.percentile(error, 95)))


@pytest.mark.slow
def test_the_page_runs_the_model_as_the_python_runner_does(page_run, web_folder):
    from signtrain.deploy.formats.web import open_runner

    run = open_runner(web_folder)
    expected = np.concatenate([run(np.asarray([w], np.float32)) for w in page_run["windows"]])
    assert np.max(np.abs(np.asarray(page_run["outputs"]) - expected)) <= 1e-5


@pytest.mark.slow
def test_the_page_says_the_sentence_predict_stream_says_and_nothing_leaves_the_host(page_run, clip_run):
    from typer.testing import CliRunner

    from signtrain.cli.app import app

    model, _ = clip_run
    done = CliRunner().invoke(app, ["predict", str(model), str(CLIP), "--stream", "--json",
                                    "--model-asset", str(BUNDLE)])
    assert done.exit_code == 0, done.output
    stream = [e["sign"] for e in json.loads(done.stdout)["emissions"]]
    assert stream and page_run["said"] == stream
    assert page_run["spoken"] == stream and page_run["text"] == " ".join(stream)
    assert page_run["foreign"] == [] and page_run["startup"]["startup_ms"] > 0


@pytest.mark.slow
def test_the_fake_camera_is_recognised_and_spoken(web_folder, tmp_path):
    import browser

    assert browser.missing() is None
    camera = browser.y4m(CLIP, tmp_path / "clip.y4m")
    page = browser.Page(web_folder, camera=camera, query="?camera")
    try:
        page.ready()
        page.wait("signtrain.frames >= 20", timeout=240)
        page.wait("signtrain.emissions.length >= 1", timeout=120)
        state = page.js("return {fps: signtrain.fps, camera_fps: signtrain.camera_fps, emissions: signtrain.emissions, "
                        "spoken: window.__spoken, text: document.getElementById('sentence').textContent}")
        shot = tmp_path / "page.png"
        page.driver.save_screenshot(str(shot))
        assert page.foreign_requests() == []
    finally:
        page.close()
    assert state["fps"] > 0 and 1 <= state["camera_fps"] <= 30
    signs = [e["sign"] for e in state["emissions"]]
    assert set(signs) <= set(SIGNS) and state["spoken"] == signs[:len(state["spoken"])]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.parametrize("flags, message", [
    (("--use-fake-device-for-media-stream", "--deny-permission-prompts"),
     "The camera was refused: allow it in the browser's site settings"),
    (("--use-fake-ui-for-media-stream",), "No camera was found: connect one, or play a video file"),
])
def test_a_refused_or_absent_camera_says_what_to_do(web_folder, flags, message):
    import browser

    page = browser.Page(web_folder, query="?camera", fake_camera=False, flags=flags)
    try:
        page.ready()
        page.wait("signtrain.error", timeout=60)
        assert page.status().startswith(message) and page.js("return signtrain.frames") == 0
    finally:
        page.close()


def test_packages_are_pinned_with_their_integrity():
    for package in assets.PACKAGES:
        assert package.version[0].isdigit() and package.integrity.startswith("sha512-")
        assert package.url.endswith(f"/-/{package.name.split('/')[-1]}-{package.version}.tgz")
        assert package.tarball.endswith(f"-{package.version}.tgz")


def test_the_tarball_files_the_page_loads_are_the_ones_the_export_copies(web_assets):
    for package in assets.PACKAGES:
        with tarfile.open(web_assets / package.tarball) as tar:
            names = set(tar.getnames())
        assert {f"package/{inner}" for inner in package.files} <= names
