"""Dataset readers and look-alike generators, found through a registry.

>>> from harmonize import datasets
>>> {"cityscapes", "consep", "pannuke"} <= set(datasets.names())
True
>>> spec = datasets.get("consep")
>>> result = spec.synthesize(tmp / "CoNSeP", n=2, seed=0)   # a look-alike, in the native layout
>>> reader = spec.reader(result.root)
>>> refs = reader.list_refs()
>>> [(r.split, r.sample_id) for r in refs]
[('train', 'train_1'), ('train', 'train_2'), ('test', 'test_1')]
>>> raw = reader.read(refs[0])
>>> raw.semantic.dtype, raw.semantic.shape == raw.shape
(dtype('uint8'), True)

Where datasets come from (one mechanism: the dataset taxonomy YAML says how it is read):

* **A taxonomy YAML** (``taxonomies/datasets/<name>.yaml``, shipped, on ``HARMONIZE_TAXONOMIES`` or
  on a run config's ``taxonomies:`` path) with ``layout:`` is read by the generic reader
  (:mod:`harmonize.datasets.layout`) and gets the generic look-alike generator
  (:data:`LAYOUT_GENERATOR`, bound to the declared data): no Python at all.
  With ``reader: some.module`` it is read by that module's reader, which the module registers with
  :func:`register` when imported (every shipped reader is declared so). A module reader that
  subclasses :class:`~harmonize.datasets.layout.LayoutReader` also gets the YAML's ``layout:``
  (PASCAL VOC, COCO-Stuff: their plain PNG layouts are declared, the ``.mat`` releases are code).
* **An installed package** may declare an entry point in the group :data:`ENTRY_POINT_GROUP`
  (``harmonize.datasets``): name = dataset name, value = a module that calls :func:`register`.

A reader module (``harmonize/datasets/<name>.py``) reads like its format's description: the layout,
the decisions where the format is silent, the :class:`Reader`. Its look-alike generator lives apart,
in ``harmonize/lookalike/<name>.py`` (a :class:`Synthesize`; every shipped generator is there), and
is registered by name
(``synthesize="harmonize.lookalike.<name>:synthesize"``): :attr:`DatasetSpec.synthesize` imports it
on first use, so reading never loads generator code. ``harmonize.lookalike`` may import this
package (format constants, path helpers); this package never imports ``harmonize.lookalike``.

Modules are imported on first use so that the CLI starts fast. This module is the one place of the
package that asks :mod:`harmonize.taxonomy` (pydantic) for the YAML: the readers themselves get
plain data (dicts and tuples) and never import it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from harmonize.datasets.base import OnError, Reader, Skipped, Synthesize, SynthResult, SynthTruth

__all__ = [
    "ENTRY_POINT_GROUP",
    "LAYOUT_GENERATOR",
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

#: Entry point group of third-party dataset modules (name = dataset, value = module to import).
ENTRY_POINT_GROUP = "harmonize.datasets"

#: The generic look-alike generator of a dataset declared by a ``layout:`` block alone; it takes the
#: declared data first (:attr:`DatasetSpec.declaration`), then the :class:`Synthesize` arguments.
LAYOUT_GENERATOR = "harmonize.lookalike.layout:synthesize"

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
    #: The declared data handed to the generator as its first argument (layout-only datasets, whose
    #: generator is the generic :data:`LAYOUT_GENERATOR`), else ``None``.
    declaration: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def synthesize(self) -> Synthesize:
        """The look-alike generator; a generator registered by name is imported on first use."""
        gen = (
            _import_generator(self.generator) if isinstance(self.generator, str) else self.generator
        )
        if self.declaration is not None:  # the layout generator takes the declaration first
            layout_gen: Callable[..., Any] = gen
            return cast(Synthesize, functools.partial(layout_gen, self.declaration))
        return gen


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


#: Specs built from declared data, keyed by (name, repr of the data): a re-declared dataset (another
#: taxonomy folder, an edited file) gets a new spec, an unchanged one the same classes.
_BUILT: dict[tuple[str, str], DatasetSpec] = {}


def _declared() -> dict[str, dict[str, Any]]:
    """Datasets declared by taxonomy YAML (``reader:`` or ``layout:``), as plain data."""
    from harmonize.taxonomy.declared import declared_datasets  # the registry only (see above)

    return declared_datasets()


def _declared_one(name: str) -> dict[str, Any] | None:
    from harmonize.taxonomy.declared import declared_dataset  # the registry only (see above)

    return declared_dataset(name)


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def names() -> tuple[str, ...]:
    """Names of every known dataset, sorted: declared by YAML, by entry point or registered."""
    return tuple(sorted({*_declared(), *_entry_points(), *_REGISTRY}))


def _import_registering(module: str, name: str) -> DatasetSpec:
    importlib.import_module(module)
    if name not in _REGISTRY:
        raise RuntimeError(f"module {module} did not register dataset {name!r}")
    return _REGISTRY[name]


def get(name: str) -> DatasetSpec:
    """Return the :class:`DatasetSpec` of ``name`` (importing its module on first use).

    Raises
    ------
    KeyError
        When no taxonomy YAML, entry point or registration knows ``name``.
    TaxonomyError
        When a taxonomy YAML of the catalogue is invalid (naming its file and line).
    """
    from harmonize.datasets import layout as _layout

    decl = _declared_one(name)
    if decl is None and name not in _REGISTRY:
        eps = _entry_points()
        if name not in eps:
            raise KeyError(f"unknown dataset {name!r}; known: {', '.join(names())}")
        return _import_registering(eps[name].value, name)
    if decl is None:
        return _REGISTRY[name]
    key = (name, repr(sorted(decl.items())))
    if key in _BUILT:
        return _BUILT[key]
    if decl["reader"] is not None:
        spec = _REGISTRY.get(name) or _import_registering(decl["reader"], name)
        if decl["layout"] is not None and issubclass(spec.reader, _layout.LayoutReader):
            spec = DatasetSpec(
                name,
                _layout.make_reader(decl, spec.reader),
                spec.generator,
                spec.description,
                spec.taxonomy,
            )
    elif decl["layout"] is not None:
        spec = DatasetSpec(
            name,
            _layout.make_reader(decl),
            LAYOUT_GENERATOR,
            decl["title"],
            name,
            declaration=decl,
        )
    else:  # pragma: no cover - declared_datasets keeps only files with reader: or layout:
        raise KeyError(name)
    _BUILT[key] = spec
    return spec


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
