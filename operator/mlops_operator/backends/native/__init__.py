"""The native backend: serve models on any Kubernetes cluster with our own scoring server."""

from mlops_operator.backends.native.backend import NativeBackend

__all__ = ["NativeBackend"]
