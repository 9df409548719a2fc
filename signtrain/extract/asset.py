"""The MediaPipe model bundle (holistic_landmarker.task): a file the user names, or Google's
official bundle downloaded once into the cache and checked against its sha256.

The address and checksum can be replaced (SIGNTRAIN_HOLISTIC_URL, SIGNTRAIN_HOLISTIC_SHA256) for
mirrors and for tests; a download lands in a temporary file and is renamed into the cache only
after its checksum matched, so the cache never holds a partial or foreign bundle.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable, Optional

from signtrain import paths
from signtrain.errors import ConfigError, SigntrainError
from signtrain.store import publish

OFFICIAL_URL = ("https://storage.googleapis.com/mediapipe-models/holistic_landmarker/holistic_landmarker/"
                "float16/1/holistic_landmarker.task")
# sha256 of the official float16/1 bundle (13 683 609 bytes) as published alongside projects that
# pin it; machines here reach no model hub, so SIGNTRAIN_HOLISTIC_SHA256 can correct it if Google
# ever republishes that version.
OFFICIAL_SHA256 = "e2dab61191e2dcd0a15f943d8e3ed1dce13c82dfa597b9dd39f562975a50c3f8"
FILE_NAME = "holistic_landmarker.task"
_CHUNK = 1 << 20
MAX_BUNDLE_BYTES = 256 << 20  # the official bundle is about 18 MiB; a download past this is no bundle
STALL_SECONDS = 30            # a download that sends nothing for this long is given up


class AssetError(SigntrainError):
    """The model bundle cannot be had: offline, wrong checksum, not a bundle."""

    exit_code = 1


def cache_dir() -> Path:
    from signtrain.data.cache import cache_root

    return cache_root(None) / "mediapipe"


def source() -> tuple[str, str]:
    """(url, sha256) of the bundle to download."""
    return (os.environ.get("SIGNTRAIN_HOLISTIC_URL", OFFICIAL_URL),
            os.environ.get("SIGNTRAIN_HOLISTIC_SHA256", OFFICIAL_SHA256).strip().lower())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_bundle(path: Path) -> Path:
    """A user's --model-asset: a readable .task bundle (a zip of .tflite models)."""
    paths.readable_file(path, "--model-asset", ConfigError, "give the path of a holistic_landmarker.task")
    try:
        with zipfile.ZipFile(path) as bundle:
            names = bundle.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"--model-asset {path}: not a MediaPipe .task bundle ({exc}); give a "
                          f"holistic_landmarker.task") from None
    if not any(n.startswith("pose") for n in names) or not any(n.startswith("hand") for n in names):
        raise ConfigError(f"--model-asset {path}: this bundle holds {', '.join(sorted(names)) or 'nothing'}, not the "
                          f"pose and hand models of a holistic_landmarker.task")
    return path


def resolve(explicit: Optional[Path] = None, on_download: Optional[Callable[[str], None]] = None) -> Path:
    """The bundle to use: `explicit`, else the cached download (fetched on first use)."""
    if explicit is not None:
        return check_bundle(Path(explicit))
    url, expected = source()
    cached = cache_dir() / FILE_NAME
    if cached.is_file():
        if sha256_of(cached) == expected:
            return cached
        cached.unlink()  # a bundle of another version or damaged: fetch the right one
    if on_download:
        on_download(f"downloading the MediaPipe Holistic model bundle (once) from {url}")
    return download(url, expected, cached)


def download(url: str, expected: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=STALL_SECONDS) as response, open(partial, "wb") as out:
            size = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                size += len(chunk)
                if size > MAX_BUNDLE_BYTES:  # bounded: an address that never ends (/dev/zero) is not a bundle
                    raise AssetError(f"{url}: more than {MAX_BUNDLE_BYTES >> 20} MiB, not a model bundle; nothing "
                                     f"was kept. Give a holistic_landmarker.task with --model-asset PATH")
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected:
            raise AssetError(f"{url}: the downloaded file has sha256 {digest.hexdigest()}, expected {expected}; it "
                             f"was not kept. If the address serves a newer bundle on purpose, set "
                             f"SIGNTRAIN_HOLISTIC_SHA256, or give a file with --model-asset")
        publish.place(partial, target)
        return target
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:  # ValueError: not a URL
        reason = getattr(exc, "reason", None) or exc
        raise AssetError(f"cannot download the MediaPipe model bundle from {url} ({reason}); when offline, copy a "
                         f"holistic_landmarker.task here and give it with --model-asset PATH") from None
    finally:
        partial.unlink(missing_ok=True)
