"""Where a model's files come from, and how a pod gets them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SourceKind = Literal["https", "pvc", "configmap", "unsupported", "missing"]


@dataclass(frozen=True)
class ModelSource:
    """A parsed `spec.model.uri`."""

    kind: SourceKind
    uri: str = ""
    claim: str = ""
    sub_path: str = ""
    config_map: str = ""


def parse_model_uri(uri: str | None) -> ModelSource:
    """Classify a model URI for the native backend; `unsupported` schemes need the azureml backend."""
    if not uri:
        return ModelSource("missing")
    if uri.startswith("https://"):
        return ModelSource("https", uri=uri)
    if uri.startswith("pvc://"):
        claim, _, sub_path = uri.removeprefix("pvc://").partition("/")
        return ModelSource("pvc", uri=uri, claim=claim, sub_path=sub_path.strip("/"))
    if uri.startswith("configmap://"):
        return ModelSource("configmap", uri=uri, config_map=uri.removeprefix("configmap://").strip("/"))
    return ModelSource("unsupported", uri=uri)
