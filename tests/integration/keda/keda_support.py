"""KEDA's operator and metrics adapter (hack/keda/build.sh) as local processes next to the session's
control plane, registered with its kube-apiserver as the external.metrics.k8s.io aggregated API.

How the pieces meet (docs/keda-notes.md has the why):
- Both processes use the cluster's admin kubeconfig (KUBECONFIG) and listen on free 127.0.0.1 ports only.
- The adapter asks the operator for metric values over KEDA's mTLS gRPC metrics service; both read
  `ca.crt`/`tls.crt`/`tls.key` from one directory of certificates minted here (one leaf for both ends,
  as KEDA's own cert rotation does).
- The APIService `v1beta1.external.metrics.k8s.io` points at an ExternalName Service whose externalName
  is `localhost`: the aggregator's default (ClusterIP) resolver turns an ExternalName Service into
  `https://<externalName>:<APIService port>`, so kube-apiserver dials the adapter on loopback without
  `--enable-aggregator-routing` and without an EndpointSlice (which may not hold 127.0.0.1).
- kube-apiserver proxies with its front-proxy client certificate and the caller in X-Remote-* headers. The
  adapter reads the requestheader CA from kube-system/extension-apiserver-authentication (through
  --authentication-kubeconfig), so it sees the real caller (the HPA controller's ServiceAccount, the admin)
  and asks kube-apiserver with a SubjectAccessReview whether that caller may read the metric; the
  bootstrap role `system:controller:horizontal-pod-autoscaler` allows it. No extra RBAC is created.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import os
import ssl
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from mlops_operator.devcluster import AssetsError, LocalCluster
from mlops_operator.devcluster.assets import run_build_script
from mlops_operator.devcluster.process import LOOPBACK, ManagedProcess, child_env, free_ports, probe_http

KEDA_BUILD_SCRIPT = Path("hack/keda/build.sh")
KEDA_ASSETS_ENV = "MLOPS_KEDA_ASSETS"
BINARIES = ("keda", "keda-adapter")
KEDA_NAMESPACE = "keda"
ADAPTER_SERVICE = "keda-metrics-apiserver"
EXTERNAL_METRICS_GROUP = "external.metrics.k8s.io"
APISERVICE_NAME = f"v1beta1.{EXTERNAL_METRICS_GROUP}"
IN_CLUSTER_VARS = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
CERT_VALIDITY = datetime.timedelta(days=1)


def find_keda(repo_root: Path) -> Path:
    """The build output: $MLOPS_KEDA_ASSETS, else hack/keda/build.sh (a no-op when cached)."""
    named = os.environ.get(KEDA_ASSETS_ENV)
    directory = Path(named) if named else run_build_script(repo_root, KEDA_BUILD_SCRIPT)
    missing = [name for name in BINARIES if not os.access(directory / "bin" / name, os.X_OK)]
    if missing or not (directory / "crds" / "keda.sh_scaledobjects.yaml").is_file():
        raise AssetsError(f"{directory} lacks bin/{', bin/'.join(missing) or '...'} or crds/keda.sh_scaledobjects.yaml")
    return directory


def write_keda_certs(directory: Path) -> Path:
    """A throwaway CA and one leaf (server and client auth; 127.0.0.1, localhost and KEDA's Service names)
    as ca.crt, tls.crt, tls.key: the layout KEDA's operator and adapter read from their --cert-dir."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mlops-test-keda-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [
        "localhost",
        f"keda-operator.{KEDA_NAMESPACE}.svc",
        f"keda-operator.{KEDA_NAMESPACE}.svc.cluster.local",
        f"{ADAPTER_SERVICE}.{KEDA_NAMESPACE}.svc",
    ]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keda")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), *(x509.DNSName(n) for n in names)]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.crt").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path = directory / "tls.key"
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return directory


