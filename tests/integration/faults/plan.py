"""The churn plan: a seeded, reproducible sequence of creates, spec updates and deletes of ModelDeployments,
with the operator killed and the API server restarted at chosen points, and Azure faults assigned to names.

Pure: no cluster, no clock. The same seed gives the same plan, so a failing run can be replayed with
MLOPS_CHURN_SEED. What each ModelDeployment should end as is kept beside the actions (`Expected`), so the
checks compare the cluster and the fake ARM server with the plan, not with themselves.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

NATIVE, AZUREML = "native", "azureml"
Verb = Literal["create", "update", "delete", "kill-operator", "start-operator", "restart-apiserver"]
# Azure faults, each on one azureml ModelDeployment's own ARM paths (see world.program_faults).
REQUEST_FAULTS = (
    "throttle-put",  # 429 + Retry-After on the deployment's PUT
    "throttle-get",  # 429 + Retry-After on the deployment's GET
    "unavailable-get",  # 500 on the deployment's GET
    "unavailable-put",  # 503 on the deployment's PUT
    "reset-get",  # connection reset on the deployment's GET
    "reset-put",  # connection reset on the deployment's PUT
)
FAULTS_PER_KIND = 4
OPERATION_FAILURES = {"lro-failed": 3, "lro-canceled": 2}  # operations that end Failed or Canceled
SLOW_PER_KILL = 2  # deployments created just before each operator kill get slow operations (outlive it)


@dataclass(frozen=True)
class Action:
    verb: Verb
    name: str = ""
    change: dict[str, Any] = field(default_factory=dict)


@dataclass
class Expected:
    """One ModelDeployment as the plan leaves it."""

    name: str
    backend: str
    endpoint: str
    instance_count: int = 1
    traffic: int = 0
    env: dict[str, str] = field(default_factory=dict)
    deleted: bool = False
    workload_changes: int = 0  # updates that change its Deployment (native) or its Azure deployment
    fault: str | None = None

    def spec(self) -> dict[str, Any]:
        return {"instanceCount": self.instance_count, "traffic": self.traffic, "environmentVariables": dict(self.env)}


@dataclass
class Plan:
    seed: int
    actions: list[Action]
    models: dict[str, Expected]

    def survivors(self, backend: str | None = None) -> list[Expected]:
        return [m for m in self.models.values() if not m.deleted and backend in (None, m.backend)]

    def counts(self) -> Counter[str]:
        counted = Counter(a.verb for a in self.actions)
        counted.update(m.fault for m in self.models.values() if m.fault)
        return counted


@dataclass(frozen=True)
class Shape:
    """How big the churn is."""

    deployments: int = 200
    updates: int = 100
    deletes: int = 50
    operator_kills: int = 3
    kill_downtime_actions: tuple[int, int] = (3, 12)  # actions applied while the operator is down


def make_plan(seed: int, shape: Shape = Shape()) -> Plan:
    rng = random.Random(seed)
    models = _models(rng, shape.deployments)
    churn = _churn(rng, models, shape)
    actions = _with_disruptions(rng, churn, shape)
    _assign_slow_operations(actions, models)
    return Plan(seed, actions, models)


def _models(rng: random.Random, count: int) -> dict[str, Expected]:
    """Half per backend, spread over 50 endpoints; Azure faults assigned to azureml names."""
    names = [f"md-{i:03d}" for i in range(count)]
    backends = [NATIVE, AZUREML] * (count // 2) + [NATIVE] * (count % 2)
    rng.shuffle(backends)
    models: dict[str, Expected] = {}
    endpoint_size: Counter[str] = Counter()
    for name, backend in zip(names, backends, strict=True):
        prefix = "nep" if backend == NATIVE else "aep"
        endpoint = f"{prefix}-{rng.randrange(count // 4):02d}"
        endpoint_size[endpoint] += 1
        models[name] = Expected(name, backend, endpoint, instance_count=rng.randint(1, 2))
    azure = [m for m in models.values() if m.backend == AZUREML]
    rng.shuffle(azure)
    for kind in REQUEST_FAULTS:
        for model in azure[:FAULTS_PER_KIND]:
            model.fault = kind
        azure = azure[FAULTS_PER_KIND:]
    for kind, how_many in OPERATION_FAILURES.items():
        for model in azure[:how_many]:
            model.fault = kind
            model.endpoint = f"afail-{model.name[3:]}"  # alone on its endpoint: its failure blocks no sibling
        azure = azure[how_many:]
    return models


def _frozen(model: Expected) -> bool:
    """Deployments whose operation is made to fail keep their spec: a new spec would rightly be sent again."""
    return model.fault in OPERATION_FAILURES


def _churn(rng: random.Random, models: dict[str, Expected], shape: Shape) -> list[Action]:
    pending = list(models)
    rng.shuffle(pending)
    live: list[str] = []
    updates, deletes, actions = shape.updates, shape.deletes, []
    while pending or updates or deletes:
        mutable = [n for n in live if not _frozen(models[n])]
        if pending and (not mutable or not (updates or deletes) or rng.random() < 0.55):
            live.append(pending.pop())
            actions.append(Action("create", live[-1], models[live[-1]].spec()))
        elif deletes and (not updates or rng.random() < deletes / (deletes + updates)):
            name = rng.choice(mutable)
            live.remove(name)
            models[name].deleted, deletes = True, deletes - 1
            actions.append(Action("delete", name))
        else:
            name = rng.choice(mutable)
            actions.append(Action("update", name, _change(rng, models, name, len(actions))))
            updates -= 1
    return actions


def _change(rng: random.Random, models: dict[str, Expected], name: str, token: int) -> dict[str, Any]:
    """One spec change; traffic moves only where the endpoint's sum stays 0 or 100."""
    model = models[name]
    kind = rng.choice(("instanceCount", "environmentVariables", "traffic"))
    if kind == "traffic":
        others = [m for m in models.values() if m.endpoint == model.endpoint and m.name != name and not m.deleted]
        if model.traffic or not any(m.traffic for m in others):
            model.traffic = 0 if model.traffic else 100
            return {"traffic": model.traffic}
        kind = "instanceCount"
    model.workload_changes += 1
    if kind == "instanceCount":
        model.instance_count = 3 - model.instance_count  # 1 <-> 2
        return {"instanceCount": model.instance_count}
    model.env = {"CHURN_TOKEN": f"t{token}"}
    return {"environmentVariables": dict(model.env)}


