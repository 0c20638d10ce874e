"""In-memory Azure Blob storage behind the fake's HTTPS proxy (:mod:`.blob_proxy`): the calls azure-ai-ml makes
to upload a local model file, and a record of them.

Served: Get Blob Properties (HEAD) and Get Blob (whole or one byte range), Put Blob (``BlockBlob`` only, honouring
``If-None-Match: *`` and ``Content-MD5``), Set Blob Metadata (``comp=metadata``), Put Block and Put Block
List (``comp=block``/``blocklist``, what the SDK switches to above its single-put size). Anything else is
answered 501 so a new call shows up in :attr:`BlobStore.calls`. Requests must carry a SharedKey
``Authorization`` for the account (the scheme itself is not verified) or a SAS ``sig``.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

BLOCK_BLOB = "BlockBlob"
META = "x-ms-meta-"


@dataclass
class Blob:
    data: bytes
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    modified: float = 0.0

    def touch(self) -> None:
        self.etag, self.modified = f'"0x{uuid.uuid4().hex[:15].upper()}"', time.time()


@dataclass(frozen=True)
class BlobCall:
    """One request that reached the blob service (or was refused at the proxy: ``method`` is ``CONNECT``)."""

    method: str
    host: str
    path: str
    query: dict[str, str]
    status: int
    at: float


@dataclass(frozen=True)
class BlobUpload:
    """A blob written by Put Blob or Put Block List: where, and the bytes it then held."""

    account: str
    container: str
    name: str
    data: bytes
    at: float

    @property
    def url_path(self) -> str:
        return f"{self.container}/{self.name}"


@dataclass(frozen=True)
class BlobRequest:
    method: str
    account: str
    container: str
    name: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class BlobResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class BlobError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> BlobResponse:
        error = f"<Error><Code>{self.code}</Code><Message>{self.message}</Message></Error>"
        xml = f'<?xml version="1.0" encoding="utf-8"?>{error}'
        headers = {"x-ms-error-code": self.code, "Content-Type": "application/xml"}
        return BlobResponse(self.status, headers, xml.encode())


Handler = Callable[["BlobStore", BlobRequest], BlobResponse]


class BlobStore:
    """Blobs by (account, container, name), uncommitted blocks, and the call/upload records; thread-safe."""

    def __init__(self, storage_suffix: str) -> None:
        self.storage_suffix = storage_suffix
        self.lock = threading.Lock()
        self.blobs: dict[tuple[str, str, str], Blob] = {}
        self.blocks: dict[tuple[str, str, str], dict[str, bytes]] = {}
        self.calls: list[BlobCall] = []
        self.uploads: list[BlobUpload] = []

    def clear(self, *, blobs: bool = True) -> None:
        """Forget the call and upload records, and unless ``blobs`` is off the stored blobs too."""
        with self.lock:
            self.calls.clear()
            self.uploads.clear()
            if blobs:
                self.blobs.clear()
                self.blocks.clear()

    def account_of(self, host: str) -> str | None:
        """The account name when ``host`` is ``<account>.blob.<suffix>``, else None."""
        account, _, rest = host.lower().partition(".")
        return account if account and rest == f"blob.{self.storage_suffix}" else None

    def record(self, method: str, host: str, path: str, query: dict[str, str], status: int) -> None:
        with self.lock:
            self.calls.append(BlobCall(method, host, path, dict(query), status, time.time()))

    def handle(self, req: BlobRequest) -> BlobResponse:
        try:
            _authorize(req)
            handler = _ROUTES.get((req.method, req.query.get("comp", "")))
            if handler is None or not req.name:
                raise BlobError(501, "NotImplementedByFake", f"{req.method} {req.query} is not served by the fake.")
            with self.lock:
                response = handler(self, req)
        except BlobError as err:
            response = err.response()
        response.headers.update(
            {
                "x-ms-request-id": str(uuid.uuid4()),
                "x-ms-version": req.headers.get("x-ms-version", ""),
                "Date": email.utils.formatdate(usegmt=True),
            }
        )
        return response

    def key(self, req: BlobRequest) -> tuple[str, str, str]:
        return req.account, req.container, req.name

    def get(self, req: BlobRequest) -> Blob:
        blob = self.blobs.get(self.key(req))
        if blob is None:
            raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        return blob

    def commit(self, req: BlobRequest, data: bytes) -> Blob:
        if req.headers.get("if-none-match") == "*" and self.key(req) in self.blobs:
            raise BlobError(409, "BlobAlreadyExists", "The specified blob already exists.")
        blob = Blob(data, req.headers.get("x-ms-blob-content-type", "application/octet-stream"), _metadata(req))
        blob.touch()
        self.blobs[self.key(req)] = blob
        self.blocks.pop(self.key(req), None)
        self.uploads.append(BlobUpload(req.account, req.container, req.name, data, time.time()))
        return blob


def _authorize(req: BlobRequest) -> None:
    auth = req.headers.get("authorization", "")
    if not (auth.startswith(f"SharedKey {req.account}:") or "sig" in req.query):
        raise BlobError(403, "AuthenticationFailed", "No SharedKey authorization for this account and no SAS.")


def _metadata(req: BlobRequest) -> dict[str, str]:
    return {k.removeprefix(META): v for k, v in req.headers.items() if k.startswith(META)}


def _stamp(blob: Blob) -> dict[str, str]:
    return {"ETag": blob.etag, "Last-Modified": email.utils.formatdate(blob.modified, usegmt=True)}


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _check_md5(req: BlobRequest) -> str:
    computed = _md5(req.body)
    sent = req.headers.get("content-md5")
    if sent is not None and sent != computed:
        raise BlobError(400, "Md5Mismatch", "The MD5 value specified in the request did not match the content.")
    return computed


def _properties(store: BlobStore, req: BlobRequest) -> BlobResponse:
    blob = store.get(req)
    headers = {
        **_stamp(blob),
        "Content-Type": blob.content_type,
        "Content-MD5": _md5(blob.data),
        "x-ms-blob-type": BLOCK_BLOB,
        "x-ms-creation-time": email.utils.formatdate(blob.modified, usegmt=True),
        "x-ms-lease-state": "available",
        "x-ms-lease-status": "unlocked",
        "x-ms-server-encrypted": "true",
        "Accept-Ranges": "bytes",
        **{META + k: v for k, v in blob.metadata.items()},
    }
    if req.method == "HEAD":
        return BlobResponse(200, {**headers, "Content-Length": str(len(blob.data))})
    span = _range(req, len(blob.data))
    if span is None:
        return BlobResponse(200, headers, blob.data)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{len(blob.data)}"
    return BlobResponse(206, headers, blob.data[start : end + 1])


def _range(req: BlobRequest, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a GET asked for (``x-ms-range`` or ``Range``), clipped to the blob."""
    asked = req.headers.get("x-ms-range") or req.headers.get("range")
    if not asked or not asked.startswith("bytes="):
        return None
    first, _, last = asked.removeprefix("bytes=").partition("-")
    start = int(first or 0)
    if size == 0 or start >= size:
        raise BlobError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.")
    return start, min(int(last) if last else size - 1, size - 1)


