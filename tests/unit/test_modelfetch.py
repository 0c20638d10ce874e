"""The model fetcher downloads over HTTPS (a loopback server here), verifies checksums and unpacks archives."""

from __future__ import annotations

import hashlib
import http.server
import io
import ssl
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_operator.devcluster.pki import write_loopback_tls
from mlops_operator.modelfetch import FetchError, fetch, main

FILES: dict[str, bytes] = {}


def _tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"weights"
        info = tarfile.TarInfo("model/weights.bin")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = FILES.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    tls = write_loopback_tls(tmp_path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.server_cert, tls.server_key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("MLOPS_CA_BUNDLE", str(tls.ca_cert))
    FILES.clear()
    yield f"https://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_single_file_model_lands_under_its_name(server: str, tmp_path: Path) -> None:
    FILES["/m/model.pkl"] = b"pickle"
    digest = hashlib.sha256(b"pickle").hexdigest()
    fetch(f"{server}/m/model.pkl#sha256={digest}", tmp_path / "out")
    assert (tmp_path / "out" / "model.pkl").read_bytes() == b"pickle"


def test_a_tarball_is_unpacked(server: str, tmp_path: Path) -> None:
    FILES["/m/model.tar.gz"] = _tarball()
    fetch(f"{server}/m/model.tar.gz", tmp_path / "out")
    assert (tmp_path / "out" / "model" / "weights.bin").read_bytes() == b"weights"


def test_a_checksum_mismatch_leaves_nothing_behind(server: str, tmp_path: Path) -> None:
    FILES["/m/model.pkl"] = b"tampered"
    with pytest.raises(FetchError, match="sha256 mismatch"):
        fetch(f"{server}/m/model.pkl#sha256={'0' * 64}", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_file_fails_at_once_with_a_clear_exit_code(server: str, tmp_path: Path) -> None:
    assert main(["--uri", f"{server}/nope.pkl", "--dest", str(tmp_path / "out")]) == 1


def test_only_https_is_fetched(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="only https://"):
        fetch("http://127.0.0.1:1/model.pkl", tmp_path)