def _with_disruptions(rng: random.Random, churn: list[Action], shape: Shape) -> list[Action]:
    """Operator kills spread over the churn (one per stretch), and one API server restart between them."""
    stretch = len(churn) // (shape.operator_kills + 1)
    inserts: list[tuple[int, Action]] = []
    for k in range(shape.operator_kills):
        at = rng.randrange(stretch * k + stretch // 2, stretch * (k + 1))  # a restart ends before the next kill
        down = rng.randint(*shape.kill_downtime_actions)
        inserts += [(at, Action("kill-operator")), (at + down, Action("start-operator"))]
    apiserver_at = rng.randrange(stretch // 2, len(churn) - stretch // 2)
    inserts.append((apiserver_at, Action("restart-apiserver")))
    actions = list(churn)
    for at, action in sorted(inserts, key=lambda pair: pair[0], reverse=True):
        actions.insert(at, action)
    return actions


def _assign_slow_operations(actions: list[Action], models: dict[str, Expected]) -> None:
    """The azureml deployments created last before each kill get operations that outlive the restart."""
    for index, action in enumerate(actions):
        if action.verb != "kill-operator":
            continue
        before = [a.name for a in reversed(actions[:index]) if a.verb == "create"]
        candidates = [n for n in before if models[n].backend == AZUREML and models[n].fault is None]
        for name in candidates[:SLOW_PER_KILL]:
            models[name].fault = "slow"
