"""A web export opened in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): served by signtrain's own server, every request to another host refused, the camera a
fake device playing a .y4m, and speechSynthesis replaced by a recorder (headless Chromium has no
voices).  Used by tests/test_web.py and benchmarks/web.py."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Optional

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
SIGNS = ("first", "second", "third")
RECORD_SPEECH = ("window.__spoken = []; if (window.speechSynthesis) { window.speechSynthesis.speak = "
                 "(u) => window.__spoken.push(u.text); }")


def missing() -> Optional[str]:
    """None when a browser test can run here, else what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium (pip install -e '.[dev]')"
    if not any(shutil.which(c) for c in CHROMIUM) or not shutil.which("chromedriver"):
        return "chromium and chromium-driver (apt-get install chromium chromium-driver)"
    return None


def y4m(video: Path, out: Path) -> Path:
    """The fake camera's file: Chromium plays .y4m (made with ffmpeg)."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(video), "-pix_fmt", "yuv420p", str(out)],
                   check=True, timeout=300)
    return out


class Page:
    """The page of `folder` in headless Chromium: page.js(...) runs a script, page.wait(...) polls one."""

    def __init__(self, folder: Path, camera: Optional[Path] = None, query: str = "", fake_camera: bool = True,
                 flags: tuple = ()) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        from signtrain.deploy.web.serve import make_server, url_of

        self.server = make_server(folder, port=0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = url_of(self.server)
        options = webdriver.ChromeOptions()
        options.binary_location = next(shutil.which(c) for c in CHROMIUM if shutil.which(c))
        camera_flags = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream") if fake_camera else ()
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,1000",
                     "--autoplay-policy=no-user-gesture-required", *camera_flags, *flags,
                     # no request leaves for another host: every name but the page's own resolves to nothing
                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost"):
            options.add_argument(flag)
        if camera is not None:
            options.add_argument(f"--use-file-for-fake-video-capture={Path(camera).resolve()}")
        self.driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_SPEECH})
        self.started = time.perf_counter()
        self.driver.get(self.url + query)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, condition: str, timeout: float = 120.0, every: float = 0.25) -> Any:
        """Poll `return <condition>` until it is truthy (or raise TimeoutError with the page's status)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            value = self.js(f"return {condition}")
            if value:
                return value
            time.sleep(every)
        raise TimeoutError(f"{condition} not met in {timeout:.0f} s; the page says: {self.status()}")

    def run(self, call: str, timeout: float = 600.0, *args: Any) -> Any:
        """Await a promise the page returns (polled: a long wait must not hit the driver's own timeout)."""
        self.js(f"window.__done = undefined; Promise.resolve({call}).then((r) => window.__done = {{ok: r}}, "
                f"(e) => window.__done = {{error: String(e)}});", *args)
        done = self.wait("window.__done", timeout)
        if "error" in done:
            raise RuntimeError(f"{call}: {done['error']}")
        return done.get("ok")

    def ready(self, timeout: float = 120.0) -> dict:
        self.wait("window.signtrain && (window.signtrain.ready || window.signtrain.error)", timeout)
        state = self.js("return {ready: signtrain.ready, error: signtrain.error, startup_ms: signtrain.startup_ms}")
        if not state["ready"]:
            raise RuntimeError(f"the page did not start: {state['error']}")
        return state

    def status(self) -> str:
        try:
            return self.js("return document.getElementById('status').textContent")
        except Exception as exc:  # noqa: BLE001 - only for a message
            return f"(unreadable: {exc})"

    def foreign_requests(self) -> list[str]:
        """Every resource the page asked for from a host other than its own."""
        entries = self.js("return performance.getEntriesByType('resource').map((e) => e.name)")
        return [e for e in entries if not e.startswith(self.url) and not e.startswith(("blob:", "data:"))]

    def close(self) -> None:
        self.driver.quit()
        self.server.shutdown()
        self.server.server_close()


def clip_model(clip: Path, bundle: Path, root: Path, steps: int = 160) -> tuple[Path, Any]:
    """A model of three made-up 'signs', the thirds of a video (jittered 40-frame windows of each,
    pose4_hands layout), trained with the default recipe -> (model path, the video's holistic frames
    as `signtrain extract` reads them)."""
    import numpy as np

    from signtrain.config import load_config
    from signtrain.extract.holistic import layout_named, selection
    from signtrain.extract.run import landmarks_of
    from signtrain.training.run import train

    frames, _, _ = landmarks_of(clip, bundle, layout_named("holistic"))
    chosen = frames[:, selection(layout_named("pose4_hands"))]
    rng = np.random.default_rng(0)
    third = len(chosen) // 3
    for k, sign in enumerate(SIGNS):
        (root / "MP_Data" / sign).mkdir(parents=True)
        for n in range(12):
            start = k * third + int(rng.integers(0, third - 40 + 1))
            window = chosen[start:start + 40]
            np.save(root / "MP_Data" / sign / f"{n}.npy",
                    window + rng.normal(0, 0.002, window.shape).astype(np.float32) * (window != 0))
    config = load_config(None, [f"train.steps={steps}", "train.tensorboard=false", "data.cache=false"],
                         data=str(root / "MP_Data"), output=str(root / "models"))
    train(config)
    return root / "models" / "lstm_model.h5", frames
