"""What the read commands share: resource references, readiness, one status row per object, the table.

Pure functions over the objects as the API server returns them (dicts), so `status`, `wait`, `smoke`,
`promote` and `mlopsctl dev` print and judge them one way. Only `connect` touches the API.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from mlops_operator.api.v1alpha1 import API_VERSION

if TYPE_CHECKING:
    from mlops_operator.kube import Kube

PLATFORM = "MLOpsPlatform"
DEPLOYMENT = "ModelDeployment"
ALIASES = {
    "mlp": PLATFORM,
    "mlopsplatform": PLATFORM,
    "mlopsplatforms": PLATFORM,
    "mdep": DEPLOYMENT,
    "modeldeployment": DEPLOYMENT,
    "modeldeployments": DEPLOYMENT,
}
# Exit codes shared by the commands that talk to the cluster; each command's --help lists the ones it uses.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_NOT_FOUND = 4
EXIT_CODES_HELP = """\
Exit codes:
  0  success
  1  the check failed (the reason and message are printed)
  2  usage error (bad arguments)
  3  timed out (the last reason seen is printed)
  4  not found, or the API server could not be reached
"""


@dataclass(frozen=True)
class Ref:
    """`KIND/NAME` or `KIND` from the command line; `name` is None for "all of this kind"."""

    kind: str
    name: str | None = None


def parse_ref(text: str) -> Ref:
    """`mdep/blue`, `modeldeployment/blue`, `mlp/local` or just `mdep`; argparse turns ValueError into usage."""
    kind, _, name = text.partition("/")
    found = ALIASES.get(kind.lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"unknown kind {kind!r}: use mdep/NAME or mlp/NAME")
    if name and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name):
        raise argparse.ArgumentTypeError(f"{name!r} is not a Kubernetes object name")
    return Ref(found, name or None)


def deployment_ref(text: str) -> Ref:
    """A reference that must name one ModelDeployment (`mdep/NAME`, or a bare NAME)."""
    ref = parse_ref(text if "/" in text else f"mdep/{text}")
    if ref.kind != DEPLOYMENT or ref.name is None:
        raise argparse.ArgumentTypeError(f"{text!r}: name one ModelDeployment, e.g. mdep/blue")
    return ref


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--namespace", default="default", help="namespace (default: default)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")


def connect(kubeconfig: str | None) -> Kube:
    """A client for the cluster; OSError (exit 4 in every command) when no configuration is found."""
    from kubernetes.config import ConfigException

    from mlops_operator.kube import Kube, load_api_client

    try:
        return Kube(load_api_client(kubeconfig))
    except ConfigException as exc:
        raise OSError(f"no cluster configuration: {exc}; set KUBECONFIG or pass --kubeconfig") from exc


def condition(item: dict[str, Any], type_: str) -> dict[str, Any] | None:
    conditions = (item.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == type_), None)


def is_current(item: dict[str, Any]) -> bool:
    """The status describes the spec as it is now (observedGeneration == generation)."""
    observed = (item.get("status") or {}).get("observedGeneration")
    return observed is not None and observed == item["metadata"].get("generation")


def is_ready(item: dict[str, Any]) -> bool:
    ready = condition(item, "Ready")
    return is_current(item) and ready is not None and ready.get("status") == "True"


def age(created: str | None, now: dt.datetime) -> str:
    """kubectl's short form: 45s, 12m, 5h, 3d."""
    if not created:
        return "-"
    seconds = int((now - dt.datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def summary(item: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The row of one object: what `status` prints as a table line or as a JSON/YAML object."""
    meta, spec, status = item["metadata"], item.get("spec") or {}, item.get("status") or {}
    ready = condition(item, "Ready") or {}
    replicas = status.get("replicas")
    return {
        "kind": item.get("kind", ""),
        "namespace": meta.get("namespace"),
        "name": meta["name"],
        "ready": ready.get("status", "Unknown") if is_current(item) else "Unknown",
        "reason": ready.get("reason", "") if is_current(item) else "NotObservedYet",
        "message": ready.get("message", ""),
        "endpoint": (spec.get("endpoint") or {}).get("name"),
        "backend": spec.get("backend"),
        "traffic": (status.get("traffic") or {}).get(meta["name"]) if item.get("kind") == DEPLOYMENT else None,
        "replicas": {"ready": replicas.get("ready", 0), "desired": replicas.get("desired", 0)} if replicas else None,
        "scoringUri": status.get("scoringUri"),
        "generation": meta.get("generation"),
        "observedGeneration": status.get("observedGeneration"),
        "age": age(meta.get("creationTimestamp"), now),
    }


COLUMNS = (
    "KIND",
    "NAMESPACE",
    "NAME",
    "READY",
    "REASON",
    "ENDPOINT/BACKEND",
    "TRAFFIC",
    "REPLICAS",
    "SCORING URI",
    "AGE",
)


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    replicas = row["replicas"]
    return (
        row["kind"],
        row["namespace"] or "-",
        row["name"],
        row["ready"],
        row["reason"] or "-",
        row["endpoint"] or row["backend"] or "native",
        "-" if row["traffic"] is None else f"{row['traffic']}%",
        f"{replicas['ready']}/{replicas['desired']}" if replicas else "-",
        row["scoringUri"] or "-",
        row["age"],
    )


def status_table(items: list[dict[str, Any]], now: dt.datetime | None = None) -> str:
    """`kubectl get mlp,mdep -A` style: one line per object, columns padded to the widest cell."""
    moment = now or dt.datetime.now(dt.UTC)
    rows = [COLUMNS, *(_cells(summary(item, moment)) for item in items)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def render(data: Any, output: str) -> str:
    """`-o json` or `-o yaml` of already summarised data."""
    if output == "yaml":
        return yaml.safe_dump(data, sort_keys=False).rstrip()
    return json.dumps(data, indent=2)


def get_deployment(kube: Kube, ref: Ref, namespace: str) -> dict[str, Any] | None:
    assert ref.name is not None
    return kube.get(API_VERSION, DEPLOYMENT, ref.name, namespace)
