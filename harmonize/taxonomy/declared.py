"""Datasets declared by taxonomy YAML (``reader:`` or ``layout:``), as plain data for the registry.

:mod:`harmonize.datasets` must not import pydantic models into its readers, so the registry asks
this module for what the taxonomy files declare and hands the readers plain dicts and tuples: the
layout block (``Layout.model_dump``), and per native class its file value, id, name, role, whether
it has instances and its colour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harmonize.errors import TaxonomyError
from harmonize.taxonomy.catalog import list_files
from harmonize.taxonomy.loader import line_of, load_file
from harmonize.taxonomy.models import DatasetTaxonomy

__all__ = ["declared_dataset", "declared_datasets", "reader_data"]


def reader_data(tax: DatasetTaxonomy) -> dict[str, Any]:
    """What a reader may know of ``tax``, as plain data.

    Returns
    -------
    dict
        ``name``, ``title``, ``description``, ``reader`` (module or ``None``), ``path`` (the YAML
        file), ``layout`` (plain dict or ``None``), ``encoding`` (name of the encoding the semantic
        values are in, or ``None``) and ``values``: one dict per class with ``value`` (the file
        value under that encoding), ``id``, ``name``, ``role``, ``instances`` and ``color``.
    """
    layout = tax.layout
    enc_name = layout.encoding if layout is not None else None
    encodings = {e.name: e for e in tax.encodings}
    enc = encodings.get(enc_name) if enc_name else (tax.encodings[0] if tax.encodings else None)
    special = {cid: value for value, cid in enc.special.items()} if enc is not None else {}
    offset = enc.offset if enc is not None else 0
    values = [
        {
            "value": special.get(c.id, c.id + offset),
            "id": c.id,
            "name": c.name,
            "role": c.role,
            "instances": c.instances,
            "color": tuple(c.color) if c.color is not None else None,
        }
        for c in tax.classes
    ]
    src = getattr(tax, "_source", None)
    return {
        "name": tax.name,
        "title": tax.title,
        "description": " ".join((tax.description or tax.title).split()),
        "reader": tax.reader,
        "path": str(src) if src is not None else None,
        "layout": layout.model_dump(by_alias=True) if layout is not None else None,
        "encoding": enc_name,
        "values": values,
    }


def declared_datasets() -> dict[str, dict[str, Any]]:
    """Every dataset taxonomy with a ``reader:`` or ``layout:``, by name (see :func:`reader_data`).

    Files are those of :func:`~harmonize.taxonomy.catalog.list_files` (shipped, on
    ``HARMONIZE_TAXONOMIES`` or added by a run config's ``taxonomies:``); each is loaded and
    validated, so a broken file is a :class:`~harmonize.errors.TaxonomyError` naming its line.
    """
    out: dict[str, dict[str, Any]] = {}
    for stem, path in list_files().datasets.items():
        data = _declared(stem, path)
        if data is not None:
            out[stem] = data
    return out


def declared_dataset(name: str) -> dict[str, Any] | None:
    """:func:`reader_data` of the dataset taxonomy file named ``name``, if it declares a reader
    or a layout (only that file is loaded); ``None`` otherwise."""
    path = list_files().datasets.get(name)
    return _declared(name, path) if path is not None else None


def _declared(stem: str, path: Path) -> dict[str, Any] | None:
    tax = load_file(path, kind="dataset")
    assert isinstance(tax, DatasetTaxonomy)
    if tax.reader is None and tax.layout is None:
        return None
    if tax.name != stem:
        raise TaxonomyError(
            f"name: {tax.name!r} must equal the file name {stem!r} (datasets are found by "
            "file name)",
            path=path,
            line=line_of(tax, ("name",)),
        )
    return reader_data(tax)
