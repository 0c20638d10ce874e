"""Azure ML CLI v2 endpoint and deployment YAML convert field by field into valid ModelDeployments."""

from __future__ import annotations

import yaml

from mlops_operator.api.problems import parse_resource
from mlops_operator.importers.azureml_yaml import convert, parse_asset_ref

ENDPOINT = yaml.safe_load("""
$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineEndpoint.schema.json
name: my-endpoint
compute: azureml:aks-compute
auth_mode: aml_token
traffic: {blue: 90, green: 10}
mirror_traffic: {}
""")

KUBERNETES_DEPLOYMENT = yaml.safe_load("""
$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json
name: blue
type: kubernetes
endpoint_name: my-endpoint
app_insights_enabled: true
model: azureml:sklearn-model:1
code_configuration: {code: ./onlinescoring/, scoring_script: score.py}
environment:
  conda_file: ./environment/conda.yml
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
request_settings: {request_timeout_ms: 3000, max_concurrent_requests_per_instance: 2, max_queue_wait_ms: 3000}
liveness_probe: {initial_delay: 30, period: 10, timeout: 2, success_threshold: 1, failure_threshold: 3}
readiness_probe: {initial_delay: 10, period: 10, timeout: 10, success_threshold: 1, failure_threshold: 30}
resources:
  requests: {cpu: "0.1", memory: "0.1Gi"}
  limits: {cpu: "0.2", memory: "200Mi"}
tags: {team: fraud}
instance_type: small-cpu-model
instance_count: 2
scale_settings: {type: default}
environment_variables: {WORKERS: 2, DEBUG: false}
""")

MANAGED_DEPLOYMENT = yaml.safe_load("""
$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: Green_V2
endpoint_name: my-endpoint
model:
  name: sklearn-model
  version: 2
  path: https://storage.example/models/model.tar.gz
code_configuration: {code: azureml:score-code:3, scoring_script: onlinescoring/score.py}
environment: azureml:sklearn-env@latest
instance_type: Standard_DS3_v2
instance_count: 1
scale_settings: {type: target_utilization, min_instances: 1, max_instances: 5,
                 target_utilization_percentage: 60, polling_interval: 10}
data_collector: {collections: {model_inputs: {enabled: "true"}}}
""")


def _spec(conversion, name):
    return next(d for d in conversion.documents if d["metadata"]["name"] == name)["spec"]


def test_a_kubernetes_deployment_converts_field_by_field():
    conversion = convert([ENDPOINT, KUBERNETES_DEPLOYMENT], "local", "models")
    document = conversion.documents[0]
    parse_resource(document)
    spec = document["spec"]
    assert document["metadata"] == {
        "name": "blue",
        "namespace": "models",
        "annotations": {"mlops.dev/tag.team": "fraud"},
    }
    assert spec["endpoint"] == {"name": "my-endpoint", "authMode": "aml_token"}
    assert spec["model"] == {"name": "sklearn-model", "version": "1"}
    assert spec["code"] == {"scoringScript": "score.py", "configMap": {"name": "blue-code"}}
    assert spec["requestSettings"] == {
        "requestTimeoutMs": 3000,
        "maxConcurrentRequestsPerInstance": 2,
        "maxQueueWaitMs": 3000,
    }
    assert spec["livenessProbe"]["initialDelay"] == 30
    assert spec["readinessProbe"]["failureThreshold"] == 30
    assert spec["traffic"] == 90
    assert spec["instanceType"] == "small-cpu-model"
    assert spec["environmentVariables"] == {"WORKERS": "2", "DEBUG": "False"}
    assert any("app_insights_enabled" in note for note in conversion.notes)
    assert any("conda_file" in note for note in conversion.notes)


def test_a_managed_deployment_converts_with_notes_for_what_differs():
    conversion = convert([ENDPOINT, MANAGED_DEPLOYMENT], "local", None)
    document = conversion.documents[0]
    parse_resource(document)
    spec = document["spec"]
    assert document["metadata"]["name"] == "green-v2"
    assert spec["model"] == {
        "name": "sklearn-model",
        "version": "2",
        "uri": "https://storage.example/models/model.tar.gz",
    }
    assert spec["environment"] == {"name": "sklearn-env", "version": "latest"}
    assert spec["scaleSettings"] == {
        "type": "targetUtilization",
        "minInstances": 1,
        "maxInstances": 5,
        "targetUtilizationPercentage": 60,
        "pollingInterval": 10,
    }
    assert spec["instanceType"] == "standard-ds3-v2"
    notes = "\n".join(conversion.notes)
    assert "managed-endpoint VM size" in notes
    assert "became 'green-v2'" in notes
    assert "data_collector: left out" in notes
    assert "registered asset" in notes


