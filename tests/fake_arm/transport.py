"""The HTTPS transport: a threaded ``http.server`` whose connections are TLS-wrapped in worker threads.

Wrapping per connection (instead of wrapping the listening socket) keeps a slow or non-TLS client from
blocking ``accept`` for everyone. Injected connection resets close the socket with ``SO_LINGER`` 0, so
the client sees a real RST.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .errors import ArmError
from .routing import Request, Response

if TYPE_CHECKING:
    from .app import FakeArmApp


class TlsThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, app: FakeArmApp, ssl_context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), ArmRequestHandler)
        self.app = app
        self.ssl_context = ssl_context

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.RequestHandlerClass(tls, client_address, self)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are normal in fault tests; stay quiet."""


class ArmRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: TlsThreadingServer

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the request log is on the app."""

    def _serve(self) -> None:
        app = self.server.app
        request, parse_error = self._parse()
        fault = app.plan.take_fault(request.method, request.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.reset:
            app.record(request, 0)
            self._reset()
            return
        if parse_error is not None:
            response = Response(parse_error.status, parse_error.body())
            app.record(request, response.status)
        elif fault is not None and (fault.status or 0) >= 400:
            response = app.fault_response(fault)
            app.record(request, response.status)
        else:
            response = app.handle(request)
        self._write(response)

    def _parse(self) -> tuple[Request, ArmError | None]:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body, error = None, None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                error = ArmError(400, "InvalidRequestContent", f"The request content was not valid JSON: {exc}")
        request = Request(self.command, url.path, query, body, self.server.base_url, dict(self.headers.items()))
        return request, error

    def _write(self, response: Response) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        headers = {
            "x-ms-request-id": str(uuid.uuid4()),
            "x-ms-correlation-request-id": str(uuid.uuid4()),
            "x-ms-ratelimit-remaining-subscription-reads": "11999",
            **response.headers,
        }
        if payload:
            headers["Content-Type"] = "application/json; charset=utf-8"
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _reset(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()
