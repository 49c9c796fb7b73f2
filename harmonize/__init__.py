"""harmonize: one training-ready whole from the label maps of public segmentation datasets.

The public API is re-exported here lazily (importing :mod:`harmonize` stays cheap; numba and zarr load
only when used).
"""

from __future__ import annotations

import importlib
from typing import Any

from harmonize._version import __version__

#: public name -> "module:attribute"
_EXPORTS: dict[str, str] = {
    "load_taxonomy": "harmonize.taxonomy:load_taxonomy",
    "load_ontology": "harmonize.taxonomy:load_ontology",
    "load_mapping": "harmonize.taxonomy:load_mapping",
    "compile_mapping": "harmonize.taxonomy:compile_mapping",
    "evaluation_mapping": "harmonize.taxonomy.reverse:evaluation_mapping",
    "remap_sample": "harmonize.engine.sample:remap_sample",
    "load_config": "harmonize.pipeline.config:load_config",
    "run": "harmonize.pipeline.execute:run",
    "open_store": "harmonize.store.access:open_store",
    "diff": "harmonize.taxonomy.diff:diff",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'harmonize' has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
