"""Processes: one listening socket, N forked workers (one event loop each), and a supervisor.

Why processes: run() holds the GIL, so one process per CPU is the only way to use more than one core.
The parent binds the port and forks before it imports or starts anything threaded; each worker imports the
score script, runs init() and only then serves, and tells the parent it is ready through a pipe. A worker
that fails to start makes the whole server exit with code 3 (upstream's boot-failure code), so a bad
script fails the pod at boot. SIGTERM/SIGINT drain gracefully: workers stop accepting, finish in-flight
requests (bounded by the graceful timeout), then exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable, Iterator
from types import FrameType

import uvicorn

from .app import ScoringApp
from .auth import key_store_from
from .config import ScoringConfig
from .drift import DriftBlock
from .loader import ScoreScript, ScriptError, initialise, load_script
from .metrics import MetricsBlock
from .pool import RunPool
from .scorer import Scorer
from .swagger import Swagger

logger = logging.getLogger("mlops.scoring")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BOOT_FAILURE = 3
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
KILL_GRACE_S = 5.0
MODEL_DIR_LOG_LIMIT = 200


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket every worker accepts from (the kernel hands each connection to one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is part of the scoring extra on Linux
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class _Server(uvicorn.Server):
    """uvicorn's server, telling the supervisor when it listens and marking the app as draining on exit."""

    def __init__(self, config: uvicorn.Config, app: ScoringApp, ready_fd: int | None) -> None:
        super().__init__(config)
        self._app = app
        self._ready_fd = ready_fd

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._ready_fd is not None:
            os.write(self._ready_fd, b"R")
            os.close(self._ready_fd)
            self._ready_fd = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Like uvicorn's, without re-raising the signal afterwards: a drained worker exits with 0."""
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._app.draining = True
        self.should_exit = True


def assemble(
    config: ScoringConfig,
    script: ScoreScript,
    swagger: Swagger,
    metrics: MetricsBlock,
    slot: int,
    drift: DriftBlock | None = None,
) -> tuple[ScoringApp, RunPool]:
    """One worker's application and its run pool (started on the running loop); shared with the tests.

    With a drift block, the worker's drift collector is started too; `app.drift.stop()` ends it.
    """
    recorder = metrics.recorder(slot)
    pool = RunPool(config.threads, config.scoring_timeout_ms)
    pool.start(asyncio.get_running_loop())
    batch = (config.batch_max_size, config.batch_max_wait_ms) if config.batching else None
    scorer = Scorer(script, pool, recorder, batch)
    if scorer.batching:
        logger.info("Adaptive batching on: run_batch() gets up to %d inputs", config.batch_max_size)
    keys = key_store_from(config.keys_dir)
    if keys is not None:
        logger.info("Key authentication on, keys from %s", config.keys_dir)
    collector = None
    if drift is not None:
        collector = drift.collector(slot, config.drift_max_rows_per_second)
        collector.start()
        logger.info(
            "Drift collection on: %d features, at most %d rows/s per worker",
            len(drift.profile.features), config.drift_max_rows_per_second,
        )  # fmt: skip
    app = ScoringApp(
        scorer, swagger, metrics, recorder, keys, config.max_request_bytes, config.server_version,
        config.deployment_name, collector,
    )  # fmt: skip
    return app, pool


async def _serve(
    config: ScoringConfig, sock: socket.socket, script: ScoreScript, swagger: Swagger, metrics: MetricsBlock,
    slot: int, ready_fd: int | None, drift: DriftBlock | None,
) -> None:  # fmt: skip
    app, pool = assemble(config, script, swagger, metrics, slot, drift)
    server_config = uvicorn.Config(
        app, http="httptools", loop="none", lifespan="off", access_log=False, log_config=None,
        timeout_keep_alive=int(config.keepalive_s), timeout_graceful_shutdown=int(config.graceful_timeout_s),
        server_header=False, date_header=True,
    )  # fmt: skip
    try:
        await _Server(server_config, app, ready_fd).serve(sockets=[sock])
    finally:
        pool.stop()
        if app.drift is not None:
            app.drift.stop()


def _log_model_dir(model_dir: str | None) -> None:
    """After a failed init(), show what the model directory holds: the usual cause is a wrong path."""
    if not model_dir or not os.path.isdir(model_dir):
        logger.error("Model directory %r does not exist or is not a directory", model_dir)
        return
    logger.info("Model directory %s contains:", model_dir)
    shown = 0
    for root, _, files in os.walk(model_dir):
        for name in files:
            if shown >= MODEL_DIR_LOG_LIMIT:
                logger.info("  ... (truncated after %d files)", MODEL_DIR_LOG_LIMIT)
                return
            logger.info("  %s", os.path.relpath(os.path.join(root, name), model_dir))
            shown += 1


