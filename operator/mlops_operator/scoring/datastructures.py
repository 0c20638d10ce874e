"""Small header and query containers with the Werkzeug semantics that Azure ML score.py files rely on.

Scripts written for azureml-inference-server-http get Flask/Werkzeug objects (`request.headers`,
`request.args`, `AMLResponse.headers`). We do not depend on Flask, so these classes reproduce the subset of
behaviour those scripts use: case-insensitive header lookup, repeated keys, `getlist`, `to_dict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, overload


class Headers:
    """An ordered, case-insensitive multi-map of HTTP headers (Werkzeug `Headers` semantics)."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)

    def add(self, name: str, value: object) -> None:
        """Append a header, keeping any existing ones of the same name (repeated headers)."""
        self._items.append((name, str(value)))

    add_header = add

    def __setitem__(self, name: str, value: object) -> None:
        """Replace every header called `name` by one, in the position of the first (Werkzeug `set`)."""
        lowered = name.lower()
        kept: list[tuple[str, str]] = []
        placed = False
        for key, old in self._items:
            if key.lower() != lowered:
                kept.append((key, old))
            elif not placed:
                kept.append((key, str(value)))
                placed = True
        if not placed:
            kept.append((name, str(value)))
        self._items = kept

    set = __setitem__

    def __getitem__(self, name: str) -> str:
        lowered = name.lower()
        for key, value in self._items:
            if key.lower() == lowered:
                return value
        raise KeyError(name)

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        try:
            return self[name]
        except KeyError:
            return default

    def getlist(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self._items if key.lower() == lowered]

    def remove(self, name: str) -> None:
        lowered = name.lower()
        self._items = [(key, value) for key, value in self._items if key.lower() != lowered]

    def __delitem__(self, name: str) -> None:
        self.remove(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(key.lower() == name.lower() for key, _ in self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def keys(self) -> list[str]:
        return [key for key, _ in self._items]

    def to_wsgi_list(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class MultiDict:
    """Query parameters: `d[key]` is the first value, `getlist(key)` all of them (Werkzeug `MultiDict`)."""

    __slots__ = ("_lists",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._lists: dict[str, list[str]] = {}
        for key, value in pairs:
            self._lists.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> str:
        return self._lists[key][0]

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        try:
            value = self._lists[key][0]
        except KeyError:
            return default
        if type is None:
            return value
        try:
            return type(value)
        except (TypeError, ValueError):
            return default

    def getlist(self, key: str) -> list[str]:
        return list(self._lists.get(key, ()))

    def to_dict(self, flat: bool = True) -> dict[str, Any]:
        if flat:
            return {key: values[0] for key, values in self._lists.items()}
        return {key: list(values) for key, values in self._lists.items()}

    def lists(self) -> list[tuple[str, list[str]]]:
        return [(key, list(values)) for key, values in self._lists.items()]

    def items(self, multi: bool = False) -> list[tuple[str, str]]:
        if multi:
            return [(key, value) for key, values in self._lists.items() for value in values]
        return [(key, values[0]) for key, values in self._lists.items()]

    def keys(self) -> list[str]:
        return list(self._lists)

    def __contains__(self, key: object) -> bool:
        return key in self._lists

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)

    def __repr__(self) -> str:
        return f"MultiDict({self.items(multi=True)!r})"
