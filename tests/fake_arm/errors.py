"""ARM-shaped errors: one exception type, turned into ``{"error": {...}}`` bodies by the server."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ArmError(Exception):
    """An error response the fake sends, with the status and code ARM (or the resource provider) uses."""

    status: int
    code: str
    message: str
    target: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "target": self.target}
        error["details"] = self.details
        error["additionalInfo"] = []
        return {"error": error}


def not_found(resource_id: str) -> ArmError:
    """The message ARM writes: the provider-relative path plus the resource group."""
    provider_path = resource_id.split("/providers/", 1)[-1]
    rg_match = re.search(r"/resourceGroups/([^/]+)", resource_id, flags=re.IGNORECASE)
    where = f" under resource group '{rg_match.group(1)}'" if rg_match else ""
    return ArmError(404, "ResourceNotFound", f"The Resource '{provider_path}'{where} was not found.")


def parent_not_found(parent_id: str) -> ArmError:
    return ArmError(
        404,
        "ParentResourceNotFound",
        f"Can not perform requested operation on nested resource. Parent resource '{parent_id}' not found.",
    )


def resource_group_not_found(rg: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")


def bad_request(code: str, message: str, target: str | None = None) -> ArmError:
    return ArmError(400, code, message, target=target)


def conflict(code: str, message: str, target: str | None = None) -> ArmError:
    return ArmError(409, code, message, target=target)
