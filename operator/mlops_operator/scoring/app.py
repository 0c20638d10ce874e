"""The ASGI application: routes, key auth, request-id headers and metrics around the scorer.

A plain ASGI callable rather than a framework: per request we pay for one dict lookup to route, one
header dict, and two `send` calls. Which routes exist, and how each behaves, is declared in one place
(`build_routes`). Routes that upstream serves behave as upstream's Flask app does, including its quirks:
404 and 405 answers carry no request-id headers, `/score` answers HEAD with 405 "Method not allowed",
and `/` and `/swagger.json` answer OPTIONS with an empty 200.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from .auth import KeyStore
from .drift import BodyTap, DriftCollector
from .metrics import ROUTE_INDEX, MetricsBlock, Recorder
from .responses import (
    HTML_TYPE,
    INTERNAL_ERROR,
    JSON_TYPE,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    RUN_OK,
    TEXT_TYPE,
    Header,
    Reply,
    encode_header,
    error_reply,
    request_id_headers,
)
from .scorer import Scorer
from .swagger import Swagger, SwaggerError

logger = logging.getLogger("mlops.scoring")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[[Scope, Receive, dict[bytes, bytes]], Awaitable[Reply]]

GET_HEAD = frozenset({"GET", "HEAD"})
SCORE_METHODS = frozenset({"GET", "POST", "OPTIONS", "HEAD"})  # Flask adds HEAD to every GET route
ALLOW_GET: tuple[bytes, bytes] = (b"allow", b"OPTIONS, HEAD, GET")
NO_BODY_STATUSES = frozenset({204, 304})
UNAUTHORISED = "Unauthorized: send one of the endpoint keys as 'Authorization: Bearer <key>'."
_SLASHES = re.compile(r"/{2,}")
DEPLOYMENT_HEADER = "azureml-model-deployment"


class Route(NamedTuple):
    """How one path is served."""

    handler: Handler
    methods: frozenset[str]
    metric: int  # index into metrics.ROUTES
    upstream: bool  # one of upstream's own routes: request-id headers and their 431 checks apply
    protected: bool  # needs a key when the keys Secret is mounted
    auto_options: bool  # OPTIONS answered with an empty 200 and an Allow header, as Flask does


class ScoringApp:
    """One worker's application; `draining` turns readiness to 503 during graceful shutdown."""

    def __init__(
        self,
        scorer: Scorer,
        swagger: Swagger,
        metrics: MetricsBlock,
        recorder: Recorder,
        keys: KeyStore | None,
        max_request_bytes: int,
        server_version: str = "",
        deployment_name: str = "",
        drift: DriftCollector | None = None,
    ) -> None:
        self.scorer = scorer
        self.swagger = swagger
        self.metrics = metrics
        self.recorder = recorder
        self.keys = keys
        self.max_request_bytes = max_request_bytes
        self.server_version = server_version.encode("latin-1")
        self.served_by = served_by_headers(deployment_name)
        self.drift = drift
        self.draining = False
        self.routes = build_routes(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        if "//" in path:
            path = _SLASHES.sub("/", path)
        route = self.routes.get(path)
        reply = await self._dispatch(route, scope, receive)
        if self.served_by:
            reply = _with_served_by(reply, self.served_by)
        await _send(send, reply)
        if route is None:
            self.recorder.request(ROUTE_INDEX["other"], reply.status)
        elif route.handler == self.score:
            self.recorder.request(route.metric, reply.status, time.perf_counter() - started)
        else:
            self.recorder.request(route.metric, reply.status)

    async def _dispatch(self, route: Route | None, scope: Scope, receive: Receive) -> Reply:
        if route is None:
            return error_reply(404, NOT_FOUND)
        method = scope["method"]
        options = method == "OPTIONS" and route.auto_options
        if method not in route.methods and not options:
            return error_reply(405, METHOD_NOT_ALLOWED)
        headers = dict(scope["headers"])
        extra: list[tuple[bytes, bytes]] = []
        if route.upstream:
            extra, refused = request_id_headers(headers, self.server_version)
            if refused is not None:
                refused.headers.extend(extra)
                return refused
        if route.protected and self.keys is not None and not self.keys.authorised(headers.get(b"authorization")):
            reply = error_reply(401, UNAUTHORISED)
            reply.headers.append((b"www-authenticate", b"Bearer"))
        elif options:
            reply = Reply(200, [HTML_TYPE, ALLOW_GET], b"")
        else:
            try:
                reply = await route.handler(scope, receive, headers)
            except Exception:
                logger.exception("Unhandled error while answering %s %s", method, scope["path"])
                reply = error_reply(500, INTERNAL_ERROR)
        reply.headers.extend(extra)
        return reply

    async def liveness(self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]) -> Reply:
        return Reply(200, [HTML_TYPE], b"Healthy")

    async def readiness(self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]) -> Reply:
        """Ready once init() has run (a worker serves nothing before); 503 while draining for shutdown.

        Also 503 while key auth is on but no key is loaded: such a worker refuses every scoring request.
        """
        if self.draining:
            return Reply(503, [HTML_TYPE], b"Draining")
        if self.keys is not None and not self.keys.loaded:
            return Reply(503, [HTML_TYPE], b"No endpoint keys")
        return Reply(200, [HTML_TYPE], b"Ready")

    async def score(self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]) -> Reply:
        self.recorder.inflight(1)
        length = headers.get(b"content-length", b"")
        if length.isdigit():  # chunked bodies have no declared size and are not counted
            self.recorder.payload(int(length))
        drift = self.drift
        tap = BodyTap(receive) if drift is not None and scope["method"] == "POST" else None
        try:
            reply = await self.scorer.score(scope, tap or receive, headers, self.max_request_bytes)
        finally:
            self.recorder.inflight(-1)
        # Handed over once the answer is ready, so collection never delays run(); a 413 body was not read whole.
        if drift is not None and tap is not None and reply.status != 413:
            drift.offer(tap.chunks, tap.size)
        return reply

    async def swagger_json(self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]) -> Reply:
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        version = next((value for key, value in query if key == "version"), None)
        try:
            return Reply(200, [JSON_TYPE, RUN_OK], self.swagger.body(version))
        except SwaggerError as ex:
            return error_reply(404, str(ex))

    async def prometheus(self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]) -> Reply:
        exposition = self.metrics.render()
        if self.drift is not None:
            exposition += self.drift.block.render()
        return Reply(200, [TEXT_TYPE], exposition)


