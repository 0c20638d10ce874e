"""A CloudEvents webhook on loopback for the drift tests: each POST is parsed by the CloudEvents SDK
(missing or malformed attributes are refused with 400, as a real receiver would), the access key header is
checked like an Event Grid topic checks `aeg-sas-key` (401), and accepted events are kept in order."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from mlops_operator.devcluster.process import LOOPBACK


class CloudEventReceiver:
    def __init__(self, key: str | None = None, header: str = "aeg-sas-key", host: str = LOOPBACK) -> None:
        self.events: list[Any] = []
        self.refused: list[tuple[int, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if key is not None and self.headers.get(header) != key:
                    return self._answer(401, f"missing or wrong {header}")
                try:
                    event = from_http_event(HTTPMessage(headers=dict(self.headers.items()), body=body))
                except Exception as exc:  # the SDK raises several types for invalid events
                    return self._answer(400, f"{type(exc).__name__}: {exc}")
                receiver.events.append(event)
                return self._answer(200, "")

            def _answer(self, code: int, message: str) -> None:
                if code != 200:
                    receiver.refused.append((code, message))
                self.send_response(code)
                self.send_header("Content-Length", str(len(message.encode())))
                self.end_headers()
                self.wfile.write(message.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self._server.server_address[1]}/api/events"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CloudEventReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
