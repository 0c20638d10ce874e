"""``FakeArm``: start/stop the HTTPS fake and program it (faults, timings), observe it (calls, log, state).

See the package docstring (:mod:`tests.fake_arm`) for a usage overview.
"""

from __future__ import annotations

import copy
import re
import shutil
import ssl
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mlops_operator.devcluster.pki import write_loopback_tls

from .app import FakeArmApp, Settings
from .blob_proxy import BlobProxy
from .blob_store import Blob, BlobCall, BlobStore, BlobUpload
from .clients import ClientsMixin
from .faults import Fault, OperationFailure, OperationTiming, compile_path
from .seed import SeedMixin
from .state import RequestRecord
from .transport import TlsThreadingServer

DEFAULT_SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
DEFAULT_STORAGE_SUFFIX = "core.windows.net"


class FakeArm(SeedMixin, ClientsMixin):
    """A local, in-memory stand-in for Azure Resource Manager (test double; never used in production)."""

    def __init__(
        self,
        *,
        subscription_id: str = DEFAULT_SUBSCRIPTION,
        location: str = "eastus",
        operation_polls: int = 1,
        operation_seconds: float = 0.0,
        reject_unknown_fields: bool = True,
        storage_suffix: str = DEFAULT_STORAGE_SUFFIX,
    ) -> None:
        self.subscription_id = subscription_id
        self.storage_suffix = storage_suffix
        self.blob_store = BlobStore(storage_suffix)
        self.location = location
        self.app = FakeArmApp(
            Settings(location, reject_unknown_fields),
            operation_polls=operation_polls,
            operation_seconds=operation_seconds,
        )
        self._dir: Path | None = None
        self._server: TlsThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self._proxy: BlobProxy | None = None
        self._proxy_thread: threading.Thread | None = None

    def start(self) -> FakeArm:
        self._dir = Path(tempfile.mkdtemp(prefix="fake-arm-"))
        files = write_loopback_tls(self._dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files.server_cert, files.server_key)
        self.ca_bundle = str(files.ca_cert)
        self._server = TlsThreadingServer(self.app, context)
        self.base_url = self._server.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-arm", daemon=True
        )
        self._thread.start()
        self._proxy = BlobProxy(self.blob_store, files)
        self.proxy_url = self._proxy.url
        self._proxy_thread = threading.Thread(
            target=self._proxy.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-arm-blob-proxy", daemon=True
        )
        self._proxy_thread.start()
        return self

    def stop(self) -> None:
        for server in (self._server, self._proxy):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in (self._thread, self._proxy_thread):
            if thread is not None:
                thread.join(timeout=5)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._server = self._thread = self._dir = self._proxy = self._proxy_thread = None

    def __enter__(self) -> FakeArm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- faults and timings -------------------------------------------------------------------------
    def inject(
        self,
        *,
        method: str | None = None,
        path_regex: str = ".*",
        status: int | None = 500,
        retry_after: int | None = None,
        times: int | None = 1,
        window: float | None = None,
        code: str | None = None,
        message: str | None = None,
        reset: bool = False,
        delay: float = 0.0,
    ) -> Fault:
        """Answer matching requests with an error (or reset the connection, or delay first).

        ``times=None`` with ``window=N`` keeps failing for N seconds. ``status=None`` with ``delay`` only
        slows the request down. Returns the rule; ``rule.hits`` says how often it fired.
        """
        expires = time.monotonic() + window if window is not None else None
        return self.app.plan.add_fault(
            Fault(
                method,
                compile_path(path_regex),
                status,
                retry_after,
                code,
                message,
                reset,
                delay,
                times,
                expires,
            )
        )

    def fail_operations(
        self,
        path_regex: str,
        *,
        code: str = "InternalServerError",
        message: str = "The operation failed (injected).",
        method: str | None = None,
        times: int | None = 1,
        status: str = "Failed",
    ) -> OperationFailure:
        """Make the long-running operation started by the next matching request end Failed/Canceled."""
        return self.app.plan.add_failure(
            OperationFailure(method, compile_path(path_regex), code, message, status, times)
        )

    def slow_operations(
        self, path_regex: str = ".*", *, polls: int = 3, seconds: float = 0.0, method: str | None = None
    ) -> OperationTiming:
        """Operations started by matching requests stay InProgress for ``polls`` looks and ``seconds``."""
        return self.app.plan.add_timing(OperationTiming(method, compile_path(path_regex), polls, seconds))

    def set_operation_duration(self, *, polls: int, seconds: float = 0.0) -> None:
        """Default duration of every operation not matched by :meth:`slow_operations`."""
        self.app.plan.default_polls, self.app.plan.default_seconds = polls, seconds

    def reset(self, *, operation_polls: int = 1, operation_seconds: float = 0.0) -> None:
        """Forget all resources, operations, faults and logged requests (the server keeps running)."""
        fresh = FakeArmApp(self.app.settings, operation_polls=operation_polls, operation_seconds=operation_seconds)
        self.app.__dict__.update(fresh.__dict__)
        self.blob_store.clear()

    def clear_faults(self) -> None:
        self.app.plan.clear()

    # ---- observation ----------------------------------------------------------------------------------
    def calls(self, method: str | None = None, resource_type: str | None = None) -> int:
        """How many requests matched, e.g. ``calls("PUT", "onlineEndpoints")``."""
        return self.app.log.count(method, resource_type)

    def call_counts(self) -> Counter[tuple[str, str]]:
        return self.app.log.counts()

    def requests(self, method: str | None = None, path_regex: str | None = None) -> list[RequestRecord]:
        pattern = re.compile(path_regex, re.IGNORECASE) if path_regex else None
        return [
            r
            for r in self.app.log.records()
            if (method is None or r.method == method.upper()) and (pattern is None or pattern.search(r.path))
        ]

    def reset_log(self) -> None:
        """Forget logged ARM requests and blob calls/uploads (resources and blobs stay)."""
        self.app.log.clear()
        self.blob_store.clear(blobs=False)

    def blob_calls(self) -> list[BlobCall]:
        """Requests that went through the blob proxy, including refused ones (status 403, e.g. ``CONNECT``)."""
        with self.blob_store.lock:
            return list(self.blob_store.calls)

    def blob_uploads(self) -> list[BlobUpload]:
        """Blobs written (Put Blob, Put Block List), in order, with their bytes."""
        with self.blob_store.lock:
            return list(self.blob_store.uploads)

    def blob(self, account: str, container: str, name: str) -> Blob | None:
        with self.blob_store.lock:
            stored = self.blob_store.blobs.get((account, container, name))
            return copy.deepcopy(stored) if stored else None

    def resource(self, resource_id: str) -> dict[str, Any] | None:
        """A copy of the stored body (without server-side secrets), or None."""
        stored = self.app.store.get(resource_id)
        return copy.deepcopy(stored.body) if stored else None

    def endpoint_keys(self, resource_group: str, workspace: str, endpoint: str) -> dict[str, str]:
        stored = self.app.store.get(f"{self.workspace_id(resource_group, workspace)}/onlineEndpoints/{endpoint}")
        if stored is None:
            raise KeyError(endpoint)
        return dict(stored.extras["keys"])
