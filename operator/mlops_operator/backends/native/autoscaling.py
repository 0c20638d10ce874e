"""Apply (or remove) a deployment's KEDA ScaledObject; say so when KEDA is not installed."""

from __future__ import annotations

import time

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.backends.resolve import blocked
from mlops_operator.backends.shared.apply import apply_if_changed, delete_if_present
from mlops_operator.conditions import Reason, Verdict
from mlops_operator.kube import Kube
from mlops_operator.render.autoscaling import KEDA_API_VERSION, SCALED_OBJECT_CRD, render_scaled_object

_CRD_CACHE_SECONDS = 60.0


class AutoscalingReconciler:
    """Remembers for a minute whether KEDA's ScaledObject CRD is installed (one read, not one per pass)."""

    def __init__(self, kube: Kube, default_prometheus: str | None) -> None:
        self._kube = kube
        self._default_prometheus = default_prometheus
        self._keda: tuple[float, bool] | None = None

    def keda_installed(self) -> bool:
        now = time.monotonic()
        if self._keda is None or now - self._keda[0] > _CRD_CACHE_SECONDS:
            self._keda = (now, self._kube.crd_established(SCALED_OBJECT_CRD))
        return self._keda[1]

    def reconcile(self, md: ModelDeployment) -> Verdict | None:
        """None when all is well; a `DeploymentReady=False` verdict when the scaling asked for cannot run."""
        name, namespace = naming.deployment_name(str(md.metadata.name)), str(md.metadata.namespace)
        desired = render_scaled_object(md, self._default_prometheus)
        if desired is None:
            if self.keda_installed():  # a ScaledObject left from an earlier `type: metric` goes
                delete_if_present(self._kube, KEDA_API_VERSION, "ScaledObject", name, namespace)
            return None
        metric = md.spec.scale_settings.metric
        if metric is not None and metric.prometheus is None and not self._default_prometheus:
            return blocked(
                Reason.METRICS_PROVIDER_MISSING,
                "scaleSettings.metric needs a Prometheus: set scaleSettings.metric.prometheus.address, or "
                "MLOPS_PROMETHEUS_URL on the operator (chart value rollouts.prometheusUrl)",
            )
        if not self.keda_installed():
            return blocked(
                Reason.AUTOSCALER_NOT_INSTALLED,
                f"scaleSettings.type metric is served by KEDA, and {SCALED_OBJECT_CRD} is not installed: install "
                "KEDA (the AKS KEDA add-on, or its Helm chart; docs/autoscaling.md) or use targetUtilization",
            )
        apply_if_changed(self._kube, desired)
        return None
