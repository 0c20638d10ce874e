"""kopf handlers: the only place kopf is imported. Importing this package registers every handler."""

from mlops_operator.handlers import children, deployment, globalendpoint, platform, references, startup

__all__ = ["children", "deployment", "globalendpoint", "platform", "references", "startup"]