def build_routes(app: ScoringApp) -> dict[str, Route]:
    """Every route the server answers, and how."""
    index = ROUTE_INDEX
    return {
        "/": Route(app.liveness, GET_HEAD, index["liveness"], upstream=True, protected=False, auto_options=True),
        "/score": Route(app.score, SCORE_METHODS, index["score"], upstream=True, protected=True, auto_options=False),
        "/swagger.json": Route(
            app.swagger_json, GET_HEAD, index["swagger"], upstream=True, protected=True, auto_options=True
        ),
        "/readiness": Route(
            app.readiness, GET_HEAD, index["readiness"], upstream=True, protected=False, auto_options=True
        ),
        "/metrics": Route(
            app.prometheus, GET_HEAD, index["metrics"], upstream=False, protected=False, auto_options=False
        ),
    }


def served_by_headers(deployment_name: str) -> list[Header]:
    """The `azureml-model-deployment` header naming this deployment, or none when the name is unknown."""
    return [encode_header(DEPLOYMENT_HEADER, deployment_name)] if deployment_name else []


def _with_served_by(reply: Reply, served_by: list[Header]) -> Reply:
    """Ours replaces any the script set: like Azure ML's router, the server that answered has the last word."""
    name = served_by[0][0]
    return reply._replace(headers=[h for h in reply.headers if h[0] != name] + served_by)


async def _send(send: Send, reply: Reply) -> None:
    status, headers, body = reply
    if status in NO_BODY_STATUSES or status < 200:
        body = b""
    else:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge lifespan events; init() runs before the server starts, not here."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