def test_a_deployment_without_its_endpoint_gets_no_traffic_and_a_note():
    conversion = convert([KUBERNETES_DEPLOYMENT], "local", None)
    assert "traffic" not in conversion.documents[0]["spec"]
    assert any("no endpoint YAML" in note for note in conversion.notes)


def test_asset_references_split_into_name_and_version():
    assert parse_asset_ref("azureml:sklearn-model:3") == ("sklearn-model", "3")
    assert parse_asset_ref("azureml:env@latest") == ("env", "latest")
    assert parse_asset_ref("azureml:env") == ("env", "latest")
    assert parse_asset_ref("sklearn-model:3") is None


GPU_ONLY_IN_REQUESTS = yaml.safe_load("""
name: gpu
endpoint_name: my-endpoint
model: azureml:sklearn-model:1
instance_type: gpu-model
resources:
  requests: {cpu: "1", memory: 4Gi, nvidia.com/gpu: 1}
  limits: {cpu: "2", memory: 8Gi}
""")


def test_a_gpu_count_only_under_requests_becomes_the_limit_as_azure_ml_does_with_a_note():
    conversion = convert([ENDPOINT, GPU_ONLY_IN_REQUESTS], "local", "models")
    spec = _spec(conversion, "gpu")
    assert spec["resources"] == {
        "requests": {"cpu": "1", "memory": "4Gi"},
        "limits": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": 1},
    }
    assert (
        "resources: nvidia.com/gpu 1 given under requests only; Azure ML runs it as the limit, so it moved to limits"
        in conversion.notes
    )
    parse_resource(next(d for d in conversion.documents if d["metadata"]["name"] == "gpu"))


def test_a_gpu_count_in_both_requests_and_limits_keeps_the_limit():
    document = {
        **GPU_ONLY_IN_REQUESTS,
        "resources": {"requests": {"nvidia.com/gpu": 2}, "limits": {"nvidia.com/gpu": 1}},
    }
    conversion = convert([document], "local", None)
    assert _spec(conversion, "gpu")["resources"] == {"limits": {"nvidia.com/gpu": 1}}
    assert any("differ; Kubernetes needs them equal, kept the limit 1" in note for note in conversion.notes)
    parse_resource(conversion.documents[0])


def test_variables_the_operator_sets_from_fields_are_dropped_or_moved_with_notes():
    document = dict(KUBERNETES_DEPLOYMENT, code_configuration={"code": "./onlinescoring/"})
    document["environment_variables"] = {
        "AZUREML_ENTRY_SCRIPT": "src/main.py",
        "AZUREML_MODEL_DIR": "/var/models",
        "WORKER_COUNT": 4,
    }
    conversion = convert([ENDPOINT, document], "local", None)
    parse_resource(conversion.documents[0])
    spec = conversion.documents[0]["spec"]
    assert spec["code"]["scoringScript"] == "src/main.py"
    assert spec["environmentVariables"] == {"WORKER_COUNT": "4"}  # Azure ML's tunable stays the user's
    notes = "\n".join(conversion.notes)
    assert "AZUREML_ENTRY_SCRIPT 'src/main.py' became code.scoringScript" in notes
    assert "AZUREML_MODEL_DIR dropped: the operator sets it from spec.model" in notes


def test_an_entry_script_variable_loses_to_the_code_configuration():
    document = dict(KUBERNETES_DEPLOYMENT, environment_variables={"AZUREML_ENTRY_SCRIPT": "other.py"})
    conversion = convert([ENDPOINT, document], "local", None)
    assert conversion.documents[0]["spec"]["code"]["scoringScript"] == "score.py"
    assert "environmentVariables" not in conversion.documents[0]["spec"]
    assert any("code_configuration.scoring_script wins" in note for note in conversion.notes)
