"""Kubernetes resource quantities: parsing for cross-field checks (requests <= limits).

The API server parses quantities itself; we only need a faithful ordering of the common suffixes so that
`mlopsctl validate` and the pydantic models reject what the CRD's CEL rules reject.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

QUANTITY_PATTERN = r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$"
_QUANTITY_RE = re.compile(QUANTITY_PATTERN)

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def is_quantity(value: str) -> bool:
    """True when `value` is a Kubernetes quantity such as `500m`, `2`, `4Gi` or `1e3`."""
    return _QUANTITY_RE.match(value) is not None


def parse_quantity(value: str | int | float) -> Decimal:
    """Return the quantity as a Decimal in base units (cores, bytes, devices).

    Raises ValueError with a message that shows valid examples.
    """
    text = str(value).strip()
    if not is_quantity(text):
        raise ValueError(f"{text!r} is not a Kubernetes quantity; use forms like 500m, 2, 512Mi or 4Gi")
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * factor
    if text[-1] in "eE" or re.search(r"[eE][-+]?[0-9]+$", text):
        try:
            return Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - guarded by the pattern
            raise ValueError(f"{text!r} is not a Kubernetes quantity") from exc
    suffix = text[-1] if text[-1] in _DECIMAL and not text[-1].isdigit() else ""
    number = text[: -len(suffix)] if suffix else text
    return Decimal(number) * _DECIMAL[suffix]
