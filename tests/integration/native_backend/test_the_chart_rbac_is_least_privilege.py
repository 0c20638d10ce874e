"""The chart's RBAC, installed as deploy/ installs it, asked with SubjectAccessReviews: the operator's
ServiceAccount may do each thing the code does (the kinds it applies, patches, deletes, watches) and is denied
what an operator of ModelDeployments never needs (exec, escalation, impersonation, nodes, deleting namespaces...).

Known and kept: reading Secrets is cluster-wide (kube-system included), because the operator watches the Secrets
ModelDeployments reference in every namespace; docs/reliability.md ("Security") says how to narrow it."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from kubernetes import client

from mlops_operator.devcluster import LocalCluster

REPO = Path(__file__).resolve().parents[3]
SERVICE_ACCOUNT = "system:serviceaccount:mlops-system:mlops-operator"
GROUPS = ["system:serviceaccounts", "system:serviceaccounts:mlops-system", "system:authenticated"]
USER_NAMESPACE = "team-a"


class Ask(NamedTuple):
    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = USER_NAMESPACE


def _rw(group: str, resource: str) -> list[Ask]:
    """A child the operator server-side applies, watches and deletes."""
    return [Ask(verb, group, resource) for verb in ("get", "list", "watch", "create", "patch", "delete")]


NEEDED = [
    # Its own resources: watched and patched (finalizers, annotations), status written.
    *[
        Ask(v, "mlops.dev", r)
        for r in ("modeldeployments", "mlopsplatforms")
        for v in ("get", "list", "watch", "patch")
    ],
    *[Ask("patch", "mlops.dev", r, "status") for r in ("modeldeployments", "mlopsplatforms")],
    # The serving workload of the native backend (render/), applied and garbage-collected.
    *_rw("apps", "deployments"),
    *_rw("", "services"),
    *_rw("", "secrets"),  # the endpoint keys Secret, and watched Secrets that CRs reference
    *_rw("policy", "poddisruptionbudgets"),
    *_rw("autoscaling", "horizontalpodautoscalers"),
    *_rw("keda.sh", "scaledobjects"),
    *_rw("gateway.networking.k8s.io", "httproutes"),
    *[Ask(v, "traefik.io", "middlewares") for v in ("get", "create", "patch")],  # spec.native.gateway.retry
    *_rw("amlarc.azureml.com", "instancetypes"),
    # Read and watched: what CRs reference, and the children's state.
    *[Ask(v, "", r) for r in ("pods", "configmaps", "persistentvolumeclaims") for v in ("get", "list", "watch")],
    *[Ask(v, "apps", "replicasets") for v in ("get", "list", "watch")],
    *[Ask(v, "gateway.networking.k8s.io", "gateways") for v in ("get", "list", "watch")],
    Ask("get", "gateway.networking.k8s.io", "gatewayclasses", namespace=""),
    *[Ask(v, "apiextensions.k8s.io", "customresourcedefinitions", namespace="") for v in ("get", "list", "watch")],
    # Retraining Jobs (created once), Events for users, the namespace of a TLS copy.
    Ask("create", "batch", "jobs"),
    Ask("get", "batch", "jobs"),
    Ask("create", "", "events"),
    Ask("create", "events.k8s.io", "events"),
    Ask("create", "", "namespaces", namespace=""),
]

FORBIDDEN = [
    Ask("create", "", "pods", "exec"),
    Ask("create", "", "pods", "attach"),
    Ask("create", "", "pods", "portforward"),
    Ask("create", "", "pods"),  # pods come from its Deployments, never directly
    Ask("delete", "", "pods"),
    Ask("delete", "", "nodes", namespace=""),
    Ask("patch", "", "nodes", namespace=""),
    Ask("get", "", "nodes", "proxy", namespace=""),
    Ask("delete", "", "namespaces", namespace=""),
    Ask("create", "", "serviceaccounts"),
    Ask("create", "", "serviceaccounts", "token"),
    Ask("create", "", "persistentvolumes", namespace=""),
    Ask("create", "", "configmaps"),  # configmaps are read, never written
    Ask("delete", "mlops.dev", "modeldeployments"),  # users delete CRs; the operator removes its finalizer
    Ask("delete", "batch", "jobs"),
    Ask("escalate", "rbac.authorization.k8s.io", "clusterroles", namespace=""),
    Ask("bind", "rbac.authorization.k8s.io", "clusterroles", namespace=""),
    Ask("create", "rbac.authorization.k8s.io", "clusterrolebindings", namespace=""),
    Ask("create", "rbac.authorization.k8s.io", "rolebindings"),
    Ask("impersonate", "", "users", namespace=""),
    Ask("impersonate", "", "serviceaccounts"),
    Ask("impersonate", "", "groups", namespace=""),
    Ask("create", "apiextensions.k8s.io", "customresourcedefinitions", namespace=""),
    Ask("patch", "apiextensions.k8s.io", "customresourcedefinitions", namespace=""),
    Ask("create", "admissionregistration.k8s.io", "validatingwebhookconfigurations", namespace=""),
    Ask("create", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", namespace=""),
    Ask("create", "certificates.k8s.io", "certificatesigningrequests", namespace=""),
    Ask("create", "networking.k8s.io", "networkpolicies"),
    Ask("create", "gateway.networking.k8s.io", "gateways"),
    Ask("patch", "flowcontrol.apiserver.k8s.io", "flowschemas", namespace=""),
    Ask("create", "kopf.dev", "clusterkopfpeerings", namespace=""),  # peering is off by default
]


@pytest.fixture(scope="module")
def authorization(crds: LocalCluster, kube_api: client.ApiClient) -> client.AuthorizationV1Api:
    crds.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(REPO / "deploy"))
    return client.AuthorizationV1Api(kube_api)


def allowed(api: client.AuthorizationV1Api, ask: Ask) -> bool:
    attributes = {"verb": ask.verb, "group": ask.group, "resource": ask.resource}
    if ask.subresource:
        attributes["subresource"] = ask.subresource
    if ask.namespace:
        attributes["namespace"] = ask.namespace
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": SERVICE_ACCOUNT, "groups": GROUPS, "resourceAttributes": attributes},
    }
    answer = api.create_subject_access_review(review)
    return bool(answer.status.allowed)


def test_the_operators_service_account_may_do_everything_the_operator_does(
    authorization: client.AuthorizationV1Api,
) -> None:
    refused = [ask for ask in NEEDED if not allowed(authorization, ask)]
    assert refused == []


def test_the_operators_service_account_may_not_exec_escalate_impersonate_or_touch_nodes(
    authorization: client.AuthorizationV1Api,
) -> None:
    granted = [ask for ask in FORBIDDEN if allowed(authorization, ask)]
    assert granted == []


def test_secrets_are_readable_cluster_wide_as_documented(authorization: client.AuthorizationV1Api) -> None:
    """Pinned so that narrowing it (per-namespace RoleBindings) is a deliberate, visible change."""
    assert allowed(authorization, Ask("list", "", "secrets", namespace="kube-system"))
    assert allowed(authorization, Ask("watch", "", "secrets", namespace=""))
