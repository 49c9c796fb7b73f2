"""YAML with line numbers, and pydantic validation whose errors name the file and line.

Shared by taxonomy files (:class:`~harmonize.errors.TaxonomyError`) and run configs
(:class:`~harmonize.errors.ConfigError`): every function takes the error class to raise.

PyYAML's ``safe_load`` throws away where each value came from and silently keeps the last of two
duplicate keys. Here the document is *composed* (every node keeps its start mark), then walked into
plain Python data (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``) while a
:class:`LineIndex` records the 1-based line of every mapping key and sequence item. Tags are
resolved with the safe loader's rules only, so ``!!python/object`` and custom tags are errors.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from harmonize.errors import HarmonizeError, MissingFileError, TaxonomyError

__all__ = [
    "LineIndex",
    "Loc",
    "fmt_loc",
    "load_model",
    "looks_like_path",
    "parse_yaml",
    "read_text",
    "read_yaml",
    "translate_validation_error",
]

#: A location inside a document: mapping keys and sequence indices from the root.
Loc = tuple[str | int, ...]

#: libyaml's parser when PyYAML was built with it (about 10x faster); same safe tags and marks.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


#: Suffixes that make a taxonomy reference a file rather than a shipped name.
YAML_SUFFIXES = (".yaml", ".yml")


def looks_like_path(name: str | PathLike[str]) -> bool:
    """Whether a taxonomy/ontology/mapping reference is a file path (``x.yml``, ``dir/x``,
    a path object) rather than the name of a shipped file (``nuclei``). The one such check:
    the catalog, run configs, plans and coverage reports all use it."""
    import os

    if isinstance(name, PathLike):
        return True
    return name.endswith(YAML_SUFFIXES) or "/" in name or os.sep in name


class LineIndex(dict[Loc, int]):
    """Map from a location to the 1-based line where it starts (``()`` is the document)."""

    def line(self, loc: Iterable[str | int]) -> int | None:
        """Line of ``loc``, or of its deepest ancestor that is in the index."""
        parts = tuple(loc)
        while True:
            if parts in self:
                return self[parts]
            if not parts:
                return None
            parts = parts[:-1]


def fmt_loc(loc: Iterable[str | int]) -> str:
    """Format a location as ``classes[3].color``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_yaml(
    path: str | PathLike[str], error: type[HarmonizeError] = TaxonomyError
) -> tuple[Any, LineIndex]:
    """Read a YAML file into plain data and a line index.

    Raises
    ------
    MissingFileError
        When ``path`` does not exist.
    error
        (default :class:`TaxonomyError`) on a syntax error, a duplicate key, an unsafe tag, or an
        empty document.
    """
    p = Path(path)
    return parse_yaml(read_text(p, error), p, error)


def read_text(path: Path, error: type[HarmonizeError] = TaxonomyError) -> str:
    """Read a UTF-8 text file; typed errors naming ``path``."""
    p = path
    what = "taxonomy" if error is TaxonomyError else "YAML"
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingFileError(f"no such {what} file", path=p) from None
    except IsADirectoryError:
        raise error("is a directory, not a YAML file", path=p) from None
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text ({exc.reason})", path=p) from None


