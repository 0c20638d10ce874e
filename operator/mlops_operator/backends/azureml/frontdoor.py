"""Azure Front Door made to match a FrontDoorDesired, one non-blocking pass at a time.

Each pass reads the five resources (profile, AFD endpoint, origin group, the group's origins in one list,
route: five reads when idle) and begins, with `Begun` (no poller thread), the PUTs that are due: a resource
is PUT when it is missing or when the digest of its desired body differs from the one recorded when it was
last PUT (`applied`). Children wait for their parents to be Succeeded: profile -> endpoint and origin group
(together) -> origins (all together) -> route. Origins in Azure that are no longer desired (a region dropped
from the spec) are deleted. The caller keeps `applied` and `operations` on its status and passes them back.

Taking a region out is a PUT of its origin with `enabledState: Disabled` (the digest changes with
`enabled`), the same write as any other change to it.

Deletion goes in reverse: the route and every origin, then the origin group and the endpoint, then the
profile, the last only when no other AFD endpoint or origin group is left in it (a profile may be shared,
and deleting it would take everything in it).

A write that raises mid-pass loses the record of the writes begun before it in that pass (the error, not
an observation, is what the caller gets); the next pass then finds such a resource with no recorded
digest and PUTs the same body once more, which is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from azure.core.rest import HttpRequest

from mlops_operator.api.v1alpha1.common import OperationRecord
from mlops_operator.backends.azureml import frontdoor_desired as fd
from mlops_operator.backends.azureml.frontdoor_desired import FrontDoorDesired, origin_key
from mlops_operator.backends.azureml.operations import Ledger, azure_errors, get_or_none, state_name, state_of
from mlops_operator.backends.azureml.writes import Begun
from mlops_operator.backends.base import DeletionRefusedError, FatalError
from mlops_operator.conditions import Reason

DELETE_TAG = "delete"  # the tag of a delete operation's record; a PUT's tag is the digest it sent


@dataclass(frozen=True)
class FrontDoorObserved:
    """What one pass saw and did."""

    url: str | None  # "https://" + the AFD endpoint's hostName once known
    settled: bool  # apply: every resource exists, Succeeded, nothing in flight; delete: everything is gone
    writes: int  # writes begun in this pass
    applied: dict[str, str]  # resource key -> digest of what we last PUT
    operations: dict[str, OperationRecord]  # operations still in flight, keyed e.g. "frontdoor/origin/eastus"
    origins: dict[str, str]  # region -> "Enabled"/"Disabled" as Azure has it, "(Updating)" etc. when not Succeeded
    message: str  # a human summary


@dataclass
class _Pass:
    """One pass over the Front Door of one GlobalEndpoint: reads, the writes begun, what is still pending."""

    cdn: Any
    desired: FrontDoorDesired
    applied: dict[str, str]
    ledger: Ledger
    writes: int = 0
    url: str | None = None
    pending: list[str] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)
    profile_kept: bool = False  # deletion: the profile holds endpoints or origin groups that are not ours

    @property
    def scope(self) -> tuple[str, str]:
        return self.desired.resource_group, self.desired.profile

    def observed(self, settled: bool, done_message: str) -> FrontDoorObserved:
        settled = settled and not self.pending and self.writes == 0
        return FrontDoorObserved(
            url=self.url,
            settled=settled,
            writes=self.writes,
            applied=dict(self.applied),
            operations=self.ledger.records(),
            origins=dict(self.origins),
            message=done_message if settled else "; ".join(self.pending) or "waiting for Azure",
        )

    # ---- writes --------------------------------------------------------------------------------------
    def put(self, key: str, label: str, model: Any, start: Callable[[Any], Any], *, creating: bool) -> None:
        digest = fd.digest(model)
        self.ledger.begin(key, lambda: start(model), tag=digest)
        self.applied[key] = digest
        self.writes += 1
        self.pending.append(f"{'creating' if creating else 'updating'} {label}")

    def delete(self, key: str, label: str, start: Callable[[], Any]) -> None:
        self.ledger.begin(key, start, tag=DELETE_TAG)
        self.applied.pop(key, None)
        self.writes += 1
        self.pending.append(f"deleting {label}")

    # ---- observation ---------------------------------------------------------------------------------
    def ensure(self, key: str, label: str, live: Any, model: Any, start: Callable[[Any], Any]) -> bool:
        """True when `live` is Succeeded and is what we last PUT; otherwise begins or waits for the PUT."""
        if live is None:
            self.put(key, label, model, start, creating=True)
            return False
        state = state_of(live.provisioning_state)
        if state == "in-progress":
            self.pending.append(f"{label} is {state_name(live.provisioning_state)}")
            return False
        if state == "failed" and self.applied.get(key) == fd.digest(model):
            raise FatalError(self.failure(key, label), Reason.AZURE_OPERATION_FAILED)
        if self.applied.get(key) != fd.digest(model):
            self.put(key, label, model, start, creating=False)
            return False
        self.ledger.finish(key)
        return True

    def failure(self, key: str, label: str) -> str:
        """`<label>: ARM <code>: <message>` from the failed operation's status document, when ARM has it."""
        return f"Front Door {label}: {self.detail(key)}"

    def detail(self, key: str) -> str:
        found = operation_error(self.cdn, self.ledger.url(key))
        return f"ARM {found[0]}: {found[1]}" if found else "provisioningState Failed"

    def remove(self, key: str, label: str, live: Any, start: Callable[[], Any]) -> bool:
        """True when `live` is gone; otherwise begins or waits for its deletion. A failed deletion of ours
        raises DeletionRefusedError naming the resource and ARM's error."""
        if live is None:
            self.ledger.finish(key)
            return True
        state = state_of(live.provisioning_state)
        if state == "in-progress":
            self.pending.append(f"{label} is {state_name(live.provisioning_state)}")
            return False
        if state == "failed" and self.ledger.tag(key) == DELETE_TAG:
            raise DeletionRefusedError(f"Front Door {label}", self.detail(key), Reason.AZURE_OPERATION_FAILED)
        self.delete(key, label, start)
        return False