def run_worker(
    config: ScoringConfig,
    sock: socket.socket,
    metrics: MetricsBlock,
    slot: int,
    ready_fd: int | None,
    drift: DriftBlock | None = None,
) -> int:
    """Load the script, run init(), serve until told to stop. The exit code tells the supervisor why."""
    try:
        loading = time.perf_counter()
        script = load_script(config)
        initialise(script)
        metrics.recorder(slot).model_load(time.perf_counter() - loading)  # import + init(), as users wait
        swagger = Swagger(config, script.run)
    except ScriptError as ex:
        logger.error("Cannot start the scoring server: %s", ex, exc_info=ex.__cause__ or ex)
        if "init()" in str(ex):
            _log_model_dir(config.model_dir)
        return EXIT_BOOT_FAILURE
    except Exception:
        logger.exception("Cannot start the scoring server: preparing /swagger.json failed")
        return EXIT_BOOT_FAILURE
    # Everything loaded so far (libraries, the model) lives as long as the worker: moving it out of the
    # collector's generations keeps full collections from rescanning it, which otherwise shows as
    # tens-of-milliseconds pauses in the latency tail under load.
    gc.collect()
    gc.freeze()
    logger.info("Worker %d (pid %d) ready; scoring timeout %d ms", slot, os.getpid(), config.scoring_timeout_ms)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(config, sock, script, swagger, metrics, slot, ready_fd, drift))
    return EXIT_OK


def serve(config: ScoringConfig) -> int:
    """Serve until SIGTERM/SIGINT; returns the process exit code."""
    try:
        sock = bind(config.host, config.port)
    except OSError as ex:
        logger.error("Cannot listen on %s:%d: %s", config.host, config.port, ex)
        return EXIT_FAILED
    metrics = MetricsBlock(config.workers)
    drift = DriftBlock(config.drift_profile, config.workers) if config.drift_profile is not None else None
    logger.info("Listening on http://%s:%d with %d worker(s)", config.host, config.port, config.workers)
    if config.workers == 1:
        return run_worker(config, sock, metrics, slot=0, ready_fd=None, drift=drift)
    return Supervisor(config, sock, metrics, drift).run()


class Supervisor:
    """Forks the workers, waits until all are ready, restarts crashed ones, forwards shutdown signals."""

    def __init__(
        self, config: ScoringConfig, sock: socket.socket, metrics: MetricsBlock, drift: DriftBlock | None = None
    ) -> None:
        self.config = config
        self.sock = sock
        self.metrics = metrics
        self.drift = drift
        self.children: dict[int, int] = {}  # pid -> slot
        self.stopping_since: float | None = None
        self.restarts: list[float] = []

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            pipes = {self._spawn(slot, want_ready=True): slot for slot in range(self.config.workers)}
            if not self._wait_ready(pipes):
                self._stop_children()
                self._reap_all(deadline=time.monotonic() + KILL_GRACE_S)
                return EXIT_BOOT_FAILURE
            logger.info("All %d workers are ready", self.config.workers)
            return self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _spawn(self, slot: int, want_ready: bool) -> int:
        """Fork one worker; returns the read end of its readiness pipe (or -1)."""
        read_fd, write_fd = os.pipe() if want_ready else (-1, -1)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns here (coverage cannot follow a fork)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = EXIT_FAILED
            try:
                if read_fd >= 0:
                    os.close(read_fd)
                ready_fd = write_fd if want_ready else None
                code = run_worker(self.config, self.sock, self.metrics, slot, ready_fd, self.drift)
            except BaseException:
                logger.exception("Worker %d crashed", slot)
            finally:
                logging.shutdown()
                os._exit(code)
        if write_fd >= 0:
            os.close(write_fd)
        self.children[pid] = slot
        return read_fd

    def _wait_ready(self, pipes: dict[int, int]) -> bool:
        """True once every worker reported ready; False as soon as one exits first or we are told to stop."""
        with selectors.DefaultSelector() as selector:
            for fd in pipes:
                selector.register(fd, selectors.EVENT_READ)
            waiting = set(pipes)
            while waiting and self.stopping_since is None:
                for key, _ in selector.select(timeout=0.5):
                    fd = int(key.fd)
                    data = os.read(fd, 1)
                    selector.unregister(fd)
                    os.close(fd)
                    waiting.discard(fd)
                    if data != b"R":
                        logger.error("Worker %d exited before it was ready", pipes[fd])
                        return False
            return not waiting

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        if self.stopping_since is None:
            logger.info("Received %s: draining workers", signal.Signals(sig).name)
            self.stopping_since = time.monotonic()
            self._stop_children()

    def _stop_children(self) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _supervise(self) -> int:
        deadline_s = self.config.graceful_timeout_s + KILL_GRACE_S
        while self.children:
            if self.stopping_since is not None:
                return self._reap_all(deadline=self.stopping_since + deadline_s)
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return EXIT_OK
            if pid == 0:
                time.sleep(0.2)
                continue
            slot = self.children.pop(pid, None)
            if slot is None or self.stopping_since is not None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if not self._may_restart():
                logger.error("Worker %d exited (%d) too often; stopping the server", slot, code)
                self._stop_children()
                self._reap_all(deadline=time.monotonic() + deadline_s)
                return EXIT_FAILED
            logger.error("Worker %d exited unexpectedly (%d); starting a new one", slot, code)
            self._spawn(slot, want_ready=False)
        return EXIT_OK

    def _may_restart(self) -> bool:
        now = time.monotonic()
        self.restarts = [at for at in self.restarts if now - at < RESTART_WINDOW_S] + [now]
        return len(self.restarts) <= MAX_RESTARTS

    def _reap_all(self, deadline: float) -> int:
        """Wait for every child; SIGKILL whatever is still running at the deadline."""
        while self.children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.children.pop(pid, None)
                continue
            if time.monotonic() >= deadline:
                for child in list(self.children):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.05)
        return EXIT_OK
