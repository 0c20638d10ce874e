"""The committed CRDs are exactly what the models generate, and they are structural."""

from pathlib import Path

import pytest
import yaml

from mlops_operator.api.crd import KINDS, crd_files, render_crd
from mlops_operator.cli.main import main

CRDS = Path(__file__).parents[3] / "crds"


def test_committed_crds_match_the_models():
    for path, text in crd_files(CRDS).items():
        assert path.exists(), f"{path} missing: run `make crds`"
        assert path.read_text() == text, f"{path} is stale: run `make crds`"


def test_crds_check_fails_when_a_crd_is_stale(tmp_path, capsys):
    assert main(["crds", "--dir", str(tmp_path)]) == 0
    stale = next(tmp_path.glob("modeldeployments*.yaml"))
    stale.write_text(stale.read_text().replace("Traffic", "Trafic"))
    assert main(["crds", "--check", "--dir", str(tmp_path)]) == 1
    assert "stale" in capsys.readouterr().err


def _walk(node, path="$"):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            yield from _walk(value, f"{path}.{key}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                yield from _walk(node[key], f"{path}[{key}]")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_the_schema_is_structural_with_no_titles_refs_or_defaults_but_the_unobserved_status(kind):
    schema = render_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    text = yaml.safe_dump(schema)
    assert "$ref" not in text
    assert schema["properties"]["status"]["default"] == {"observedGeneration": 0}
    for path, node in _walk(schema):
        assert "title" not in node, path
        assert "default" not in node or path == "$.status", path
        assert node.get("additionalProperties") is not False, path
        assert "type" in node or "anyOf" in node or node.get("x-kubernetes-int-or-string"), path


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_spec_field_has_a_description(kind):
    schema = render_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    missing = [
        p for p, node in _walk(schema["properties"]["spec"], "spec") if p != "spec" and not node.get("description")
    ]
    missing = [p for p in missing if not p.endswith(("[items]", "[additionalProperties]"))]
    assert missing == []


def test_crds_have_status_subresource_short_names_category_and_columns():
    platform, deployment, global_endpoint = (render_crd(k) for k in KINDS)
    assert platform["spec"]["scope"] == "Cluster"
    assert deployment["spec"]["scope"] == "Namespaced"
    assert global_endpoint["spec"]["scope"] == "Namespaced"
    assert platform["spec"]["names"]["shortNames"] == ["mlp"]
    assert deployment["spec"]["names"]["shortNames"] == ["mdep"]
    assert global_endpoint["spec"]["names"]["shortNames"] == ["gep"]
    for crd in (platform, deployment, global_endpoint):
        version = crd["spec"]["versions"][0]
        assert version["subresources"] == {"status": {}}
        assert crd["spec"]["names"]["categories"] == ["mlops"]
        columns = [c["name"] for c in version["additionalPrinterColumns"]]
        assert {"Ready", "Reason", "Age"} <= set(columns)
    assert "Endpoint" in [c["name"] for c in deployment["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert "Backend" in [c["name"] for c in platform["spec"]["versions"][0]["additionalPrinterColumns"]]


def test_cross_field_rules_are_cel_validations():
    deployment = render_crd(KINDS[1])
    text = yaml.safe_dump(deployment)
    for words in (
        "mirrorTraffic",
        "minInstances must not exceed maxInstances",
        "GPUs go in limits only",
        "requests.cpu must not exceed limits.cpu",
        "instanceCount must be at least 1",
    ):
        assert words in text, words
