"""Seed helpers: put the world a test starts from (resource group, workspace, AKS, compute...) in place.

Seeding goes through the same handlers as HTTP requests (so seeded resources look exactly like created
ones) but is not logged or counted, and every operation it starts is finished at once.
"""

from __future__ import annotations

from typing import Any

from .routing import Request

ML = "providers/Microsoft.MachineLearningServices/workspaces"
AKS = "providers/Microsoft.ContainerService/managedClusters"
_SEED_API_VERSION = "2024-01-01"


class SeedMixin:
    """Methods mixed into :class:`~tests.fake_arm.server.FakeArm`."""

    app: Any
    base_url: str
    subscription_id: str
    location: str

    def _put(self, path: str, body: dict[str, Any], query: dict[str, str] | None = None) -> str:
        request = Request("PUT", path, {"api-version": _SEED_API_VERSION, **(query or {})}, body, self.base_url)
        response = self.app.handle(request, record=False)
        if response.status >= 400:
            raise RuntimeError(f"seeding {path} failed: {response.status} {response.body}")
        self.app.complete_all()
        return path

    def rg_id(self, resource_group: str) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{resource_group}"

    def workspace_id(self, resource_group: str, workspace: str) -> str:
        return f"{self.rg_id(resource_group)}/{ML}/{workspace}"

    def cluster_id(self, resource_group: str, cluster: str) -> str:
        return f"{self.rg_id(resource_group)}/{AKS}/{cluster}"

    def seed_resource_group(self, resource_group: str) -> str:
        return self._put(self.rg_id(resource_group), {"location": self.location})

    def seed_workspace(self, resource_group: str, workspace: str) -> str:
        """Resource group (if needed) plus a workspace with its default blob datastore."""
        if self.app.store.get(self.rg_id(resource_group)) is None:
            self.seed_resource_group(resource_group)
        return self._put(
            self.workspace_id(resource_group, workspace),
            {
                "location": self.location,
                "identity": {"type": "SystemAssigned"},
                "properties": {"friendlyName": workspace},
            },
        )

    def seed_aks_cluster(
        self, resource_group: str, cluster: str, *, node_count: int = 3, kubernetes_version: str = "1.29.4"
    ) -> str:
        """Resource group (if needed) plus a running AKS cluster with one System pool called ``system``."""
        if self.app.store.get(self.rg_id(resource_group)) is None:
            self.seed_resource_group(resource_group)
        return self._put(
            self.cluster_id(resource_group, cluster),
            {
                "location": self.location,
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "kubernetesVersion": kubernetes_version,
                    "dnsPrefix": f"{cluster}-dns",
                    "agentPoolProfiles": [
                        {
                            "name": "system",
                            "count": node_count,
                            "vmSize": "Standard_D4s_v5",
                            "mode": "System",
                            "osType": "Linux",
                        }
                    ],
                },
            },
        )

    def seed_azureml_extension(
        self, resource_group: str, cluster: str, name: str = "azureml", settings: dict[str, str] | None = None
    ) -> str:
        config = settings or {
            "enableInference": "True",
            "inferenceRouterServiceType": "LoadBalancer",
            "allowInsecureConnections": "True",
            "inferenceRouterHA": "False",
        }
        cluster_id = self.cluster_id(resource_group, cluster)
        path = f"{cluster_id}/providers/Microsoft.KubernetesConfiguration/extensions/{name}"
        return self._put(
            path,
            {
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "extensionType": "Microsoft.AzureML.Kubernetes",
                    "autoUpgradeMinorVersion": True,
                    "releaseTrain": "stable",
                    "configurationSettings": config,
                },
            },
        )

    def seed_kubernetes_compute(
        self,
        resource_group: str,
        workspace: str,
        compute: str,
        *,
        cluster_resource_group: str,
        cluster: str,
        namespace: str = "azureml",
    ) -> str:
        path = f"{self.workspace_id(resource_group, workspace)}/computes/{compute}"
        return self._put(
            path,
            {
                "location": self.location,
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "computeType": "Kubernetes",
                    "resourceId": self.cluster_id(cluster_resource_group, cluster),
                    "properties": {"namespace": namespace},
                },
            },
        )

    def seed_aml_compute(self, resource_group: str, workspace: str, compute: str, *, max_nodes: int = 2) -> str:
        """A training cluster (AmlCompute) that jobs can name in ``computeId``."""
        path = f"{self.workspace_id(resource_group, workspace)}/computes/{compute}"
        return self._put(
            path,
            {
                "location": self.location,
                "properties": {
                    "computeType": "AmlCompute",
                    "properties": {
                        "vmSize": "STANDARD_DS3_V2",
                        "scaleSettings": {"maxNodeCount": max_nodes, "minNodeCount": 0},
                    },
                },
            },
        )

    def seed_component(
        self,
        resource_group: str,
        workspace: str,
        name: str,
        version: str = "1",
        *,
        command: str = "python -m train",
        environment: str = "train-env:1",
        inputs: dict[str, dict[str, Any]] | None = None,
    ) -> str:
        """A registered command component, in the shape ``ml.components.create_or_update`` PUTs it; the
        environment (``name:version``) must have been seeded."""
        ws_id = self.workspace_id(resource_group, workspace)
        env_name, env_version = environment.split(":", 1)
        spec = {
            "name": name,
            "version": version,
            "type": "command",
            "command": command,
            "environment": f"azureml:{ws_id}/environments/{env_name}/versions/{env_version}",
            "inputs": inputs or {},
            "is_deterministic": True,
        }
        path = f"{ws_id}/components/{name}/versions/{version}"
        return self._put(path, {"properties": {"componentSpec": spec, "isAnonymous": False, "isArchived": False}})

    def seed_model(
        self,
        resource_group: str,
        workspace: str,
        name: str,
        version: str = "1",
        uri: str = "azureml://datastores/workspaceblobstore/paths/models/m/",
    ) -> str:
        path = f"{self.workspace_id(resource_group, workspace)}/models/{name}/versions/{version}"
        return self._put(path, {"properties": {"modelType": "custom_model", "modelUri": uri}})

    def seed_environment(
        self,
        resource_group: str,
        workspace: str,
        name: str,
        version: str = "1",
        image: str = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest",
    ) -> str:
        path = f"{self.workspace_id(resource_group, workspace)}/environments/{name}/versions/{version}"
        return self._put(path, {"properties": {"image": image}})

    def seed_front_door_profile(self, resource_group: str, profile: str, sku: str = "Standard_AzureFrontDoor") -> str:
        """Resource group (if needed) plus an empty Azure Front Door profile."""
        if self.app.store.get(self.rg_id(resource_group)) is None:
            self.seed_resource_group(resource_group)
        path = f"{self.rg_id(resource_group)}/providers/Microsoft.Cdn/profiles/{profile}"
        return self._put(path, {"location": "Global", "sku": {"name": sku}})

    def set_deployment_logs(
        self, resource_group: str, workspace: str, endpoint: str, deployment: str, text: str
    ) -> None:
        """What ``getLogs`` returns for one deployment (it must exist)."""
        endpoint_id = f"{self.workspace_id(resource_group, workspace)}/onlineEndpoints/{endpoint}"
        path = f"{endpoint_id}/deployments/{deployment}"
        stored = self.app.store.get(path)
        if stored is None:
            raise KeyError(path)
        stored.extras["logs"] = text
