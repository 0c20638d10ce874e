"""Score a deployed model the way a client does: a smoke test for pipelines.

  mlopsctl smoke mdep/blue -n models --data sample-request.json --requests 20
  mlopsctl smoke mdep/green --data sample.json --deployment green   # pinned: only green answers

Reads `status.scoringUri` and the endpoint key (`primaryKey` of the Secret in `status.keysSecretRef`),
POSTs the file there --requests times (at most 1000, within --timeout overall), optionally pinned to one
deployment with the `azureml-model-deployment` header as Azure ML does, and prints the latency
percentiles, the status codes and the last response. Requests go only to the URL in status.

Exit codes:
  0  every response had --expect-status
  1  a request failed or answered another status (or a pinned request was answered by another deployment)
  2  usage error
  3  --timeout ran out before --requests were sent
  4  not found: the deployment, its scoring URI, its keys Secret or --data
"""

from __future__ import annotations

import argparse
import base64
import http.client
import statistics
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_operator.cli import resources as res
from mlops_operator.cli.wait import duration

if TYPE_CHECKING:
    from mlops_operator.kube import Kube

PIN_HEADER = "azureml-model-deployment"
MAX_REQUESTS = 1000
SHOWN_BYTES = 2000


def request_count(text: str) -> int:
    count = int(text)
    if not 1 <= count <= MAX_REQUESTS:
        raise argparse.ArgumentTypeError(f"--requests must be 1-{MAX_REQUESTS}")
    return count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", type=res.deployment_ref, metavar="mdep/NAME", help="a deployment of the endpoint")
    res.add_connection_arguments(parser)
    parser.add_argument("--data", type=Path, required=True, metavar="FILE", help="request body (JSON) to POST")
    parser.add_argument("--deployment", metavar="NAME", help="pin the requests to this deployment of the endpoint")
    parser.add_argument("--expect-status", type=int, default=200, help="HTTP status every answer must have")
    parser.add_argument("--requests", type=request_count, default=1, help=f"how many requests (1-{MAX_REQUESTS})")
    parser.add_argument("--timeout", type=duration, default=60.0, help="overall time limit (default 60s)")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text", help="result format")


@dataclass
class Results:
    """What the requests got back; latencies in milliseconds."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    answered_by: dict[str, int] = field(default_factory=dict)
    last_body: str = ""
    timed_out: bool = False

    def count(self, key: str, into: dict[str, int]) -> None:
        into[key] = into.get(key, 0) + 1


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50/p90/p99 and max; with fewer than two samples every percentile is the one sample."""
    if not latencies:
        return {}
    one = len(latencies) == 1
    cuts = [latencies[0]] * 99 if one else statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49], "p90": cuts[89], "p99": cuts[98], "max": max(latencies)}


def verdict(results: Results, expected: int, wanted: int, pinned: str | None) -> tuple[int, str]:
    """Pure: the exit code and the reason for it."""
    wrong = {s: n for s, n in results.statuses.items() if s != str(expected)}
    if wrong:
        return res.EXIT_FAILED, f"expected status {expected} for every request, got {results.statuses}"
    if pinned and set(results.answered_by) - {pinned}:
        return res.EXIT_FAILED, f"pinned to {pinned} but answered by {results.answered_by}"
    if results.timed_out or len(results.latencies) < wanted:
        return res.EXIT_TIMEOUT, f"only {len(results.latencies)} of {wanted} requests fitted in the time limit"
    return res.EXIT_OK, f"{wanted} request(s), all {expected}"


def _post(url: str, headers: dict[str, str], body: bytes, timeout: float, results: Results) -> None:
    parts = urllib.parse.urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.netloc, timeout=timeout)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    try:
        connection.request("POST", path or "/", body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        results.latencies.append((time.monotonic() - started) * 1000)
        results.count(str(response.status), results.statuses)
        results.count(response.getheader(PIN_HEADER) or "-", results.answered_by)
        results.last_body = data[:SHOWN_BYTES].decode(errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        results.count(type(exc).__name__, results.statuses)
        results.last_body = str(exc)
    finally:
        connection.close()


def send(url: str, headers: dict[str, str], body: bytes, requests: int, timeout: float) -> Results:
    """Up to `requests` POSTs, one at a time, stopping at the overall deadline."""
    results = Results()
    deadline = time.monotonic() + timeout
    for _ in range(requests):
        left = deadline - time.monotonic()
        if left <= 0:
            results.timed_out = True
            break
        _post(url, headers, body, left, results)
    return results


def target_of(kube: Kube, ref: res.Ref, namespace: str) -> tuple[str, str] | str:
    """(scoring URI, key) from the deployment's status and keys Secret, or what is missing."""
    item = res.get_deployment(kube, ref, namespace)
    if item is None:
        return f"ModelDeployment {namespace}/{ref.name} not found"
    status = item.get("status") or {}
    uri, secret_name = status.get("scoringUri"), (status.get("keysSecretRef") or {}).get("name")
    if not uri or not secret_name:
        return f"ModelDeployment {namespace}/{ref.name} has no scoringUri or keysSecretRef in status yet"
    secret = kube.get("v1", "Secret", secret_name, namespace)
    key = ((secret or {}).get("data") or {}).get("primaryKey")
    if not key:
        return f"Secret {namespace}/{secret_name} has no primaryKey"
    return uri, base64.b64decode(key).decode()


def report(results: Results, code: int, reason: str, uri: str) -> dict[str, Any]:
    stats = {k: round(v, 2) for k, v in percentiles(results.latencies).items()}
    return {
        "scoringUri": uri,
        "exitCode": code,
        "result": reason,
        "statuses": results.statuses,
        "answeredBy": results.answered_by,
        "latencyMs": stats,
        "response": results.last_body,
    }


def _print_text(data: dict[str, Any]) -> None:
    latency = " ".join(f"{k}={v}ms" for k, v in data["latencyMs"].items()) or "-"
    print(f"POST {data['scoringUri']}")
    print(f"statuses: {data['statuses']}  answered by: {data['answeredBy']}")
    print(f"latency: {latency}")
    print(f"response: {data['response']}")
    print(("ok: " if data["exitCode"] == 0 else "FAILED: ") + data["result"])


def run(args: argparse.Namespace) -> int:
    from mlops_operator.kube import KubeError

    try:
        body = args.data.read_bytes()
        found = target_of(res.connect(args.kubeconfig), args.target, args.namespace)
    except (KubeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return res.EXIT_NOT_FOUND
    if isinstance(found, str):
        print(f"error: {found}", file=sys.stderr)
        return res.EXIT_NOT_FOUND
    uri, key = found
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if args.deployment:
        headers[PIN_HEADER] = args.deployment
    results = send(uri, headers, body, args.requests, args.timeout)
    code, reason = verdict(results, args.expect_status, args.requests, args.deployment)
    data = report(results, code, reason, uri)
    if args.output == "json":
        print(res.render(data, "json"))
    else:
        _print_text(data)
    return code
