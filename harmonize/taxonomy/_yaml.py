"""YAML with line numbers: compose with PyYAML's safe loader, build plain data and a line index.

PyYAML's ``safe_load`` throws away where each value came from and silently keeps the last of two
duplicate keys. Here the document is *composed* (every node keeps its start mark), then walked into
plain Python data (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``) while a
:class:`LineIndex` records the 1-based line of every mapping key and sequence item. Tags are
resolved with the safe loader's rules only, so ``!!python/object`` and custom tags are errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from harmonize.errors import MissingFileError, TaxonomyError

__all__ = ["LineIndex", "Loc", "fmt_loc", "parse_yaml", "read_text", "read_yaml"]

#: A location inside a document: mapping keys and sequence indices from the root.
Loc = tuple[str | int, ...]

#: libyaml's parser when PyYAML was built with it (about 10x faster); same safe tags and marks.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


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


def read_yaml(path: str | PathLike[str]) -> tuple[Any, LineIndex]:
    """Read a YAML file into plain data and a line index.

    Raises
    ------
    MissingFileError
        When ``path`` does not exist.
    TaxonomyError
        On a syntax error, a duplicate key, an unsafe tag, or an empty document.
    """
    p = Path(path)
    return parse_yaml(read_text(p), p)


def read_text(path: Path) -> str:
    """Read a UTF-8 text file; typed errors naming ``path``."""
    p = path
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingFileError("no such taxonomy file", path=p) from None
    except IsADirectoryError:
        raise TaxonomyError("is a directory, not a YAML file", path=p) from None
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"not UTF-8 text ({exc.reason})", path=p) from None


def parse_yaml(text: str, path: str | PathLike[str] | None = None) -> tuple[Any, LineIndex]:
    """Parse YAML ``text`` (from ``path``, for messages) into plain data and a line index."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            what = " ".join(x for x in (exc.context, exc.problem) if x)
            raise TaxonomyError(f"YAML syntax error: {what}", path=path, line=line) from None
        except yaml.YAMLError as exc:
            raise TaxonomyError(f"YAML error: {exc}", path=path) from None
        if node is None:
            raise TaxonomyError("the file is empty (expected a YAML mapping)", path=path, line=1)
        lines = LineIndex()
        lines[()] = node.start_mark.line + 1
        data = _Walker(loader, path, lines).walk(node, ())
        return data, lines
    finally:
        loader.dispose()


class _Walker:
    def __init__(self, loader: Any, path: Any, lines: LineIndex) -> None:
        self.loader = loader
        self.path = path
        self.lines = lines
        self.active: set[int] = set()

    def error(self, node: yaml.Node, message: str) -> TaxonomyError:
        return TaxonomyError(message, path=self.path, line=node.start_mark.line + 1)

    def walk(self, node: yaml.Node, loc: Loc) -> Any:
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
        raise self.error(node, f"unsupported YAML node {node.id}")  # pragma: no cover

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
