"""mlops-operator: declarative model serving on Kubernetes, natively or through Azure Machine Learning."""

__version__ = "0.1.0"
