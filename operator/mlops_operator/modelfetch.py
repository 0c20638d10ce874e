"""Fetch a model over HTTPS into a directory: the init container of native model deployments.

`python -m mlops_operator.modelfetch --uri https://host/path/model.pkl --dest DIR`. Archives (.tar.gz,
.tgz, .tar, .zip) are unpacked into DIR; anything else is saved under its file name. A `#sha256=<hex>`
fragment is verified before anything lands in DIR. Standard library only, so any Python image can run it.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import ssl
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

log = logging.getLogger("mlops_operator.modelfetch")
CHUNK = 1 << 20
ARCHIVES = (".tar.gz", ".tgz", ".tar", ".zip")


class FetchError(Exception):
    """A download that cannot succeed as asked (bad URI, checksum mismatch, unsafe archive)."""


def _context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=os.environ.get("MLOPS_CA_BUNDLE") or None)


def download(uri: str, target: Path, timeout: float = 60.0, attempts: int = 4) -> str:
    """Stream `uri` into `target`; returns its sha256. Retries transient failures with backoff."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme != "https":
        raise FetchError(f"only https:// model URIs are fetched, got {uri!r}")
    for attempt in range(1, attempts + 1):
        try:
            return _stream(urllib.parse.urlunsplit(parsed._replace(fragment="")), target, timeout)
        except (OSError, urllib.error.URLError) as exc:
            if attempt == attempts or (isinstance(exc, urllib.error.HTTPError) and exc.code < 500):
                raise FetchError(f"downloading {parsed.netloc}{parsed.path} failed: {exc}") from exc
            log.warning("attempt %d failed (%s); retrying", attempt, exc)
            time.sleep(2**attempt)
    raise FetchError("unreachable")  # pragma: no cover


def _stream(url: str, target: Path, timeout: float) -> str:
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout, context=_context()) as response, target.open("wb") as out:
        while chunk := response.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def expected_sha256(uri: str) -> str | None:
    fragment = urllib.parse.urlsplit(uri).fragment
    return fragment.removeprefix("sha256=").lower() if fragment.startswith("sha256=") else None


def _safe_members(names: list[str], dest: Path) -> None:
    root = dest.resolve()
    for name in names:
        if not (dest / name).resolve().is_relative_to(root):
            raise FetchError(f"archive member {name!r} would escape the model directory")


def install(downloaded: Path, name: str, dest: Path) -> None:
    """Unpack archives into `dest`, or move the single file there under `name`."""
    dest.mkdir(parents=True, exist_ok=True)
    if name.endswith(".zip"):
        with zipfile.ZipFile(downloaded) as archive:
            _safe_members(archive.namelist(), dest)
            archive.extractall(dest)
    elif name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(downloaded) as archive:
            _safe_members(archive.getnames(), dest)
            archive.extractall(dest, filter="data")
    else:
        shutil.move(str(downloaded), dest / name)


def fetch(uri: str, dest: Path) -> Path:
    """Download, verify and install one model; returns the directory holding it."""
    name = Path(urllib.parse.urlsplit(uri).path).name or "model"
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as scratch:
        downloaded = Path(scratch) / name
        actual = download(uri, downloaded)
        wanted = expected_sha256(uri)
        if wanted and wanted != actual:
            raise FetchError(f"sha256 mismatch for {name}: expected {wanted}, got {actual}")
        install(downloaded, name, dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_operator.modelfetch", description=__doc__)
    parser.add_argument("--uri", required=True, help="https:// URL of the model file or archive")
    parser.add_argument("--dest", required=True, type=Path, help="directory to put the model in")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s modelfetch: %(message)s")
    try:
        fetch(args.uri, args.dest)
    except FetchError as exc:
        log.error("%s", exc)
        return 1
    log.info("model ready in %s", args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
