"""Dataset readers and look-alike generators, one module per dataset, found through a registry.

>>> from harmonize import datasets
>>> datasets.names()                                       # doctest: +ELLIPSIS
('citypersons', 'cityscapes', ...)
>>> spec = datasets.get("consep")                          # doctest: +SKIP
>>> result = spec.synthesize("/tmp/CoNSeP", n=4, seed=0)   # doctest: +SKIP
>>> reader = spec.reader(result.root)                      # doctest: +SKIP

Modules are imported on first use so that the CLI starts fast. Adding a dataset means one module here
(which calls :func:`register`), one taxonomy YAML and one test file; the module list below is the only
shared line to touch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmonize.datasets.base import OnError, Reader, Skipped, SynthResult, SynthTruth

__all__ = [
    "DatasetSpec",
    "OnError",
    "Reader",
    "Skipped",
    "SynthResult",
    "SynthTruth",
    "get",
    "names",
    "open_reader",
    "register",
    "synthesize",
]

#: dataset name -> module that registers it (imported lazily).
_MODULES: dict[str, str] = {
    "citypersons": "harmonize.datasets.citypersons",
    "cityscapes": "harmonize.datasets.cityscapes",
    "coco_stuff": "harmonize.datasets.coco_stuff",
    "coco_stuff_json": "harmonize.datasets.coco_stuff_json",
    "consep": "harmonize.datasets.consep",
    "cpm17": "harmonize.datasets.cpm17",
    "kumar": "harmonize.datasets.kumar",
    "lizard": "harmonize.datasets.lizard",
    "monusac": "harmonize.datasets.monusac",
    "monuseg": "harmonize.datasets.monuseg",
    "pannuke": "harmonize.datasets.pannuke",
    "pascal_voc": "harmonize.datasets.pascal_voc",
}

_REGISTRY: dict[str, DatasetSpec] = {}


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: its reader class, its generator and a one-line description."""

    name: str
    reader: type[Reader]
    synthesize: Callable[..., SynthResult]
    description: str
    #: Name of the dataset taxonomy YAML (``taxonomies/datasets/<taxonomy>.yaml``).
    taxonomy: str


def register(
    name: str,
    *,
    reader: type[Reader],
    synthesize: Callable[..., SynthResult],
    description: str,
    taxonomy: str | None = None,
) -> DatasetSpec:
    """Register a dataset module's reader and generator under ``name``."""
    if name in _REGISTRY and _REGISTRY[name].reader is not reader:
        raise ValueError(f"dataset {name!r} is registered twice")
    spec = DatasetSpec(name, reader, synthesize, description, taxonomy or name)
    _REGISTRY[name] = spec
    return spec


def names() -> tuple[str, ...]:
    """Names of every known dataset, sorted."""
    return tuple(sorted(_MODULES))


def get(name: str) -> DatasetSpec:
    """Return the registered :class:`DatasetSpec` for ``name`` (importing its module)."""
    if name not in _REGISTRY:
        if name not in _MODULES:
            raise KeyError(f"unknown dataset {name!r}; known: {', '.join(names())}")
        importlib.import_module(_MODULES[name])
        if name not in _REGISTRY:
            raise RuntimeError(f"module {_MODULES[name]} did not register dataset {name!r}")
    return _REGISTRY[name]


def open_reader(
    name: str,
    root: str | Path,
    *,
    splits: list[str] | None = None,
    on_error: OnError = "raise",
    **options: Any,
) -> Reader:
    """Open the reader of dataset ``name`` on ``root``."""
    return get(name).reader(root, splits=splits, on_error=on_error, **options)


def synthesize(name: str, out: str | Path, **kwargs: Any) -> SynthResult:
    """Write a look-alike of dataset ``name`` under ``out`` (see each module's ``synthesize``)."""
    return get(name).synthesize(out, **kwargs)
