"""Benchmark our scoring server against azureml-inference-server-http on the same machine, same load.

Both servers serve the same score.py and sklearn model with the same number of workers; wrk drives each
over loopback for a bounded time per case (concurrency x rows per request) and we report req/s, p50, p99
(from wrk) and server CPU per request (utime+stime of the server's whole process tree, from /proc). The
floor is the in-process cost of run() alone. The final lines are one RESULT per case, ours/theirs.

    .venv/bin/python bench/scoring.py --duration 5          # full matrix, ~3 minutes
    .venv/bin/python bench/scoring.py --models linear --concurrency 32 --batch 1

With --drift, ours is compared with ours collecting drift (MLOPS_DRIFT_PROFILE set to a profile of the
diabetes features) instead of with upstream: fresh server pairs, alternating rounds; RESULT gives the req/s
ratio and the collector's share of the server's CPU.

    .venv/bin/python bench/scoring.py --drift --models linear --concurrency 32 --batch 1 --duration 2
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "models" / "sklearn-diabetes"
SCRIPTS = {"linear": EXAMPLE / "score.py", "forest": EXAMPLE / "score_batch.py", "forest-plain": EXAMPLE / "score.py"}
START_DEADLINE_S = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
COLLECTOR_CPU = "mlops_drift_collector_cpu_seconds_total"


@dataclass(frozen=True)
class Measurement:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_req: float
    errors: int


def train(kind: str, model_dir: Path) -> None:
    """LinearRegression, or a 50-tree RandomForest, on the bundled diabetes data (no download)."""
    features, target = load_diabetes(return_X_y=True)
    model = LinearRegression() if kind == "linear" else RandomForestRegressor(n_estimators=50, random_state=0)
    model.fit(features, target)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.pkl")


def payload(rows: int) -> str:
    features, _ = load_diabetes(return_X_y=True)
    return json.dumps({"data": np.resize(features, (rows, features.shape[1])).round(6).tolist()})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """The root pid and all its descendants (workers are children of the supervisor / gunicorn master)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(entry))
    tree, frontier = [root], [root]
    while frontier:
        children = parents.get(frontier.pop(), [])
        tree += children
        frontier += children
    return tree


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


