"""An HTTPS ``CONNECT`` proxy on 127.0.0.1 that serves the fake's blob storage and refuses everything else.

Clients reach it through ``HTTPS_PROXY=http://127.0.0.1:<port>`` (with ``NO_PROXY=127.0.0.1,localhost`` so
the ARM calls still go direct). For ``CONNECT <account>.blob.<suffix>:443`` it answers 200, then terminates
TLS itself with a certificate for that host name issued by the fake's CA, and serves the blob REST calls
from :class:`~.blob_store.BlobStore`. Any other host or port gets 403: the proxy never opens a connection
anywhere, and no name is ever resolved (the client leaves that to the proxy).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from mlops_operator.devcluster.pki import LoopbackTls, write_server_cert

from .blob_store import BlobRequest, BlobStore

HTTPS_PORT = 443


class BlobProxy(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, store: BlobStore, tls: LoopbackTls) -> None:
        super().__init__(("127.0.0.1", 0), ConnectHandler)
        self.store, self.tls = store, tls
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._contexts_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def context_for(self, host: str) -> ssl.SSLContext:
        """A server TLS context with a certificate for ``host`` (issued once, then reused)."""
        with self._contexts_lock:
            if host not in self._contexts:
                cert, key = write_server_cert(self.tls, host)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(cert, key)
                self._contexts[host] = context
            return self._contexts[host]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are normal; stay quiet."""


class ConnectHandler(BaseHTTPRequestHandler):
    """Speaks plain HTTP to the client until a ``CONNECT`` is accepted, then hands the TLS socket on."""

    protocol_version = "HTTP/1.1"
    server: BlobProxy

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        host = host.strip("[]").lower()
        store = self.server.store
        if port != str(HTTPS_PORT) or store.account_of(host) is None:
            store.record("CONNECT", host, self.path, {}, 403)
            self._refuse(f"the fake's proxy only serves *.blob.{store.storage_suffix}:443, not {self.path}")
            return
        self.send_response(200, "Connection Established")
        self.end_headers()
        self.close_connection = True
        try:
            tls = self.server.context_for(host).wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return
        BlobHandler(tls, self.client_address, self.server, host)

    def _refuse(self, message: str) -> None:
        payload = message.encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    def do_GET(self) -> None:  # plain-HTTP proxying (absolute URLs) is refused too
        self._refuse_plain()

    def do_PUT(self) -> None:
        self._refuse_plain()

    def do_POST(self) -> None:
        self._refuse_plain()

    def do_HEAD(self) -> None:
        self._refuse_plain()

    def _refuse_plain(self) -> None:
        self.server.store.record(self.command, urlsplit(self.path).hostname or "", self.path, {}, 403)
        self._refuse("the fake's proxy only tunnels HTTPS to its blob storage")

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; calls are recorded on the store."""

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()


class BlobHandler(BaseHTTPRequestHandler):
    """The blob service inside one tunnel (keep-alive: several requests per connection)."""

    protocol_version = "HTTP/1.1"
    server: BlobProxy

    def __init__(self, request: socket.socket, client_address: Any, server: BlobProxy, host: str) -> None:
        self.host = host
        super().__init__(request, client_address, server)

    def do_HEAD(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        store = self.server.store
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        container, _, name = unquote(url.path).lstrip("/").partition("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        account = store.account_of(self.host) or ""
        response = store.handle(BlobRequest(self.command, account, container, name, query, headers, body))
        store.record(self.command, self.host, url.path, query, response.status)
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        if "Content-Length" not in response.headers:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; calls are recorded on the store."""

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()
