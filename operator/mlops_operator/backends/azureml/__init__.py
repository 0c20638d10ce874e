"""The azureml backend: Azure ML on AKS. The only package that imports the Azure SDKs."""

from mlops_operator.backends.azureml.backend import AzureMLBackend
from mlops_operator.backends.azureml.credentials import CredentialFactory

__all__ = ["AzureMLBackend", "CredentialFactory"]
