"""Fake Azure Resource Manager: a TEST DOUBLE for the azureml backend. Production code never imports it.

An HTTPS server on 127.0.0.1 (free port) with a CA minted at start. It implements, in memory and
thread-safe, the ARM resources the operator touches: resource groups; Microsoft.MachineLearningServices
workspaces, computes (Kubernetes attach, compute clusters), datastores, models/environments/components/code
(+versions), jobs (command and other job types: submit, get, list), online endpoints (listKeys, regenerateKeys,
token) and deployments (getLogs); Microsoft.ContainerService managed clusters
and agent pools; Microsoft.KubernetesConfiguration extensions; Microsoft.Cdn Azure Front Door profiles,
endpoints, origin groups, origins and routes (:mod:`.routes_cdn`); Microsoft.Resources template deployments
(``workspaces.begin_create``: preflight, then the declared resources, see :mod:`.routes_deployments`).
Long-running operations use real ``Azure-AsyncOperation``/``Location`` headers with ``Retry-After: 1``
and operation-status resources.
Request bodies are validated with the SDKs' own generated models (see :mod:`.validation`).

Pointing the real clients at it (``fake`` is a started :class:`FakeArm`)::

    cred = StaticTokenCredential()
    ml = MLClient(cred, fake.subscription_id, "rg1", "ws1",
                  cloud=f"FakeARM-{port}",                   # unique per server: clouds are process-global
                  cloud_metadata=fake.cloud_metadata(),       # resource_manager = fake.base_url + "/"
                  connection_verify=fake.ca_bundle)           # trust the fake's CA
    aks = ContainerServiceClient(cred, fake.subscription_id, base_url=fake.base_url,
                                 credential_scopes=[fake.base_url + "/.default"],
                                 connection_verify=fake.ca_bundle)
    k8s = SourceControlConfigurationClient(cred, fake.subscription_id, base_url=fake.base_url,
                                           connection_verify=fake.ca_bundle)

or simply ``fake.ml_client("rg1", "ws1")``, ``fake.container_service_client()``,
``fake.kubernetes_configuration_client()``, ``fake.cdn_client()``; ``fake.ml_client_kwargs()`` /
``fake.mgmt_client_kwargs()`` give the keyword arguments alone. Instead of ``connection_verify`` you can set
the process-wide ``REQUESTS_CA_BUNDLE=fake.ca_bundle`` (``fake.client_env()``); ``SSL_CERT_FILE`` does not work
because ``requests`` ignores it.

Faults: ``fake.inject(method="PUT", path_regex="/onlineEndpoints/", status=429, retry_after=1, times=2)``,
``fake.inject(status=None, reset=True)``, ``fake.fail_operations("/deployments/blue", code="DeploymentFailed",
message="...")``, ``fake.slow_operations("/computes/", polls=5, seconds=2)``.
Observation: ``fake.calls("PUT", "onlineEndpoints")``, ``fake.requests(method, path_regex)``,
``fake.resource(id)``. Seeding: ``fake.seed_workspace("rg1", "ws1")``,
``fake.seed_aks_cluster("rg1", "aks1")``, ``fake.seed_front_door_profile("rg1", "fd1")``,
``fake.seed_kubernetes_compute(...)``, ``fake.seed_aml_compute(...)``, ``fake.seed_model(...)``,
``fake.seed_environment(...)``, ``fake.seed_component(...)``.
Blob storage: ``fake.proxy_url`` is an HTTPS ``CONNECT`` proxy on 127.0.0.1 that serves
``<account>.blob.<fake.storage_suffix>`` from memory with a certificate from the fake's CA and refuses every
other host (:mod:`.blob_proxy`, :mod:`.blob_store`); ``fake.proxy_env()`` gives ``HTTPS_PROXY``/``NO_PROXY``
for it. ``fake.blob_calls()``, ``fake.blob_uploads()``, ``fake.blob(account, container, name)`` observe it.
Pytest: ``pytest_plugins = ["fake_arm.pytest_plugin"]`` in tests/conftest.py (``tests/`` is on sys.path),
or import ``fake_arm`` and ``fake_arm_server`` from it in a conftest, gives the ``fake_arm`` fixture.
"""

from .clients import StaticTokenCredential
from .server import DEFAULT_SUBSCRIPTION, FakeArm

__all__ = ["DEFAULT_SUBSCRIPTION", "FakeArm", "StaticTokenCredential"]