def _put_blob(store: BlobStore, req: BlobRequest) -> BlobResponse:
    if req.headers.get("x-ms-blob-type") != BLOCK_BLOB:
        raise BlobError(400, "InvalidHeaderValue", f"x-ms-blob-type must be {BLOCK_BLOB} in the fake.")
    md5 = _check_md5(req)
    blob = store.commit(req, req.body)
    return BlobResponse(201, {**_stamp(blob), "Content-MD5": md5, "x-ms-request-server-encrypted": "true"})


def _set_metadata(store: BlobStore, req: BlobRequest) -> BlobResponse:
    blob = store.get(req)
    blob.metadata = _metadata(req)
    blob.touch()
    return BlobResponse(200, {**_stamp(blob), "x-ms-request-server-encrypted": "true"})


def _put_block(store: BlobStore, req: BlobRequest) -> BlobResponse:
    block_id = req.query.get("blockid")
    if not block_id:
        raise BlobError(400, "MissingRequiredQueryParameter", "blockid is required.")
    md5 = _check_md5(req)
    store.blocks.setdefault(store.key(req), {})[block_id] = req.body
    return BlobResponse(201, {"Content-MD5": md5, "x-ms-request-server-encrypted": "true"})


def _put_block_list(store: BlobStore, req: BlobRequest) -> BlobResponse:
    try:
        ids = [item.text or "" for item in ET.fromstring(req.body)]
    except ET.ParseError as exc:
        raise BlobError(400, "InvalidXmlDocument", str(exc)) from None
    staged = store.blocks.get(store.key(req), {})
    missing = [block_id for block_id in ids if block_id not in staged]
    if missing:
        raise BlobError(400, "InvalidBlockList", f"Blocks not staged: {missing}.")
    blob = store.commit(req, b"".join(staged[block_id] for block_id in ids))
    return BlobResponse(201, {**_stamp(blob), "x-ms-request-server-encrypted": "true"})


_ROUTES: dict[tuple[str, str], Handler] = {
    ("HEAD", ""): _properties,
    ("GET", ""): _properties,
    ("PUT", ""): _put_blob,
    ("PUT", "metadata"): _set_metadata,
    ("PUT", "block"): _put_block,
    ("PUT", "blocklist"): _put_block_list,
}
