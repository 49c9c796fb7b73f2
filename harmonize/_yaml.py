"""Load YAML into a pydantic model with errors that name the file and line.

Shared by taxonomy files and run configs: the YAML is composed with line marks
(:mod:`harmonize.taxonomy._yaml`) and pydantic's errors are translated into one readable message per
problem (:func:`harmonize.taxonomy.loader._translate`), raised as ``error`` (a
:class:`~harmonize.errors.HarmonizeError` subclass).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from harmonize.errors import HarmonizeError, MissingFileError, TaxonomyError

M = TypeVar("M", bound=BaseModel)

__all__ = ["load_model"]


def load_model[M: BaseModel](
    path: str | PathLike[str], cls: type[M], error: type[HarmonizeError], what: str = "YAML"
) -> M:
    """Read ``path`` and validate it as ``cls``; problems raise ``error`` with file and line."""
    from harmonize.taxonomy._yaml import read_yaml
    from harmonize.taxonomy.loader import _translate

    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"no such {what} file" if not p.exists() else "not a file", path=p)
    try:
        data, lines = read_yaml(p)
    except TaxonomyError as exc:
        raise error(exc.reason, path=exc.path, line=exc.line) from None
    if not isinstance(data, dict):
        raise error(f"expected a YAML mapping, got {type(data).__name__}", path=p, line=1)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        t = _translate(exc, cls, data, lines, p)
        raise error(t.reason, path=p, line=t.line) from None
