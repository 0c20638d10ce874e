"""The API models accept the examples, round-trip camelCase and carry a description on every field."""

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from mlops_operator.api.problems import parse_resource
from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment

EXAMPLES = Path(__file__).parents[3] / "examples"


def _our_documents() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text()), start=1):
            if isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith("mlops.dev/"):
                found.append((f"{path.relative_to(EXAMPLES)}:{index}", doc))
    return found


def test_there_are_examples_of_every_kind():
    kinds = {doc["kind"] for _, doc in _our_documents()}
    assert kinds == {"MLOpsPlatform", "ModelDeployment", "GlobalEndpoint"}


@pytest.mark.parametrize(("where", "document"), _our_documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_example_validates(where, document):
    parse_resource(document)


@pytest.mark.parametrize(("where", "document"), _our_documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_examples_round_trip_camel_case_on_the_wire(where, document):
    model = parse_resource(document)
    wire = model.to_wire()
    assert type(model).model_validate(wire) == model
    assert_only_camel_case_keys(wire["spec"])


def assert_only_camel_case_keys(node, path="spec"):
    if isinstance(node, dict):
        for key, value in node.items():
            keyed = path + "." + key
            if path.endswith(("nodeSelector", "environmentVariables", "labels")):
                continue
            assert "_" not in key, f"{keyed} is not camelCase"
            assert_only_camel_case_keys(value, keyed)
    elif isinstance(node, list):
        for item in node:
            assert_only_camel_case_keys(item, path)


def test_snake_case_names_are_accepted_in_python_and_serialised_as_camel_case():
    md = ModelDeployment.model_validate(
        {
            "metadata": {"name": "blue"},
            "spec": {
                "platformRef": {"name": "local"},
                "endpoint": {"name": "ep1"},
                "model": {"name": "m", "version": "1"},
                "request_settings": {"request_timeout_ms": 3000},
            },
        }
    )
    assert md.spec.request_settings.request_timeout_ms == 3000
    assert md.to_wire()["spec"]["requestSettings"]["requestTimeoutMs"] == 3000


def _all_models(root: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if root in seen:
        return seen
    seen.add(root)
    for field in root.model_fields.values():
        for arg in _flatten(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                _all_models(arg, seen)
    return seen


def _flatten(annotation):
    yield annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        yield from _flatten(arg)


@pytest.mark.parametrize("kind", [MLOpsPlatform, ModelDeployment])
def test_every_field_has_a_description(kind):
    missing = [
        f"{model.__name__}.{name}"
        for model in _all_models(kind, set())
        for name, field in model.model_fields.items()
        if not field.description
    ]
    assert missing == []