@contextlib.contextmanager
def server(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while not _live(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _live(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    return float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")


def drive(port: int, lua: Path, concurrency: int, duration: float, server_pid: int) -> Measurement:
    """One bounded wrk run; CPU of the server tree is sampled around it."""
    threads = str(min(2, concurrency))
    base = ["wrk", "-t", threads, "-c", str(concurrency), "--latency", "-s", str(lua), f"http://127.0.0.1:{port}/score"]
    subprocess.run([*base[:6], "-d", "1s", *base[6:]], capture_output=True, timeout=30, check=True)  # warm-up
    pids = process_tree(server_pid)
    before = cpu_seconds(pids)
    result = subprocess.run(
        [*base[:6], "-d", f"{duration:g}s", *base[6:]],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    )
    used = cpu_seconds(pids) - before
    text = result.stdout
    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    return Measurement(rps, _latency_ms(text, "50"), _latency_ms(text, "99"), used * 1000 / max(requests, 1), errors)


def floor_ms(script: Path, model_dir: Path, body: str, budget_s: float = 1.0) -> float:
    """The in-process cost of run() alone: what no server can go below."""
    os.environ["AZUREML_MODEL_DIR"] = str(model_dir)
    spec = importlib.util.spec_from_file_location(f"bench_{script.stem}_{model_dir.name}", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.init()
    module.run(body)
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < budget_s and calls < 100_000:
        module.run(body)
        calls += 1
    return (time.perf_counter() - started) * 1000 / calls


def commands(script: Path, model_dir: Path, port: int, workers: int, aml_python: str) -> dict[str, list[str]]:
    return {
        "ours": [
            sys.executable, "-m", "mlops_operator.scoring", "--entry-script", str(script), "--model-dir",
            str(model_dir), "--port", str(port), "--host", "127.0.0.1", "--workers", str(workers),
        ],
        "theirs": [
            aml_python, "-m", "azureml_inference_server_http", "--entry_script", str(script), "--model_dir",
            str(model_dir), "--port", str(port), "--worker_count", str(workers),
        ],
    }  # fmt: skip


def aml_interpreter() -> str:
    venv = subprocess.run(
        ["bash", str(REPO / "hack" / "aml-venv.sh")], capture_output=True, text=True, check=True, timeout=900
    )
    return str(Path(venv.stdout.strip().splitlines()[-1]) / "bin" / "python")


def run_model(model: str, args: argparse.Namespace, workdir: Path, aml_python: str) -> list[str]:
    model_dir = workdir / model
    train("linear" if model == "linear" else "forest", model_dir)
    script = SCRIPTS[model]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_", "MLOPS_"))}
    results: list[str] = []
    measured: dict[tuple[str, int, int], Measurement] = {}
    for batch in args.batch:
        lua = workdir / f"post-{batch}.lua"
        body = payload(batch)
        lua.write_text(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[{body}]==]\n'
        )
        print(f"floor model={model} batch={batch}: run() alone {floor_ms(script, model_dir, body):.3f} ms/call")
    with contextlib.ExitStack() as stack:
        # Both servers run for the whole matrix and each case drives ours, then theirs, straight after:
        # on a shared machine, background load then affects both sides of a ratio alike.
        running = {}
        for name in ("ours", "theirs"):
            port = free_port()
            command = commands(script, model_dir, port, args.workers, aml_python)[name]
            running[name] = (port, stack.enter_context(server(command, port, env, workdir / f"{model}-{name}.log")))
        for batch in args.batch:
            for concurrency in args.concurrency:
                for name, (port, process) in running.items():
                    m = drive(port, workdir / f"post-{batch}.lua", concurrency, args.duration, process.pid)
                    measured[(name, concurrency, batch)] = m
                    print(
                        f"{name:6} model={model} conc={concurrency:3} batch={batch:3}: {m.rps:9.1f} req/s "
                        f"p50 {m.p50_ms:7.2f} ms p99 {m.p99_ms:7.2f} ms cpu/req {m.cpu_ms_per_req:6.3f} ms "
                        f"errors {m.errors}",
                        flush=True,
                    )
    for batch in args.batch:
        for concurrency in args.concurrency:
            ours, theirs = measured[("ours", concurrency, batch)], measured[("theirs", concurrency, batch)]
            results.append(
                f"RESULT model={model} conc={concurrency} batch={batch} rps_ratio={ours.rps / theirs.rps:.2f} "
                f"p99_ratio={ours.p99_ms / theirs.p99_ms:.2f} cpu_per_req_ms={ours.cpu_ms_per_req:.3f} "
                f"theirs_cpu_per_req_ms={theirs.cpu_ms_per_req:.3f}"
            )
    return results


def write_drift_profile(path: Path) -> None:
    """The diabetes features' reference profile, built as `mlopsctl profile` builds it (quantile bins)."""
    from mlops_operator.drift.build import build_profile

    data = load_diabetes(as_frame=True)
    path.write_text(build_profile(data.frame, features=list(data.feature_names)).to_json())


def drift_counters(port: int) -> dict[str, float]:
    """The drift server's totals (rows, skips, collector CPU) from its /metrics, summed over its workers."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    wanted = ("mlops_drift_rows_total", "mlops_drift_skipped_total", COLLECTOR_CPU)
    return {
        series: float(value)
        for series, value in (line.rsplit(" ", 1) for line in text.splitlines() if line.startswith(wanted))
    }


def run_drift(model: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    """Ours without and with drift collection on the same load, for each case; see `drift_case`."""
    model_dir = workdir / model
    train("linear" if model == "linear" else "forest", model_dir)
    profile = workdir / "drift-profile.json"
    write_drift_profile(profile)
    results: list[str] = []
    for batch in args.batch:
        lua = workdir / f"post-{batch}.lua"
        lua.write_text(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = [==[{payload(batch)}]==]\n"
        )
        for concurrency in args.concurrency:
            case = f"model={model} conc={concurrency} batch={batch}"
            results += drift_case(model, model_dir, profile, lua, concurrency, args, case)
    return results


Servers = dict[str, tuple[int, subprocess.Popen[bytes]]]


@contextlib.contextmanager
def drift_servers(
    model: str, model_dir: Path, profile: Path, args: argparse.Namespace, log_dir: Path
) -> Iterator[Servers]:
    """A fresh pair, plain and collecting: each process has its own hash seed and memory layout, which move
    req/s by several percent on their own, so a comparison draws on several pairs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_", "MLOPS_"))}
    with contextlib.ExitStack() as stack:
        running = {}
        for name, extra in (("plain", {}), ("drift", {"MLOPS_DRIFT_PROFILE": str(profile)})):
            port = free_port()
            command = commands(SCRIPTS[model], model_dir, port, args.workers, "")["ours"]
            log = log_dir / f"{model}-{name}.log"
            running[name] = (port, stack.enter_context(server(command, port, env | extra, log)))
        yield running


def drift_case(
    model: str, model_dir: Path, profile: Path, lua: Path, concurrency: int, args: argparse.Namespace, case: str
) -> list[str]:
    """req/s with and without collection over `--sessions` fresh server pairs, each driven in alternating
    rounds (plain, drift, drift, plain, ...) so that background load on a shared machine falls on both
    alike; and the collector threads' share of the collecting server's CPU, from its own counter."""
    rps: dict[str, list[float]] = {"plain": [], "drift": []}
    sessions: list[float] = []
    server = 0.0
    totals: dict[str, float] = {}
    for session in range(args.sessions):
        with drift_servers(model, model_dir, profile, args, lua.parent) as running:
            port, process = running["drift"]
            pids = process_tree(process.pid)
            before = cpu_seconds(pids)
            measured = drift_rounds(running, lua, concurrency, args, f"session {session} {case}")
            server += cpu_seconds(pids) - before
            for series, value in drift_counters(port).items():
                totals[series] = totals.get(series, 0.0) + value
        sessions.append(statistics.fmean(measured["drift"]) / statistics.fmean(measured["plain"]))
        for name, values in measured.items():
            rps[name] += values
    plain, drift = statistics.fmean(rps["plain"]), statistics.fmean(rps["drift"])
    pairs = [d / p for p, d in zip(rps["plain"], rps["drift"], strict=True)]
    return [
        f"RESULT drift {case} sessions={args.sessions} rounds={args.rounds} plain_rps={plain:.1f} "
        f"drift_rps={drift:.1f} rps_ratio={drift / plain:.3f} median_round_ratio={statistics.median(pairs):.3f} "
        f"session_ratios={','.join(f'{r:.3f}' for r in sessions)} "
        f"collector_cpu_share={totals.get(COLLECTOR_CPU, 0.0) / max(server, 1e-9):.4f}",
        "DRIFT totals: " + " ".join(f"{series}={value:g}" for series, value in totals.items()),
    ]


def drift_rounds(
    running: Servers, lua: Path, concurrency: int, args: argparse.Namespace, case: str
) -> dict[str, list[float]]:
    """req/s of each server, round by round; the order flips every round."""
    rps: dict[str, list[float]] = {"plain": [], "drift": []}
    for round_ in range(args.rounds):
        for name in ("plain", "drift") if round_ % 2 == 0 else ("drift", "plain"):
            port, process = running[name]
            m = drive(port, lua, concurrency, args.duration, process.pid)
            rps[name].append(m.rps)
            print(
                f"round {round_} {name:5} {case}: {m.rps:9.1f} req/s p50 {m.p50_ms:7.2f} ms "
                f"p99 {m.p99_ms:7.2f} ms cpu/req {m.cpu_ms_per_req:6.3f} ms errors {m.errors}",
                flush=True,
            )
    return rps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured case (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for both servers")
    parser.add_argument("--models", nargs="+", default=["linear", "forest"], choices=sorted(SCRIPTS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 100], help="rows per request")
    parser.add_argument("--drift", action="store_true", help="compare ours with ours collecting drift instead")
    parser.add_argument("--rounds", type=int, default=6, help="with --drift: alternating rounds per session")
    parser.add_argument("--sessions", type=int, default=4, help="with --drift: fresh server pairs per case")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 120:
        parser.error("--duration must be within (0, 120] seconds")
    if args.rounds < 1 or args.sessions < 1:
        parser.error("--rounds and --sessions must be at least 1")
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    aml_python = "" if args.drift else aml_interpreter()
    results: list[str] = []
    with tempfile.TemporaryDirectory(prefix="scoring-bench-") as tmp:
        for model in args.models:
            if args.drift:
                results += run_drift(model, args, Path(tmp))
            else:
                results += run_model(model, args, Path(tmp), aml_python)
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
