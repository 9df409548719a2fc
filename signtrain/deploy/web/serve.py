"""A local static server for an exported web folder: the right types for .wasm, .mjs, .onnx and .task
files, and the cross-origin isolation headers multithreaded wasm needs (SharedArrayBuffer).  It
serves that folder only, on the loopback address unless told otherwise."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

from signtrain import paths
from signtrain.errors import ConfigError

TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
         ".onnx": "application/octet-stream", ".task": "application/octet-stream", ".json": "application/json",
         ".html": "text/html; charset=utf-8", ".css": "text/css", ".txt": "text/plain; charset=utf-8"}
ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
             "Cross-Origin-Resource-Policy": "same-origin"}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def end_headers(self) -> None:
        for key, value in ISOLATION.items():
            self.send_header(key, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass  # a request log would bury the URL the user needs


def check_folder(folder: Path) -> Path:
    paths.readable_folder(folder, "FOLDER", hint="give the folder `signtrain export --format web` wrote")
    if not (Path(folder) / "index.html").is_file() or not (Path(folder) / "settings.json").is_file():
        raise ConfigError(f"FOLDER {folder}: no index.html and settings.json, so not a web export; give the "
                          f".web folder `signtrain export MODEL --format web` wrote")
    return Path(folder)


class _Server(http.server.ThreadingHTTPServer):
    # a browser may hold a connection open: Ctrl-C must not wait for it
    daemon_threads = True
    block_on_close = False


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8000) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_Handler, directory=str(check_folder(folder)))
    try:
        return _Server((host, port), handler)
    except OSError as exc:
        raise ConfigError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc}); choose another "
                          f"port with --port, or 0 for any free one") from None


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}/"
