"""What a native ModelDeployment reads besides itself: model, code, image pull Secrets, content revision.

A missing reference (code or model ConfigMap, PVC, image pull Secret) stops the pass before anything is
applied, so running pods keep serving what they have while status says why new ones could not start.
The content of the referenced ConfigMaps is hashed into the pod template, so editing `score.py` or the
model rolls the Deployment like any spec change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.backends.resolve import blocked
from mlops_operator.conditions import ConditionType, Reason, Verdict
from mlops_operator.kube import Kube
from mlops_operator.render.model_source import ModelSource, parse_model_uri


@dataclass(frozen=True)
class References:
    """`ModelReady` while pods load the model, or what blocks them (an Error verdict on the condition it
    concerns); and the revision of the referenced content ('' when none)."""

    verdict: Verdict
    revision: str


def read_references(kube: Kube, md: ModelDeployment) -> References:
    namespace = str(md.metadata.namespace)
    source = parse_model_uri(md.spec.model.uri)
    problem = _source_problem(source)
    if problem is not None:
        return References(problem, "")
    contents: list[dict[str, Any]] = []
    if source.kind == "configmap":
        found = kube.get("v1", "ConfigMap", source.config_map, namespace)
        if found is None:
            return References(
                _missing(Reason.MODEL_NOT_FOUND, "ConfigMap", source.config_map, "spec.model.uri", md), ""
            )
        contents.append(found)
    if source.kind == "pvc" and kube.get("v1", "PersistentVolumeClaim", source.claim, namespace) is None:
        return References(
            _missing(Reason.MODEL_NOT_FOUND, "PersistentVolumeClaim", source.claim, "spec.model.uri", md), ""
        )
    code = md.spec.code.config_map
    if code is not None:
        found = kube.get("v1", "ConfigMap", code.name, namespace)
        if found is None:
            return References(_missing(Reason.CODE_NOT_FOUND, "ConfigMap", code.name, "spec.code.configMap", md), "")
        contents.append(found)
    drift = md.spec.monitoring.drift
    if drift is not None:
        # Optional for the pods (serving never waits on monitoring); hashed when present, so creating or
        # editing the profile restarts the pods with it. A missing one is reported on DataDrift.
        profile = kube.get("v1", "ConfigMap", drift.baseline.config_map_key_ref.name, namespace)
        contents += [profile] if profile is not None else []
    for ref in md.spec.environment.image_pull_secrets:
        if kube.get("v1", "Secret", ref.name, namespace) is None:
            field = "spec.environment.imagePullSecrets"
            missing = _missing(Reason.IMAGE_PULL_SECRET_NOT_FOUND, "Secret", ref.name, field, md)
            return References(replace(missing, type=ConditionType.DEPLOYMENT_READY), "")
    waiting = f"waiting for pods to load {source.uri}"
    model = Verdict(ConditionType.MODEL_READY, "False", Reason.MODEL_FETCHING, waiting, "Info")
    return References(model, content_revision(contents))


def content_revision(config_maps: list[dict[str, Any]]) -> str:
    """A hash of what pods mount from ConfigMaps (name and data); '' when they mount none."""
    if not config_maps:
        return ""
    parts = [
        json.dumps([cm["metadata"]["name"], cm.get("data") or {}, cm.get("binaryData") or {}], sort_keys=True)
        for cm in config_maps
    ]
    return naming.short_hash(*parts, length=12)


def _source_problem(source: ModelSource) -> Verdict | None:
    if source.kind == "missing":
        return blocked(
            Reason.MODEL_SOURCE_MISSING,
            "spec.model.uri is required by the native backend; use https://, pvc:// or configmap://",
            ConditionType.MODEL_READY,
        )
    if source.kind == "unsupported":
        return blocked(
            Reason.MODEL_SOURCE_UNSUPPORTED,
            f"spec.model.uri {source.uri!r} needs the azureml backend; "
            "the native backend reads https://, pvc:// and configmap://",
            ConditionType.MODEL_READY,
        )
    return None


def _missing(reason: str, kind: str, name: str, field: str, md: ModelDeployment) -> Verdict:
    message = f"{kind} {name} named by {field} does not exist in {md.metadata.namespace}; create it or fix {field}"
    return blocked(reason, message, ConditionType.MODEL_READY)
