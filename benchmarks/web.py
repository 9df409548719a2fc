"""The browser page (`signtrain export --format web`) against `signtrain predict --camera`, on the
same clip, model and machine, in one run: frames/s processed, start-up time to the first frame, and
the export folder's size.  The page runs in headless Chromium with the clip as its fake camera
(tests/browser.py); predict --camera plays the clip as if it were the camera.  Also takes the
README's screenshot of the page (docs/web-page.png).

    python benchmarks/web.py [--seconds 40]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import browser  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media"
CLIP, BUNDLE = MEDIA / "selfie_segmentation_web.mp4", MEDIA / "holistic_landmarker.task"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="how long the page watches the fake camera")
    parser.add_argument("--screenshot", default=str(ROOT / "docs" / "web-page.png"))
    args = parser.parse_args()
    if browser.missing() or not CLIP.is_file():
        sys.exit(f"needs {browser.missing() or MEDIA}")
    from signtrain.deploy.export import export

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model, _ = browser.clip_model(CLIP, BUNDLE, scratch)
        entry = export(model, ["web"], model_asset=BUNDLE).entries[0]
        assert entry.passed, entry.note
        folder = Path(entry.path)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        camera = browser.y4m(CLIP, scratch / "clip.y4m")

        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "from signtrain.cli.app import main; main()", "predict",
                               str(model), "--camera", str(CLIP), "--json", "--model-asset", str(BUNDLE)],
                              capture_output=True, text=True, timeout=600)
        cli_wall = time.perf_counter() - start
        cli = json.loads(done.stdout)

        page = browser.Page(folder, camera=camera, query="?camera")
        try:
            ready = page.ready()
            page.wait("signtrain.frames >= 1", timeout=120)
            first = page.js("return signtrain.first_frame_ms")
            time.sleep(args.seconds)
            state = page.js("return {fps: signtrain.fps, frames: signtrain.frames, camera_fps: signtrain.camera_fps, "
                            "said: signtrain.emissions.map((e) => e.sign)}")
            Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
            page.driver.save_screenshot(args.screenshot)
            foreign = page.foreign_requests()
        finally:
            page.close()

    print(f"cores: {os.cpu_count()}; clip: {CLIP.name} (225 frames, 25 frames/s, 640x360)\n")
    print("| | frames/s processed | start-up to the first frame | said | size |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| `predict --camera` (MediaPipe Python, every frame it can) | {cli.get('processed_fps') or 0:.1f} | "
          f"(whole run {cli_wall:.1f} s) | {' '.join(e['sign'] for e in cli['emissions'])} | model file |")
    print(f"| web page, headless Chromium, fake camera (wasm, {state['camera_fps']} frames/s chosen) | "
          f"{state['fps']:.1f} | {first / 1000:.1f} s (page ready {ready['startup_ms'] / 1000:.1f} s) | "
          f"{' '.join(state['said'])} | {size / 1e6:.1f} MB folder |")
    print(f"\nrequests to other hosts: {len(foreign)}; screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
