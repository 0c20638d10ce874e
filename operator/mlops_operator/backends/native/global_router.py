"""A local Traefik as a GlobalEndpoint's router: the operator writes its file provider's configuration.

Written atomically (a temporary file renamed over the old one, which Traefik's watcher sees as one event)
and only when the content changes: Traefik rebuilds every service on a reload, forgetting their health.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from mlops_operator.api.v1alpha1.globalendpoint import GlobalEndpoint
from mlops_operator.backends.routing import Rotation, RouterResult
from mlops_operator.render.global_router import render_traefik_config, router_id


class TraefikFileRouter:
    def apply(self, ge: GlobalEndpoint, rotation: Rotation) -> RouterResult:
        settings = ge.spec.router.traefik
        assert settings is not None
        routed = [r for r in rotation.regions if r.name in rotation.in_service] or list(rotation.regions)
        rid = router_id(str(ge.metadata.namespace), str(ge.metadata.name))
        config = render_traefik_config(ge.spec, rid, rotation.prefix, routed)
        text = yaml.safe_dump(config, sort_keys=True)
        path = Path(settings.config_path)
        url = f"{settings.url.rstrip('/')}{rotation.prefix}/score" if settings.url else None
        try:
            written = _write_if_changed(path, text)
        except OSError as exc:
            return RouterResult(url, False, 0, f"cannot write Traefik configuration {path}: {exc}")
        names = ", ".join(r.name for r in routed) or "none"
        return RouterResult(url, True, int(written), f"Traefik routes {rotation.prefix} to {names}")

    def delete(self, ge: GlobalEndpoint) -> RouterResult:
        settings = ge.spec.router.traefik
        assert settings is not None
        Path(settings.config_path).unlink(missing_ok=True)
        return RouterResult(None, True, 1, "Traefik configuration removed")


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
