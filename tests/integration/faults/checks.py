"""What must hold once the churn is over, each as a list of offenders (empty when it holds).

Every function compares the cluster or the fake ARM server with the plan, and names each offender with
what was found, so a failure says which ModelDeployment, object or request is wrong and how.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fake_arm import FakeArm
from fake_arm.state import RequestRecord
from mlops_operator import naming
from mlops_operator.kube import Kube

from .plan import AZUREML, NATIVE, Expected, Plan
from .world import API, NAMESPACE, RETRY_AFTER_SECONDS

# The Ready reason a deployment whose Azure operation was made to end Failed or Canceled must show.
EXPECTED_FAILURE = {"lro-failed": "DeploymentFailed", "lro-canceled": "DeploymentFailed"}
CHILD_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "Pod"),
)
MANAGED = f"{naming.LABEL_MANAGED_BY}={naming.MANAGED_BY}"
# Steps already under way when a 429 arrives finish their calls (a GET and a PUT at most); nothing after this.
IN_FLIGHT_GRACE_S = 2.0


def ready_condition(body: dict[str, Any]) -> dict[str, Any]:
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


def unsettled(kube: Kube, plan: Plan) -> list[str]:
    """Survivors not Ready at their generation (or not failed as their fault demands); deleted ones still there."""
    found = {b["metadata"]["name"]: b for b in kube.list(API, "ModelDeployment", NAMESPACE)}
    problems = [f"{name}: deleted but still present" for name, m in plan.models.items() if m.deleted and name in found]
    for model in plan.survivors():
        body = found.get(model.name)
        problem = "missing" if body is None else _unsettled(model, body)
        if problem:
            problems.append(f"{model.name} ({model.backend}, fault {model.fault}): {problem}")
    return problems


def _unsettled(model: Expected, body: dict[str, Any]) -> str | None:
    generation, observed = body["metadata"]["generation"], (body.get("status") or {}).get("observedGeneration")
    ready = ready_condition(body)
    want = EXPECTED_FAILURE.get(model.fault or "")
    if observed != generation:
        return f"observedGeneration {observed} != generation {generation}; Ready {ready.get('reason')}"
    if want is None and ready.get("status") != "True":
        return f"Ready={ready.get('status')} {ready.get('reason')}: {str(ready.get('message'))[:200]}"
    if want is not None and (ready.get("status"), ready.get("reason")) != ("False", want):
        return f"wanted Ready=False {want}, got Ready={ready.get('status')} {ready.get('reason')}"
    return None


def orphans(kube: Kube, plan: Plan) -> list[str]:
    """Objects the operator made whose ModelDeployment (or every member of whose endpoint) is gone."""
    live_uids = {b["metadata"]["uid"] for b in kube.list(API, "ModelDeployment", NAMESPACE)}
    survivors = {m.name for m in plan.survivors()}
    endpoints = {m.endpoint for m in plan.survivors()}
    found = []
    for api_version, kind in CHILD_KINDS:
        for obj in kube.list(api_version, kind, NAMESPACE, MANAGED):
            why = _orphaned(obj, survivors, endpoints, live_uids)
            if why:
                found.append(f"{kind} {obj['metadata']['name']}: {why}")
    return found


def _orphaned(obj: dict[str, Any], survivors: set[str], endpoints: set[str], live_uids: set[str]) -> str | None:
    labels = obj["metadata"].get("labels") or {}
    owner = labels.get(naming.LABEL_DEPLOYMENT)
    if owner is not None and owner not in survivors:
        return f"its ModelDeployment {owner} was deleted"
    endpoint = labels.get(naming.LABEL_ENDPOINT)
    if owner is None and endpoint is not None and endpoint not in endpoints:
        return f"every member of endpoint {endpoint} was deleted"
    refs = obj["metadata"].get("ownerReferences") or []
    dangling = [r["name"] for r in refs if r["kind"] == "ModelDeployment" and r["uid"] not in live_uids]
    return f"owner references to deleted ModelDeployments {dangling}" if dangling else None


def azure_inventory(fake: FakeArm, plan: Plan) -> list[str]:
    """The fake's online endpoints and deployments against the surviving azureml ModelDeployments."""
    want = set()
    for model in plan.survivors(AZUREML):
        want |= {f"onlineendpoints/{model.endpoint}", f"onlineendpoints/{model.endpoint}/deployments/{model.name}"}
    have = {r.id.lower().split("/workspaces/", 1)[1].split("/", 1)[1] for r in fake.app.store.all()
            if r.kind in ("onlineEndpoints", "deployments")}  # fmt: skip
    return [f"in Azure, not wanted: {i}" for i in sorted(have - want)] + [
        f"wanted, not in Azure: {i}" for i in sorted(want - have)
    ]


def throttle_windows(records: Iterable[RequestRecord], *, after: float = 0.0) -> list[tuple[str, float, float]]:
    """(path, start, end) of each Retry-After window a 429 announced (every injected 429 says the same),
    starting `after` seconds into it."""
    return [(r.path.lower(), r.at + after, r.at + RETRY_AFTER_SECONDS) for r in records if r.status == 429]


def calls_inside_windows(fake: FakeArm, *, same_path: bool, grace: float = IN_FLIGHT_GRACE_S) -> list[str]:
    """Requests made while a 429's Retry-After ran.

    To the throttled path: none at all (that would be the throttled call retried early). To any other path of
    the subscription, which is what the operator promises (backends/azureml/backend.py): none once the steps
    already under way when the 429 came have finished, `grace` seconds after it (measured: 0.12 s)."""
    records = fake.requests()
    windows = throttle_windows(records, after=0.0 if same_path else grace)
    found = []
    for record in records:
        for path, start, end in windows:
            if start < record.at < end and (not same_path or record.path.lower() == path):
                found.append(
                    f"{record.method} {record.path} {record.at - start:.2f}s into the window of a 429 on {path}"
                )
                break
    return found


def applied_more_than_once(kube: Kube, fake: FakeArm, plan: Plan) -> list[str]:
    """A Deployment generation, or successful Azure deployment PUTs, beyond one per change the plan made."""
    found = []
    deployments = {d["metadata"]["name"]: d for d in kube.list("apps/v1", "Deployment", NAMESPACE, MANAGED)}
    for model in plan.survivors(NATIVE):
        generation = (deployments.get(model.name) or {}).get("metadata", {}).get("generation", 0)
        if not 1 <= generation <= 1 + model.workload_changes:
            found.append(f"Deployment {model.name}: generation {generation}, changes {model.workload_changes}")
    records = fake.requests()
    for model in plan.survivors(AZUREML):
        path = f"/onlineendpoints/{model.endpoint}/deployments/{model.name}".lower()
        mine = [r for r in records if r.path.lower().endswith(path)]
        puts = [r for r in mine if r.method == "PUT" and 200 <= r.status < 300]  # 0: reset
        if not 1 <= len(puts) <= 1 + model.workload_changes:
            history = ", ".join(f"{r.method} {r.status} @{r.at - records[0].at:.1f}s" for r in mine)
            changes = model.workload_changes
            found.append(f"Azure deployment {model.name}: {len(puts)} PUTs, changes {changes}: {history}")
    return found