def operation_error(cdn: Any, url: str) -> tuple[str, str] | None:
    """(code, message) of a failed operation. The URL comes from the custom resource's status, so it is
    followed only to the client's own ARM host: the bearer token must never go anywhere else."""
    base = str(getattr(getattr(cdn, "_config", None), "base_url", "") or "")
    if not url or not base or urlsplit(url).netloc.lower() != urlsplit(base).netloc.lower():
        return None
    with azure_errors():
        response = cdn.send_request(HttpRequest("GET", url))
    try:
        error = response.json().get("error") if response.status_code == 200 else None
    except ValueError:
        return None
    if isinstance(error, dict) and error.get("code"):
        return str(error["code"]), str(error.get("message") or "")
    return None


def apply_front_door(
    cdn: Any,
    desired: FrontDoorDesired,
    applied: Mapping[str, str],
    operations: Mapping[str, OperationRecord],
) -> FrontDoorObserved:
    """One pass towards `desired`; never waits for Azure. Raises RetryableError or FatalError."""
    found = fd.problems(desired)
    if found:
        raise FatalError(f"Front Door: {'; '.join(found)}", Reason.INVALID_SPEC)
    run = _Pass(cdn, desired, dict(applied), Ledger(operations))
    settled = _apply(run)
    return run.observed(settled, f"Front Door in place at {run.url}")


def _apply(run: _Pass) -> bool:
    cdn, d, scope = run.cdn, run.desired, run.scope
    profile = get_or_none(cdn.profiles.get, *scope)
    begin_profile = lambda m: cdn.profiles.begin_create(*scope, m, polling=Begun())  # noqa: E731
    if not run.ensure(fd.PROFILE_KEY, f"profile {d.profile}", profile, fd.profile_model(d), begin_profile):
        return False
    endpoint = get_or_none(cdn.afd_endpoints.get, *scope, d.endpoint)
    if endpoint is not None and endpoint.host_name:
        run.url = f"https://{endpoint.host_name}"
    begin_endpoint = lambda m: cdn.afd_endpoints.begin_create(*scope, d.endpoint, m, polling=Begun())  # noqa: E731
    endpoint_ready = run.ensure(
        fd.ENDPOINT_KEY, f"endpoint {d.endpoint}", endpoint, fd.endpoint_model(d), begin_endpoint
    )
    group = get_or_none(cdn.afd_origin_groups.get, *scope, d.origin_group)
    begin_group = lambda m: cdn.afd_origin_groups.begin_create(*scope, d.origin_group, m, polling=Begun())  # noqa: E731
    label = f"origin group {d.origin_group}"
    if not run.ensure(fd.ORIGIN_GROUP_KEY, label, group, fd.origin_group_model(d), begin_group):
        return False
    if not (_apply_origins(run) and endpoint_ready):
        return False
    route = get_or_none(cdn.routes.get, *scope, d.endpoint, d.route)
    begin_route = lambda m: cdn.routes.begin_create(*scope, d.endpoint, d.route, m, polling=Begun())  # noqa: E731
    return run.ensure(fd.ROUTE_KEY, f"route {d.route}", route, fd.route_model(d, str(group.id)), begin_route)


def _live_origins(run: _Pass) -> dict[str, Any]:
    scope, group = run.scope, run.desired.origin_group
    listed = get_or_none(lambda: list(run.cdn.afd_origins.list_by_origin_group(*scope, group)))
    return {str(o.name).lower(): o for o in listed or []}


