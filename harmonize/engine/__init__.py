"""The remapping engine: numba kernels that rewrite native label maps into ontology ids.

Importing this package is cheap: numba loads when a name below is first used (lazy re-exports).
The engine never imports pydantic, YAML or zarr.

* :func:`remap_sample` -- :class:`~harmonize.types.RawSample` -> :class:`~harmonize.types.
  HarmonizedSample` (what the pipeline calls).
* :func:`remap_semantic`, :func:`rewrite_instances`, :func:`prepare` -- the array-level steps.
* :func:`collapse_channels` -- PanNuke-style channel stacks -> class map + instance map.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "remap_sample": "harmonize.engine.sample",
    "remap_semantic": "harmonize.engine.remap",
    "rewrite_instances": "harmonize.engine.remap",
    "prepare": "harmonize.engine.remap",
    "collapse_channels": "harmonize.engine.kernels",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harmonize.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
