"""A test double of the Prometheus HTTP API (`/api/v1/query`) on loopback: it answers each query with the
value set for the deployment the query names (`deployment="<name>"`), or an empty vector.

Used where no real pods produce metrics (the azureml backend on the fake ARM server); the real-node tests
use the real Prometheus."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from mlops_operator.devcluster.process import LOOPBACK


class PrometheusDouble:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.queries: list[str] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query).get("query", [""])[0]
                double.queries.append(query)
                found = re.search(r'deployment="([^"]+)"', query)
                value = double.values.get(found.group(1)) if found else None
                result = [] if value is None else [{"metric": {}, "value": [0, str(value)]}]
                body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PrometheusDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