class KedaProcesses:
    """keda (the operator: ScaledObject -> HPA, scalers, gRPC metrics service) and keda-adapter (the
    external.metrics.k8s.io API server), on free loopback ports, as the cluster admin."""

    def __init__(self, cluster: LocalCluster, assets: Path, work_dir: Path) -> None:
        certs = write_keda_certs(work_dir / "certs")
        ports = free_ports(6)
        self.operator_health, operator_metrics, self.grpc_port = ports[0], ports[1], ports[2]
        self.adapter_port, adapter_metrics = ports[3], ports[4]
        env = {key: value for key, value in child_env().items() if key not in IN_CLUSTER_VARS}
        env.update(
            {
                "KUBECONFIG": str(cluster.kubeconfig_path),
                "WATCH_NAMESPACE": "",
                "KEDA_CLUSTER_OBJECT_NAMESPACE": KEDA_NAMESPACE,
                "POD_NAMESPACE": KEDA_NAMESPACE,
            }
        )
        kubeconfig = str(cluster.kubeconfig_path)
        operator = ManagedProcess(
            "keda-operator",
            [
                str(assets / "bin" / "keda"),
                f"--metrics-bind-address={LOOPBACK}:{operator_metrics}",
                f"--health-probe-bind-address={LOOPBACK}:{self.operator_health}",
                f"--metrics-service-bind-address={LOOPBACK}:{self.grpc_port}",
                f"--cert-dir={certs}",
                f"--ca-dir={certs}",
                "--enable-cert-rotation=false",
                "--enable-webhook-patching=false",
                "--enable-apiservice-patching=false",
                "--leader-elect=false",
                "--zap-log-level=info",
                "--zap-encoder=console",
            ],
            cluster.logs_dir / "keda-operator.log",
            env=env,
        )
        adapter = ManagedProcess(
            "keda-adapter",
            [
                str(assets / "bin" / "keda-adapter"),
                f"--bind-address={LOOPBACK}",
                f"--secure-port={self.adapter_port}",
                f"--cert-dir={certs}",
                f"--tls-cert-file={certs / 'tls.crt'}",
                f"--tls-private-key-file={certs / 'tls.key'}",
                f"--lister-kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                f"--metrics-service-address={LOOPBACK}:{self.grpc_port}",
                f"--port={adapter_metrics}",
                "--zap-log-level=info",
                "--zap-encoder=console",
            ],
            cluster.logs_dir / "keda-adapter.log",
            env=env,
        )
        self.processes = [operator, adapter]
        self._die_with_parent = cluster.config.die_with_parent

    def start(self, timeout: float = 90.0) -> Self:
        """Launch both and wait for the operator's /readyz and the adapter's /readyz; on failure stop both."""
        try:
            for process in self.processes:
                process.start(die_with_parent=self._die_with_parent)
            deadline = time.monotonic() + timeout
            operator, adapter = self.processes
            operator.wait_ready(functools.partial(probe_http, self.operator_health, "/readyz"), deadline)
            adapter.wait_ready(functools.partial(_probe_https, self.adapter_port, "/readyz"), deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log_tail(40)}" for p in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _probe_https(port: int, path: str) -> bool:
    """The adapter's self-minted certificate is not checked: this only asks whether it serves yet."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return probe_http(port, path, context)


def register_external_metrics_api(api: client.ApiClient, adapter_port: int) -> None:
    """Namespace keda, the ExternalName Service to localhost, the APIService (TLS unchecked: the adapter's
    certificate is for its loopback names; the aggregator checks `<service>.<namespace>.svc`). Idempotent;
    `unregister_external_metrics_api` undoes it."""
    core = client.CoreV1Api(api)
    _create(
        lambda: core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KEDA_NAMESPACE}})
    )
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": ADAPTER_SERVICE, "namespace": KEDA_NAMESPACE},
        "spec": {"type": "ExternalName", "externalName": "localhost"},
    }
    _create(lambda: core.create_namespaced_service(KEDA_NAMESPACE, service))
    apiservice: dict[str, Any] = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": APISERVICE_NAME},
        "spec": {
            "group": EXTERNAL_METRICS_GROUP,
            "version": "v1beta1",
            "service": {"name": ADAPTER_SERVICE, "namespace": KEDA_NAMESPACE, "port": adapter_port},
            "insecureSkipTLSVerify": True,
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
        },
    }
    custom = client.CustomObjectsApi(api)
    try:
        custom.create_cluster_custom_object("apiregistration.k8s.io", "v1", "apiservices", apiservice)
    except ApiException as err:
        if err.status != 409:
            raise
        custom.patch_cluster_custom_object(
            "apiregistration.k8s.io", "v1", "apiservices", APISERVICE_NAME, {"spec": apiservice["spec"]}
        )


def apiservice_available(api: client.ApiClient) -> tuple[bool, str]:
    """(Available, the condition's reason and message) of the external metrics APIService."""
    obj = client.CustomObjectsApi(api).get_cluster_custom_object(
        "apiregistration.k8s.io", "v1", "apiservices", APISERVICE_NAME
    )
    for condition in obj.get("status", {}).get("conditions", []):
        if condition["type"] == "Available":
            return condition["status"] == "True", f"{condition.get('reason')}: {condition.get('message')}"
    return False, "no Available condition yet"


def unregister_external_metrics_api(api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    for delete in (
        lambda: custom.delete_cluster_custom_object("apiregistration.k8s.io", "v1", "apiservices", APISERVICE_NAME),
        lambda: client.CoreV1Api(api).delete_namespace(KEDA_NAMESPACE),
    ):
        try:
            delete()
        except ApiException as err:
            if err.status != 404:
                raise


def _create(call: Any) -> None:
    try:
        call()
    except ApiException as err:
        if err.status != 409:
            raise
