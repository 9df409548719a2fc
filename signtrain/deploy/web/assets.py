"""The JavaScript packages the page runs on, from the npm registry at export time: pinned versions,
their published integrity (sha512) checked, each tarball cached once under the signtrain cache
folder; only the files the page loads are copied into an export.  `--web-assets DIR` gives a
folder of the same tarballs (as `npm pack NAME@VERSION` writes them) for machines without network.
Nothing in the page fetches from another host at run time."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from signtrain.errors import ConfigError, SigntrainError
from signtrain.store import publish

REGISTRY = "https://registry.npmjs.org"
MAX_TARBALL_BYTES = 128 << 20
STALL_SECONDS = 30


class WebAssetError(SigntrainError):
    """A package cannot be had: offline, wrong integrity, not the package."""

    exit_code = 1


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str                 # the registry's dist.integrity for this version
    files: dict                    # path inside the tarball's package/ -> path inside the export's vendor/

    @property
    def tarball(self) -> str:
        """The file name `npm pack` gives it."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    @property
    def url(self) -> str:
        registry = os.environ.get("SIGNTRAIN_NPM_REGISTRY", REGISTRY).rstrip("/")
        return f"{registry}/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"


PACKAGES = (
    Package("@mediapipe/tasks-vision", "1.1.0",
            "sha512-ZJqh0wMKOINorfSffvDAxzyO1//c+FiG3IkzOdNDnLqvBB3DbMfj0bB/tys2SNf9S914sgoIbIpF4HTOi336cg==",
            {"vision_bundle.mjs": "tasks-vision/vision_bundle.mjs",
             "wasm/vision_wasm_internal.js": "tasks-vision/wasm/vision_wasm_internal.js",
             "wasm/vision_wasm_internal.wasm": "tasks-vision/wasm/vision_wasm_internal.wasm",
             "wasm/vision_wasm_nosimd_internal.js": "tasks-vision/wasm/vision_wasm_nosimd_internal.js",
             "wasm/vision_wasm_nosimd_internal.wasm": "tasks-vision/wasm/vision_wasm_nosimd_internal.wasm"}),
    Package("onnxruntime-web", "1.30.0",
            "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ==",
            {"dist/ort.wasm.min.mjs": "onnxruntime-web/ort.wasm.min.mjs",
             "dist/ort-wasm-simd-threaded.mjs": "onnxruntime-web/ort-wasm-simd-threaded.mjs",
             "dist/ort-wasm-simd-threaded.wasm": "onnxruntime-web/ort-wasm-simd-threaded.wasm"}),
)


def cache_dir() -> Path:
    from signtrain.data.cache import cache_root

    return cache_root(None) / "web"


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def tarball(package: Package, offline: Optional[Path] = None, on_download: Optional[Callable[[str], None]] = None
            ) -> bytes:
    """The package's checked tarball: from `offline` (--web-assets), else the cache, else the registry."""
    if offline is not None:
        path = Path(offline) / package.tarball
        if not path.is_file():
            raise ConfigError(f"--web-assets {offline}: {package.tarball} is not there; on a machine with network "
                              f"run `npm pack {package.name}@{package.version}` and copy the file into that folder")
        return _checked(path.read_bytes(), package, str(path))
    cached = cache_dir() / package.tarball
    if cached.is_file():
        data = cached.read_bytes()
        if integrity_of(data) == package.integrity:
            return data
        cached.unlink()  # damaged: fetch it again
    if on_download:
        on_download(f"downloading {package.name} {package.version} (once) from the npm registry")
    data = _checked(_download(package), package, package.url)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f".{cached.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    publish.place(partial, cached)
    return data


def _checked(data: bytes, package: Package, where: str) -> bytes:
    found = integrity_of(data)
    if found != package.integrity:
        raise WebAssetError(f"{where}: integrity {found[:30]}... is not the published {package.integrity[:30]}... of "
                            f"{package.name} {package.version}; it was not used. Fetch it again from the npm registry")
    return data


def _download(package: Package) -> bytes:
    out = io.BytesIO()
    try:
        with urllib.request.urlopen(package.url, timeout=STALL_SECONDS) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                if out.tell() > MAX_TARBALL_BYTES:
                    raise WebAssetError(f"{package.url}: more than {MAX_TARBALL_BYTES >> 20} MiB, not the package")
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise WebAssetError(f"cannot download {package.name} {package.version} from {package.url} ({reason}); "
                            f"offline, give a folder of `npm pack` tarballs with --web-assets DIR") from None
    return out.getvalue()


def copy_into(vendor: Path, offline: Optional[Path] = None, on_download: Optional[Callable[[str], None]] = None
              ) -> list[Path]:
    """Every package's page files into `vendor` -> the files written."""
    written = []
    for package in PACKAGES:
        with tarfile.open(fileobj=io.BytesIO(tarball(package, offline, on_download)), mode="r:gz") as tar:
            for inner, target in package.files.items():
                member = tar.extractfile(f"package/{inner}")
                if member is None:
                    raise WebAssetError(f"{package.name} {package.version}: package/{inner} is not in its tarball")
                path = vendor / target
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(member.read())
                written.append(path)
    return written
