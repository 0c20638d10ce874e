"""What the scoring server exports: metric name -> its label names (for checking queries against it)."""

from __future__ import annotations

import re

from mlops_operator.scoring.metrics import MetricsBlock


def exported_labels() -> dict[str, set[str]]:
    block = MetricsBlock(1)
    block.recorder(0).request(0, 500, 0.01)
    exported: dict[str, set[str]] = {}
    for line in block.render().decode().splitlines():
        if line and not line.startswith("#"):
            name, _, labels = line.partition("{")
            exported.setdefault(name.split()[0], set()).update(re.findall(r'(\w+)="', labels))
    return exported


def unexported_selectors(query: str, exported: dict[str, set[str]]) -> list[tuple[str, set[str]]]:
    """Metrics the query selects that are not exported, or with server-side labels they lack (namespace and
    deployment come from the pods, not from the server)."""
    missing = []
    for name, selector in re.findall(r"(mlops_\w+)\{([^}]*)\}", query):
        wanted = set(re.findall(r"(\w+)=", selector)) - {"namespace", "deployment"}
        if name not in exported or not wanted <= exported[name]:
            missing.append((name, wanted))
    return missing
