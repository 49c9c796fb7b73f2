"""One way to turn a result dataclass into JSON values: :class:`Record` and :func:`sorted_by`.

A result class (a diff entry, a coverage row, a leakage match, ...) is a dataclass that subclasses
:class:`Record`; its :meth:`Record.to_dict` lists the fields in declaration order, converting each
value with :func:`jsonable` (nested records by their own ``to_dict``, tuples to lists, dict keys to
strings, sorted by key when the class sets ``sort_dicts``; pydantic models to their JSON dump). A field whose list must come out in a stable order
says so in its metadata, ``field(default=(), metadata=sorted_by("id", "name"))``. A class whose JSON
differs from its fields (a computed key, a renamed key) overrides ``to_dict`` and starts from
:meth:`Record.fields_dict`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

__all__ = ["Record", "jsonable", "sorted_by"]

_SORT = "harmonize.sort"


def jsonable(value: Any, *, sort_dicts: bool = False) -> Any:
    """Plain JSON values: records by ``to_dict``, tuples and lists as lists, mappings with string
    keys (sorted by key when ``sort_dicts``), pydantic models by their JSON dump."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [jsonable(v, sort_dicts=sort_dicts) for v in value]
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
        if sort_dicts:
            items = sorted(items, key=lambda kv: str(kv[0]))
        return {str(k): jsonable(v, sort_dicts=sort_dicts) for k, v in items}
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="json"), sort_dicts=sort_dicts)
    return value


def sorted_by(*keys: str) -> dict[str, Callable[[Any], Any]]:
    """Field metadata: emit the field's list sorted by these keys of its items' JSON (``field``
    values compare as strings, everything else as is); no keys sorts the items themselves."""

    def key(row: Any) -> Any:
        if not keys:
            return row
        return tuple(str(row[k]) if k == "field" else row[k] for k in keys)

    return {_SORT: key}


class Record:
    """Mixin of result dataclasses: :meth:`to_dict` from the fields (see the module docstring)."""

    #: emit mappings inside the fields sorted by key (for values whose dict order is not stable)
    sort_dicts: ClassVar[bool] = False

    def fields_dict(self) -> dict[str, Any]:
        """Every field, in declaration order, as JSON values (sorted where the field says so)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = jsonable(getattr(self, f.name), sort_dicts=self.sort_dicts)
            key = f.metadata.get(_SORT)
            if key is not None:
                value = sorted(value, key=key)
            out[f.name] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON values (override to add computed keys or rename fields)."""
        return self.fields_dict()
