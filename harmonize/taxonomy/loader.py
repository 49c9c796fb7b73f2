"""Load taxonomy YAML files into validated models, with file and line in every error.

The YAML is composed with line marks (:mod:`harmonize._yaml`), validated in pydantic's
strict mode by the model its ``kind`` names, and checked within the file
(:mod:`harmonize.taxonomy.checks`). A pydantic error's ``loc`` is mapped back to the YAML line of the
key or list item it names. The returned model remembers its file and line index (private
attributes ``_source`` and ``_lines``), so that later checks -- compiling a mapping -- can name the
line too; see :func:`source_of` and :func:`line_of`.
"""

from __future__ import annotations

import hashlib
from os import PathLike
from pathlib import Path
from typing import Any, Literal, overload

from pydantic import BaseModel, ValidationError

from harmonize._yaml import LineIndex, Loc, parse_yaml, read_text, translate_validation_error
from harmonize.errors import TaxonomyError
from harmonize.taxonomy.checks import check_file
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology

__all__ = ["KINDS", "AnyModel", "line_of", "load_file", "source_of", "validate_data"]

AnyModel = DatasetTaxonomy | Ontology | Mapping

#: ``kind`` value -> model class.
KINDS: dict[str, type[AnyModel]] = {
    "dataset": DatasetTaxonomy,
    "ontology": Ontology,
    "mapping": Mapping,
}

# (resolved path, sha1 of the text) -> model; models are frozen, so sharing them is safe.
_cache: dict[tuple[str, str], AnyModel] = {}


def source_of(model: BaseModel) -> Path | None:
    """The YAML file ``model`` was loaded from (``None`` for a model built in Python)."""
    return getattr(model, "_source", None)


def line_of(model: BaseModel, loc: Loc) -> int | None:
    """1-based line of ``loc`` (or its nearest enclosing location) in ``model``'s YAML file."""
    lines = getattr(model, "_lines", None)
    if not lines:
        return None
    return LineIndex(lines).line(loc)


@overload
def load_file(path: str | PathLike[str], kind: Literal["dataset"]) -> DatasetTaxonomy: ...
@overload
def load_file(path: str | PathLike[str], kind: Literal["ontology"]) -> Ontology: ...
@overload
def load_file(path: str | PathLike[str], kind: Literal["mapping"]) -> Mapping: ...
@overload
def load_file(path: str | PathLike[str], kind: str | None = None) -> AnyModel: ...
def load_file(path: str | PathLike[str], kind: str | None = None) -> AnyModel:
    """Load and check one taxonomy YAML file of any kind (or of ``kind``, when given).

    Parameters
    ----------
    path : path-like
        The YAML file.
    kind : {"dataset", "ontology", "mapping"}, optional
        Require this kind.

    Returns
    -------
    DatasetTaxonomy or Ontology or Mapping
        The validated model; it remembers ``path`` and its line index.

    Raises
    ------
    MissingFileError
        When the file does not exist.
    TaxonomyError
        On any problem, naming the file and line.
    """
    p = Path(path)
    text = read_text(p)
    key = (str(p.resolve()), hashlib.sha1(text.encode("utf-8")).hexdigest())
    model = _cache.get(key)
    if model is None:
        data, lines = parse_yaml(text, p)
        model = validate_data(data, lines, p)
        _cache[key] = model
    if kind is not None and model.kind != kind:
        raise TaxonomyError(
            f"expected a file of kind {kind!r}, but this one is kind {model.kind!r}",
            path=p,
            line=line_of(model, ("kind",)),
        )
    return model


def validate_data(
    data: Any, lines: LineIndex | None = None, path: str | PathLike[str] | None = None
) -> AnyModel:
    """Validate plain data (parsed YAML) into a model and run the within-file checks.

    Parameters
    ----------
    data : object
        The parsed document (a mapping with a ``kind`` key).
    lines : LineIndex, optional
        Line of each location, for messages.
    path : path-like, optional
        The file, for messages.
    """
    lines = lines if lines is not None else LineIndex()
    p = Path(path) if path is not None else None
    if not isinstance(data, dict):
        raise TaxonomyError(
            f"expected a YAML mapping with a `kind` key, got {type(data).__name__}",
            path=p,
            line=lines.line(()),
        )
    kind = data.get("kind")
    if kind not in KINDS:
        got = "no `kind` key" if "kind" not in data else f"kind {kind!r}"
        raise TaxonomyError(
            f"kind: must be one of {', '.join(map(repr, KINDS))}; {got}",
            path=p,
            line=lines.line(("kind",)),
        )
    cls = KINDS[kind]
    try:
        model = cls.model_validate(data, strict=True)
    except ValidationError as exc:
        raise translate_validation_error(exc, cls, data, lines, p) from None
    model._source = p
    model._lines = dict(lines)
    check_file(model)
    return model