def parse_yaml(
    text: str,
    path: str | PathLike[str] | None = None,
    error: type[HarmonizeError] = TaxonomyError,
) -> tuple[Any, LineIndex]:
    """Parse YAML ``text`` (from ``path``, for messages) into plain data and a line index."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            what = " ".join(x for x in (exc.context, exc.problem) if x)
            raise error(f"YAML syntax error: {what}", path=path, line=line) from None
        except yaml.YAMLError as exc:
            raise error(f"YAML error: {exc}", path=path) from None
        if node is None:
            raise error("the file is empty (expected a YAML mapping)", path=path, line=1)
        lines = LineIndex()
        lines[()] = node.start_mark.line + 1
        data = _Walker(loader, path, lines, error).walk(node, ())
        return data, lines
    finally:
        loader.dispose()


class _Walker:
    def __init__(
        self, loader: Any, path: Any, lines: LineIndex, error_cls: type[HarmonizeError]
    ) -> None:
        self.error_cls = error_cls
        self.loader = loader
        self.path = path
        self.lines = lines
        self.active: set[int] = set()
        self.seen: set[int] = set()

    def error(self, node: yaml.Node, message: str) -> HarmonizeError:
        return self.error_cls(message, path=self.path, line=node.start_mark.line + 1)

    def walk(self, node: yaml.Node, loc: Loc) -> Any:
        # an alias (*name) yields the anchored node a second time: refused at once, so a file of
        # nested aliases (a "billion laughs" bomb) fails in milliseconds instead of expanding
        if id(node) in self.seen:
            key = loc  # report at the key holding the alias (list items carry the anchor's mark)
            while key and isinstance(key[-1], int):
                key = key[:-1]
            raise self.error_cls(
                f"{fmt_loc(loc) or 'document'}: YAML anchors and aliases (&name / *name) are not "
                f"supported; write the value out (anchored at line {node.start_mark.line + 1})",
                path=self.path,
                line=self.lines.get(key, node.start_mark.line + 1),
            )
        self.seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if node.tag not in (_SEQ_TAG, _MAP_TAG):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise self.error(node, f"unsupported YAML tag {tag!r} (only plain lists and maps)")
        if id(node) in self.active:
            raise self.error(node, "recursive YAML alias (a node that contains itself)")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self.sequence(node, loc)
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, loc)
        finally:
            self.active.discard(id(node))
        raise self.error(node, f"unsupported YAML node {type(node).__name__}")  # pragma: no cover

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _TIMESTAMP_TAG:  # keep dates as written, never datetime objects
            return node.value
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self.error(node, f"unsupported YAML value: {exc.problem}") from None

    def sequence(self, node: yaml.SequenceNode, loc: Loc) -> list[Any]:
        out = []
        for i, item in enumerate(node.value):
            self.lines[(*loc, i)] = item.start_mark.line + 1
            out.append(self.walk(item, (*loc, i)))
        return out

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                raise self.error(key_node, "YAML merge keys (<<) are not supported; write keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, "a mapping key must be a plain value, not a list or map")
            key = self.scalar(key_node)
            if key in first_line:
                where = fmt_loc((*loc, key)) + ": " if isinstance(key, str | int) else ""
                raise self.error(
                    key_node,
                    f"{where}duplicate key {key!r} (first given at line {first_line[key]})",
                )
            first_line[key] = line
            if isinstance(key, str | int):
                self.lines[(*loc, key)] = line
            out[key] = self.walk(value_node, (*loc, key))
        return out


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


def _message(err: ErrorDetails, cls: type[BaseModel], data: Any, loc: Loc) -> tuple[Loc, str]:
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
        if "\\s" in str((err.get("ctx") or {}).get("pattern", "")) and len(loc) > 1:
            msg = "must not start or end with whitespace"  # free-text names (native classes)
    return loc, f"{msg}, got {got}" if loc else msg


def translate_validation_error(
    exc: ValidationError,
    cls: type[BaseModel],
    data: Any,
    lines: LineIndex,
    path: Path | None,
    error: type[HarmonizeError] = TaxonomyError,
) -> HarmonizeError:
    """One readable ``error`` for a pydantic ``ValidationError`` of ``data`` parsed from ``path``:
    the first problem by line leads (with its line), the others follow; all are in
    ``err.problems`` as ``(line, message)``."""
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
    out = error(first, path=path, line=line or None)
    out.problems = [(ln or None, m) for ln, _, m in problems]
    return out


def load_model[M: BaseModel](
    path: str | PathLike[str], cls: type[M], error: type[HarmonizeError], what: str = "YAML"
) -> M:
    """Read ``path`` and validate it as ``cls``; problems raise ``error`` with file and line."""
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"no such {what} file" if not p.exists() else "not a file", path=p)
    data, lines = read_yaml(p, error)
    if not isinstance(data, dict):
        raise error(f"expected a YAML mapping, got {type(data).__name__}", path=p, line=1)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise translate_validation_error(exc, cls, data, lines, p, error) from None
