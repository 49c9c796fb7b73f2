"""Dataset readers, one module per dataset, and a registry pairing each with its look-alike.

>>> from harmonize import datasets
>>> datasets.names()                                       # doctest: +ELLIPSIS
('citypersons', 'cityscapes', ...)
>>> spec = datasets.get("consep")                          # doctest: +SKIP
>>> result = spec.synthesize("/tmp/CoNSeP", n=4, seed=0)   # doctest: +SKIP
>>> reader = spec.reader(result.root)                      # doctest: +SKIP

A reader module (``harmonize/datasets/<name>.py``) reads like its format's description: the layout,
the decisions where the format is silent, the :class:`Reader`. Its look-alike generator lives apart,
in ``harmonize/lookalike/<name>.py`` (a :class:`Synthesize`), and is registered by name
(``synthesize="harmonize.lookalike.<name>:synthesize"``): :attr:`DatasetSpec.synthesize` imports it
on first use, so reading never loads generator code. ``harmonize.lookalike`` may import this
package (format constants, path helpers); this package never imports ``harmonize.lookalike``.

Modules are imported on first use so that the CLI starts fast. Adding a dataset means one module here
(which calls :func:`register`), one look-alike module, one taxonomy YAML and one test file; the
module list below is the only shared line to touch.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from harmonize.datasets.base import OnError, Reader, Skipped, Synthesize, SynthResult, SynthTruth

__all__ = [
    "DatasetSpec",
    "OnError",
    "Reader",
    "Skipped",
    "SynthResult",
    "SynthTruth",
    "Synthesize",
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
    #: The look-alike generator, or its ``"module:function"`` name (imported by :attr:`synthesize`).
    generator: Synthesize | str
    description: str
    #: Name of the dataset taxonomy YAML (``taxonomies/datasets/<taxonomy>.yaml``).
    taxonomy: str

    @property
    def synthesize(self) -> Synthesize:
        """The look-alike generator; a generator registered by name is imported on first use."""
        if isinstance(self.generator, str):
            return _import_generator(self.generator)
        return self.generator


@functools.cache
def _import_generator(target: str) -> Synthesize:
    """Import ``"package.module:function"``."""
    module, _, attr = target.partition(":")
    return cast(Synthesize, getattr(importlib.import_module(module), attr))


def register(
    name: str,
    *,
    reader: type[Reader],
    synthesize: Synthesize | str,
    description: str,
    taxonomy: str | None = None,
) -> DatasetSpec:
    """Register a dataset module's reader and generator under ``name``.

    ``synthesize`` is the generator itself or, so that the reader module does not import it, its
    name ``"harmonize.lookalike.<name>:synthesize"``.
    """
    if name in _REGISTRY and _REGISTRY[name].reader is not reader:
        raise ValueError(f"dataset {name!r} is registered twice")
    if isinstance(synthesize, str) and not re.fullmatch(r"[\w.]+:\w+", synthesize):
        raise ValueError(
            f"generator of {name!r} must be named 'module:function', not {synthesize!r}"
        )
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