def _apply_origins(run: _Pass) -> bool:
    """Every desired origin in place and Succeeded, every other origin of the group gone."""
    live = _live_origins(run)
    ready = True
    for origin in run.desired.origins:
        current = live.pop(origin.name.lower(), None)
        if current is not None:
            run.origins[origin.name] = _origin_state(current)
        start = _begin_origin(run, origin.name)
        ready &= run.ensure(origin_key(origin.name), f"origin {origin.name}", current, fd.origin_model(origin), start)
    for name, extra in live.items():
        ready = False
        run.remove(origin_key(name), f"origin {name}", extra, _delete_origin(run, str(extra.name)))
    _forget_gone_origins(run, {origin_key(o.name) for o in run.desired.origins} | {origin_key(n) for n in live})
    return ready


def _origin_state(origin: Any) -> str:
    enabled = state_name(origin.enabled_state) or "Enabled"
    state = state_name(origin.provisioning_state) or "Succeeded"
    return enabled if state == "Succeeded" else f"{enabled} ({state})"


def _begin_origin(run: _Pass, name: str) -> Callable[[Any], Any]:
    group = run.desired.origin_group
    return lambda m: run.cdn.afd_origins.begin_create(*run.scope, group, name, m, polling=Begun())


def _delete_origin(run: _Pass, name: str) -> Callable[[], Any]:
    group = run.desired.origin_group
    return lambda: run.cdn.afd_origins.begin_delete(*run.scope, group, name, polling=Begun())


def _forget_gone_origins(run: _Pass, keep: set[str]) -> None:
    """Drop the records of origins whose keys are not in `keep` (neither desired nor still in Azure)."""
    for key in [k for k in run.applied if k.startswith(fd.ORIGIN_PREFIX) and k not in keep]:
        run.applied.pop(key)
    for key in [k for k in run.ledger.records() if k.startswith(fd.ORIGIN_PREFIX) and k not in keep]:
        run.ledger.finish(key)


def delete_front_door(
    cdn: Any, desired: FrontDoorDesired, operations: Mapping[str, OperationRecord]
) -> FrontDoorObserved:
    """One pass of deletion, in reverse order; `settled` once everything is gone. Never waits for Azure."""
    run = _Pass(cdn, desired, {}, Ledger(operations))
    gone = _delete(run)
    kept = f"; profile {desired.profile} kept: it holds other endpoints or origin groups" if run.profile_kept else ""
    return run.observed(gone, "Front Door removed" + kept)


def _delete(run: _Pass) -> bool:
    cdn, d, scope = run.cdn, run.desired, run.scope
    route = get_or_none(cdn.routes.get, *scope, d.endpoint, d.route)
    start_route = lambda: cdn.routes.begin_delete(*scope, d.endpoint, d.route, polling=Begun())  # noqa: E731
    route_gone = run.remove(fd.ROUTE_KEY, f"route {d.route}", route, start_route)
    origins = _live_origins(run)
    _forget_gone_origins(run, {origin_key(name) for name in origins})
    origins_gone = [
        run.remove(origin_key(name), f"origin {name}", o, _delete_origin(run, str(o.name)))
        for name, o in origins.items()
    ]
    if not (route_gone and all(origins_gone)):
        return False
    group = get_or_none(cdn.afd_origin_groups.get, *scope, d.origin_group)
    start_group = lambda: cdn.afd_origin_groups.begin_delete(*scope, d.origin_group, polling=Begun())  # noqa: E731
    group_gone = run.remove(fd.ORIGIN_GROUP_KEY, f"origin group {d.origin_group}", group, start_group)
    endpoint = get_or_none(cdn.afd_endpoints.get, *scope, d.endpoint)
    start_endpoint = lambda: cdn.afd_endpoints.begin_delete(*scope, d.endpoint, polling=Begun())  # noqa: E731
    endpoint_gone = run.remove(fd.ENDPOINT_KEY, f"endpoint {d.endpoint}", endpoint, start_endpoint)
    return group_gone and endpoint_gone and _delete_profile(run)


def _delete_profile(run: _Pass) -> bool:
    """The profile goes last, and only when nothing but ours was in it: it may be shared."""
    cdn, scope = run.cdn, run.scope
    profile = get_or_none(cdn.profiles.get, *scope)
    if profile is not None and state_of(profile.provisioning_state) != "in-progress" and _holds_others(run):
        run.ledger.finish(fd.PROFILE_KEY)
        run.profile_kept = True
        return True
    start = lambda: cdn.profiles.begin_delete(*scope, polling=Begun())  # noqa: E731
    return run.remove(fd.PROFILE_KEY, f"profile {run.desired.profile}", profile, start)


def _holds_others(run: _Pass) -> bool:
    """Whether the profile still has AFD endpoints or origin groups (ours are gone when this is asked)."""
    with azure_errors():
        other = next(iter(run.cdn.afd_endpoints.list_by_profile(*run.scope)), None)
        other = other or next(iter(run.cdn.afd_origin_groups.list_by_profile(*run.scope)), None)
    return other is not None
