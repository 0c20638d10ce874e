"""Certificates and keys for a loopback cluster: one CA, a serving cert, an admin client cert, SA keys, and
the front proxy's own CA and client cert (what kubeadm calls front-proxy-ca and front-proxy-client).

EC P-256 keys keep generation fast; the service-account key is RSA because that is what every
Kubernetes tutorial and tool expects to find in --service-account-key-file.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)
CLOCK_SKEW = datetime.timedelta(minutes=5)
# 10.96.0.1 is the `kubernetes` Service's ClusterIP (first address of the service range): in-cluster clients
# on the real node reach the apiserver through it.
SERVING_IPS = ("127.0.0.1", "10.96.0.1")
SERVING_DNS = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
ADMIN_USER = "mlops-dev-admin"
ADMIN_GROUP = "system:masters"
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"
# The aggregator proxies to aggregated API servers (KEDA's metrics adapter) with this client certificate and
# the caller in X-Remote-* headers; they trust those headers only from this name, signed by the front-proxy CA.
FRONT_PROXY_CLIENT = "front-proxy-client"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class ClusterPki:
    """Paths of every PEM file a cluster needs; the files exist once `generate_pki` returns."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.directory / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.directory / "apiserver.key"

    @property
    def admin_cert(self) -> Path:
        return self.directory / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.directory / "admin.key"

    @property
    def kubelet_client_cert(self) -> Path:
        """The apiserver's client certificate towards kubelets (`kubectl logs/exec` on real nodes)."""
        return self.directory / "apiserver-kubelet-client.crt"

    @property
    def kubelet_client_key(self) -> Path:
        return self.directory / "apiserver-kubelet-client.key"

    @property
    def front_proxy_ca_cert(self) -> Path:
        """A CA apart from the cluster CA: a client cert it signs proves the request-header identity, nothing else."""
        return self.directory / "front-proxy-ca.crt"

    @property
    def front_proxy_ca_key(self) -> Path:
        return self.directory / "front-proxy-ca.key"

    @property
    def front_proxy_client_cert(self) -> Path:
        """The aggregator's client certificate towards aggregated API servers (--proxy-client-cert-file)."""
        return self.directory / "front-proxy-client.crt"

    @property
    def front_proxy_client_key(self) -> Path:
        return self.directory / "front-proxy-client.key"

    @property
    def sa_public_key(self) -> Path:
        return self.directory / "sa.pub"

    @property
    def sa_private_key(self) -> Path:
        return self.directory / "sa.key"


def _ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _make_ca(common_name: str = "mlops-dev-ca") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _ec_key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: Sequence[x509.GeneralName] = (),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = _ec_key()
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_key(path: Path, key: PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.touch(mode=0o600)
    path.write_bytes(pem)


def _serving_sans(extra_ips: Sequence[str] = ()) -> list[x509.GeneralName]:
    ips: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in (*SERVING_IPS, *extra_ips)]
    return ips + [x509.DNSName(name) for name in SERVING_DNS]


def generate_pki(directory: Path, extra_serving_ips: Sequence[str] = ()) -> ClusterPki:
    """Write a fresh CA, the apiserver serving pair, the admin and kubelet-client pairs, the SA key pair, and
    the front-proxy CA with its client pair.

    `extra_serving_ips`: more addresses the apiserver answers on (the real node's bridge address).
    """
    directory.mkdir(parents=True, exist_ok=True)
    pki = ClusterPki(directory)
    ca = _make_ca()
    _write_cert(pki.ca_cert, ca[0])
    _write_key(pki.ca_key, ca[1])

    serving = _issue(ca, _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, _serving_sans(extra_serving_ips))
    _write_cert(pki.serving_cert, serving[0])
    _write_key(pki.serving_key, serving[1])

    admin = _issue(ca, _name(ADMIN_USER, ADMIN_GROUP), ExtendedKeyUsageOID.CLIENT_AUTH)
    _write_cert(pki.admin_cert, admin[0])
    _write_key(pki.admin_key, admin[1])

    kubelet_client = _issue(ca, _name(KUBELET_CLIENT_USER, ADMIN_GROUP), ExtendedKeyUsageOID.CLIENT_AUTH)
    _write_cert(pki.kubelet_client_cert, kubelet_client[0])
    _write_key(pki.kubelet_client_key, kubelet_client[1])

    front_proxy_ca = _make_ca("mlops-dev-front-proxy-ca")
    _write_cert(pki.front_proxy_ca_cert, front_proxy_ca[0])
    _write_key(pki.front_proxy_ca_key, front_proxy_ca[1])
    front_proxy = _issue(front_proxy_ca, _name(FRONT_PROXY_CLIENT), ExtendedKeyUsageOID.CLIENT_AUTH)
    _write_cert(pki.front_proxy_client_cert, front_proxy[0])
    _write_key(pki.front_proxy_client_key, front_proxy[1])

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki.sa_private_key, sa_key)
    pki.sa_public_key.write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return pki


@dataclass(frozen=True)
class LoopbackTls:
    """A throwaway CA (with its key, to issue more) and a server certificate for 127.0.0.1/localhost, as PEM files."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    ca_key: Path


def write_loopback_tls(directory: Path) -> LoopbackTls:
    """Mint a CA and a loopback server certificate (for local HTTPS test servers such as the fake ARM)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _make_ca()
    cert, key = _issue(ca, _name("localhost"), ExtendedKeyUsageOID.SERVER_AUTH, _serving_sans())
    files = LoopbackTls(directory / "ca.pem", directory / "server.pem", directory / "server.key", directory / "ca.key")
    _write_cert(files.ca_cert, ca[0])
    _write_key(files.ca_key, ca[1])
    _write_cert(files.server_cert, cert)
    _write_key(files.server_key, key)
    return files


def write_server_cert(tls: LoopbackTls, dns_name: str) -> tuple[Path, Path]:
    """Issue a server certificate for ``dns_name`` from the loopback CA; returns the (cert, key) PEM paths."""
    ca = _load_ca_files(tls.ca_cert, tls.ca_key)
    cert, key = _issue(ca, _name(dns_name), ExtendedKeyUsageOID.SERVER_AUTH, [x509.DNSName(dns_name)])
    paths = tls.ca_cert.parent / f"{dns_name}.pem", tls.ca_cert.parent / f"{dns_name}.key"
    _write_cert(paths[0], cert)
    _write_key(paths[1], key)
    return paths


def _load_ca_files(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{key_path}: not an EC key")
    return ca_cert, ca_key


def write_client_cert(pki: ClusterPki, user: str, group: str, cert_path: Path, key_path: Path) -> None:
    """Issue a client certificate for `user` in `group` from the cluster CA (a kubelet's node identity:
    `system:node:<name>` in `system:nodes`, which the Node authorizer recognises)."""
    cert, key = _issue(_load_ca_files(pki.ca_cert, pki.ca_key), _name(user, group), ExtendedKeyUsageOID.CLIENT_AUTH)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    _write_cert(cert_path, cert)
    _write_key(key_path, key)
