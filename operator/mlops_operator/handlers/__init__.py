"""kopf handlers: the only place kopf is imported. Importing this package registers every handler."""

from mlops_operator.handlers import children, deployment, platform, references, startup

__all__ = ["children", "deployment", "platform", "references", "startup"]
