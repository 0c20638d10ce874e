"""Microsoft.KubernetesConfiguration extensions on AKS clusters (api 2023-05-01, msrest models).

Operation status documents live under the extension (``…/extensions/{name}/operations/{id}``), as on
the real service. Settings that the AzureML extension itself rejects at install time make the
operation end Failed (code ``ExtensionOperationFailed``) rather than failing the PUT.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from azure.mgmt.kubernetesconfiguration.v2023_05_01 import models as k8s_models

from .errors import ArmError
from .faults import OperationFailure, compile_path
from .lro import Operation
from .resources import Kind, add_identity_ids, resource_routes
from .routes_core import operation_result, operation_status
from .routing import Request, Router
from .state import StoredResource
from .validation import validate_msrest

if TYPE_CHECKING:
    from .app import FakeArmApp, Settings

NS = "Microsoft.KubernetesConfiguration"
EXT = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{cluster}"
    "/providers/Microsoft.KubernetesConfiguration/extensions/{name}"
)
AZUREML = "microsoft.azureml.kubernetes"
ROUTER_TYPES = {"loadbalancer", "nodeport", "clusterip"}
EXTENSION_VERSION = "1.1.60"


def azureml_settings_problem(settings: dict[str, str], protected: dict[str, str]) -> str | None:
    """What the AzureML extension would refuse at install time, or None."""
    if str(settings.get("enableInference", "False")).lower() == "true":
        router = str(settings.get("inferenceRouterServiceType", "")).lower()
        if router not in ROUTER_TYPES:
            return "inferenceRouterServiceType must be loadBalancer, nodePort or clusterIP."
        insecure = str(settings.get("allowInsecureConnections", "False")).lower() == "true"
        has_tls = "sslSecret" in settings or {"sslCertPemFile", "sslKeyPemFile"} <= set(protected)
        if not insecure and not (has_tls and settings.get("sslCname")):
            return (
                "HTTPS scoring needs sslSecret or sslCertPemFile+sslKeyPemFile, and sslCname; or set "
                "allowInsecureConnections=True."
            )
    if (
        str(settings.get("enableTraining", "False")).lower() != "true"
        and str(settings.get("enableInference", "False")).lower() != "true"
    ):
        return "At least one of enableTraining or enableInference must be True."
    return None


def _check(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    props = body.get("properties") or {}
    ext_type = props.get("extensionType")
    if not ext_type:
        raise ArmError(
            400,
            "InvalidParameter",
            "properties.extensionType is required.",
            target="properties.extensionType",
        )
    if existing is not None:
        before = existing.body["properties"].get("extensionType", "")
        if before.lower() != ext_type.lower():
            raise ArmError(
                400, "InvalidParameter", "extensionType cannot be changed.", target="properties.extensionType"
            )


def _shape(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    body = stored.body
    props = body["properties"]
    is_azureml = props["extensionType"].lower() == AZUREML
    protected = props.pop("configurationProtectedSettings", None)
    if protected is not None:
        stored.extras["protected"] = protected
    props["configurationProtectedSettings"] = {}
    props.setdefault("configurationSettings", {})
    props.setdefault("autoUpgradeMinorVersion", True)
    props.setdefault("releaseTrain", "Stable")
    props.setdefault("scope", {"cluster": {"releaseNamespace": "azureml" if is_azureml else "default"}})
    props.setdefault("version", None)
    props.setdefault("currentVersion", None)
    props["statuses"] = []
    props["isSystemExtension"] = False
    add_identity_ids(body)
    if is_azureml:
        problem = azureml_settings_problem(props["configurationSettings"], stored.extras.get("protected", {}))
        if problem:
            stored.extras["deferred_failure"] = OperationFailure(
                None, compile_path(".*"), "ExtensionOperationFailed", f"AzureML extension: {problem}"
            )


def _settled(app: FakeArmApp, stored: StoredResource, op: Operation) -> None:
    if op.status == "Succeeded":
        stored.body["properties"]["currentVersion"] = stored.body["properties"].get("version") or EXTENSION_VERSION


def kind(settings: Settings) -> Kind:
    def v(model: type):
        return functools.partial(validate_msrest, model, reject_unknown=settings.reject_unknown_fields)

    return Kind(
        "extensions",
        f"{NS}/extensions",
        NS,
        validate=v(k8s_models.Extension),
        validate_patch=v(k8s_models.PatchExtension),
        status_segment="operations",
        result_segment="operationResults",
        ops_under_resource=True,
        check=_check,
        shape=_shape,
        on_settled=_settled,
    )


def register(router: Router, settings: Settings) -> None:
    router.add("GET", EXT + "/operations/{op}", operation_status, "operationStatus")
    router.add("GET", EXT + "/operationResults/{op}", operation_result, "operationResult")
    resource_routes(router, EXT, kind(settings), methods="GET PUT PATCH DELETE")
