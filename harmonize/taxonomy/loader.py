"""Load taxonomy YAML files into validated models, with file and line in every error.

The YAML is composed with line marks (:mod:`harmonize.taxonomy._yaml`), validated in pydantic's
strict mode by the model its ``kind`` names, and checked within the file
(:mod:`harmonize.taxonomy.checks`). A pydantic error's ``loc`` is mapped back to the YAML line of the
key or list item it names. The returned model remembers its file and line index (private
attributes ``_source`` and ``_lines``), so that later checks -- compiling a mapping -- can name the
line too; see :func:`source_of` and :func:`line_of`.
"""

from __future__ import annotations

import difflib
import hashlib
import types
import typing
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from harmonize.errors import TaxonomyError
from harmonize.taxonomy._yaml import LineIndex, Loc, fmt_loc, parse_yaml, read_text
from harmonize.taxonomy.checks import check_file
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology

__all__ = ["KINDS", "AnyModel", "line_of", "load_file", "source_of", "validate_data"]

AnyModel = DatasetTaxonomy | Ontology | Mapping

#: ``kind`` value -> model class.
KINDS: dict[str, type[BaseModel]] = {
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
        raise _translate(exc, cls, data, lines, p) from None
    model._source = p
    model._lines = dict(lines)
    check_file(model)
    return model  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# pydantic errors -> one readable message with a line
# --------------------------------------------------------------------------------------------


def _data_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """Keep the parts of a pydantic ``loc`` that index into ``data`` (drops union tags etc.)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and part.isdigit():
            key = int(part)  # dict[int, ...] keys appear as strings in some locs
            if key in cur:
                out.append(key)
                cur = cur[key]
    return tuple(out)


def _get(data: Any, loc: Loc) -> Any:
    cur = data
    for part in loc:
        cur = cur[part]
    return cur


def _model_at(cls: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (for listing its allowed keys)."""
    cur: Any = cls
    for part in loc:
        if isinstance(part, int):
            cur = _unwrap(cur, container=True)
        elif isinstance(cur, type) and issubclass(cur, BaseModel):
            field = cur.model_fields.get(part)
            if field is None:
                return None
            cur = _unwrap(field.annotation, container=False)
        else:
            return None
    cur = _unwrap(cur, container=False)
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _unwrap(tp: Any, *, container: bool) -> Any:
    """Strip Optional/Annotated; with ``container``, return the item type of a list."""
    for _ in range(5):
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            tp = args[0]
        elif origin in (typing.Union, types.UnionType):
            non_none = [a for a in args if a is not type(None)]
            tp = non_none[0] if len(non_none) == 1 else tp
            if len(non_none) != 1:
                return tp
        elif container and origin in (list, tuple):
            return _unwrap(args[0], container=False)
        else:
            return tp
    return tp


def _short(value: Any) -> str:
    text = (
        repr(value)
        if not isinstance(value, list | tuple)
        else "[" + ", ".join(repr(v) for v in value) + "]"
    )
    return text if len(text) <= 80 else text[:77] + "..."


def _message(err: dict[str, Any], cls: type[BaseModel], data: Any, loc: Loc) -> tuple[Loc, str]:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        parent = _model_at(cls, loc[:-1])
        allowed = sorted(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return loc, f"unknown key {key!r}{hint}{listing}"
    if kind == "missing" and "color" not in loc:
        return loc, f"missing required key {err['loc'][-1]!r}"
    # a colour anywhere: report on the whole colour value
    if "color" in loc:
        cloc = loc[: loc.index("color") + 1]
        return cloc, f"a colour is three integers 0..255, got {_short(_get(data, cloc))}"
    if "[key]" in err["loc"] and loc:
        return loc, f"the key must be an integer, got {loc[-1]!r}"
    got = _short(_get(data, loc)) if loc else ""
    msg = err["msg"]
    if kind == "literal_error":
        msg = "must be " + msg.removeprefix("Input should be ")
    elif kind == "int_type":
        msg = "must be an integer"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] in ("name", "to", "parent"):
        msg = "must be lowercase letters, digits, '_', '-' or '.' (no spaces)"
        if cls is DatasetTaxonomy and loc[-1] == "name" and len(loc) > 1:
            msg = "must not start or end with whitespace"
    return loc, f"{msg}, got {got}" if loc else msg


def _translate(
    exc: ValidationError, cls: type[BaseModel], data: Any, lines: LineIndex, path: Path | None
) -> TaxonomyError:
    problems: list[tuple[int, Loc, str]] = []
    seen: set[tuple[Loc, str]] = set()
    for err in exc.errors(include_url=False):
        loc = _data_loc(data, err["loc"])  # a missing key's loc stops at its mapping
        loc, msg = _message(err, cls, data, loc)
        if (loc, msg) in seen:
            continue
        seen.add((loc, msg))
        line = lines.line(loc) or 0
        where = fmt_loc(loc)
        problems.append((line, loc, f"{where}: {msg}" if where else msg))
    problems.sort(key=lambda p: p[0])
    line, _, first = problems[0]
    if len(problems) > 1:
        rest = "; ".join(f"line {ln}: {m}" if ln else m for ln, _, m in problems[1:6])
        more = f" (+{len(problems) - 6} more)" if len(problems) > 6 else ""
        first += f"\n  also: {rest}{more}"
    err = TaxonomyError(first, path=path, line=line or None)
    err.problems = [(ln or None, m) for ln, _, m in problems]  # type: ignore[attr-defined]
    return err
