"""Checks within one file that pydantic's per-field validation cannot make, each naming the line.

* dataset taxonomy: duplicate class ids and names; encodings with duplicate names, ``special``
  entries that point at undeclared classes or collide with another class's regular file value;
  a ``layout:`` naming an undeclared encoding, or reading ``rgb`` labels while a class has no
  colour or two classes share one.
* ontology: nodes and special values share one id space and one name space (no duplicates);
  parents exist and form no cycle; ids fit the output dtype; exactly one special value with role
  ``ignore``, at most one ``background``.
* mapping: no native id has two rules.

Checks across files (a mapping against its dataset taxonomy and ontology) are in
:mod:`harmonize.taxonomy.compile`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from harmonize._yaml import Loc, fmt_loc
from harmonize.errors import TaxonomyError
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology

__all__ = [
    "UINT_MAX",
    "check_dataset",
    "check_file",
    "check_mapping",
    "check_ontology",
    "ontology_dtype",
    "smallest_uint",
]

#: Largest value of each unsigned output dtype, smallest first.
UINT_MAX: dict[str, int] = {"uint8": 255, "uint16": 65535, "uint32": 2**32 - 1}


def smallest_uint(value: int) -> str | None:
    """Name of the smallest unsigned dtype that holds ``0..value``, or ``None`` if none does."""
    for name, top in UINT_MAX.items():
        if value <= top:
            return name
    return None


def ontology_dtype(ontology: Ontology) -> str:
    """The ontology's output dtype: its ``dtype``, or the smallest unsigned type for its ids."""
    if ontology.dtype is not None:
        return ontology.dtype
    top = max([*(n.id for n in ontology.nodes), *(s.id for s in ontology.special)])
    return smallest_uint(top) or "uint64"  # only reached on an unchecked ontology


def _fail(model: BaseModel, loc: Loc, message: str) -> TaxonomyError:
    """A TaxonomyError at ``loc`` of ``model``'s source (when it was loaded from a file)."""
    path: Path | None = getattr(model, "_source", None)
    lines = getattr(model, "_lines", None) or {}
    line = None
    parts = tuple(loc)
    while True:
        if parts in lines:
            line = lines[parts]
            break
        if not parts:
            break
        parts = parts[:-1]
    where = fmt_loc(loc)
    return TaxonomyError(f"{where}: {message}" if where else message, path=path, line=line)


def _duplicates(items: Iterable[tuple[Loc, object]]) -> tuple[Loc, Loc, object] | None:
    """First (first loc, repeat loc, value) of a value seen twice."""
    seen: dict[object, Loc] = {}
    for loc, value in items:
        if value in seen:
            return seen[value], loc, value
        seen[value] = loc
    return None


def _line_of(model: BaseModel, loc: Loc) -> int | None:
    lines = getattr(model, "_lines", None) or {}
    return lines.get(tuple(loc))


def _at(model: BaseModel, loc: Loc) -> str:
    line = _line_of(model, loc)
    return f"line {line}" if line is not None else fmt_loc(loc)


def check_dataset(tax: DatasetTaxonomy) -> None:
    """Raise :class:`TaxonomyError` on the first within-file problem of a dataset taxonomy."""
    dup = _duplicates((("classes", i, "id"), c.id) for i, c in enumerate(tax.classes))
    if dup:
        first, again, value = dup
        raise _fail(tax, again, f"duplicate class id {value} (first at {_at(tax, first[:2])})")
    dup = _duplicates((("classes", i, "name"), c.name) for i, c in enumerate(tax.classes))
    if dup:
        first, again, value = dup
        raise _fail(tax, again, f"duplicate class name {value!r} (first at {_at(tax, first[:2])})")
    dup = _duplicates((("encodings", i, "name"), e.name) for i, e in enumerate(tax.encodings))
    if dup:
        first, again, value = dup
        raise _fail(tax, again, f"duplicate encoding name {value!r} (first at {_at(tax, first)})")
    names = {c.id: c.name for c in tax.classes}
    for i, enc in enumerate(tax.encodings):
        targets = set(enc.special.values())
        regular = {c.id + enc.offset: c.id for c in tax.classes if c.id not in targets}
        for value, cid in enc.special.items():
            loc = ("encodings", i, "special", value)
            if cid not in names:
                raise _fail(
                    tax, loc, f"file value {value} maps to class id {cid}, which no class declares"
                )
            other = regular.get(value)
            if other is not None and other != cid:
                raise _fail(
                    tax,
                    loc,
                    f"file value {value} is special for class {cid} ({names[cid]!r}) but is also "
                    f"the regular value of class {other} ({names[other]!r}) under offset "
                    f"{enc.offset}",
                )

    if tax.layout is not None:
        _check_layout(tax)


def _check_layout(tax: DatasetTaxonomy) -> None:
    layout = tax.layout
    assert layout is not None
    if layout.encoding is not None and layout.encoding not in {e.name for e in tax.encodings}:
        known = [e.name for e in tax.encodings]
        raise _fail(
            tax,
            ("layout", "encoding"),
            f"encoding {layout.encoding!r} is not declared under `encodings` (declared: {known})",
        )
    if layout.semantic.encoding == "rgb":
        seen: dict[tuple[int, int, int], int] = {}
        for i, c in enumerate(tax.classes):
            if c.color is None:
                raise _fail(
                    tax,
                    ("classes", i),
                    f"class {c.name!r} has no color, but layout.semantic.encoding is rgb: every "
                    "class needs the colour its label files use",
                )
            if c.color in seen:
                raise _fail(
                    tax,
                    ("classes", i, "color"),
                    f"class {c.name!r} has the colour {list(c.color)} of class "
                    f"{tax.classes[seen[c.color]].name!r}; rgb labels need one colour per class",
                )
            seen[c.color] = i


def check_ontology(onto: Ontology) -> None:
    """Raise :class:`TaxonomyError` on the first within-file problem of an ontology."""
    entries: list[tuple[Loc, int, str]] = [
        *((("special", i), s.id, s.name) for i, s in enumerate(onto.special)),
        *((("nodes", i), n.id, n.name) for i, n in enumerate(onto.nodes)),
    ]
    dup = _duplicates(((*loc, "id"), cid) for loc, cid, _ in entries)
    if dup:
        first, again, value = dup
        raise _fail(onto, again, f"duplicate id {value} (first at {_at(onto, first[:2])})")
    dup = _duplicates(((*loc, "name"), name) for loc, _, name in entries)
    if dup:
        first, again, value = dup
        raise _fail(onto, again, f"duplicate name {value!r} (first at {_at(onto, first[:2])})")
    # dtype
    top = max(cid for _, cid, _ in entries)
    if onto.dtype is not None:
        limit = UINT_MAX[onto.dtype]
        for loc, cid, name in entries:
            if cid > limit:
                raise _fail(
                    onto,
                    (*loc, "id"),
                    f"id {cid} of {name!r} does not fit dtype {onto.dtype} (0..{limit})",
                )
    elif smallest_uint(top) is None:
        loc = next(loc for loc, cid, _ in entries if cid == top)
        raise _fail(onto, (*loc, "id"), f"id {top} does not fit any unsigned dtype (max uint32)")
    # special roles
    ignores = [i for i, s in enumerate(onto.special) if s.role == "ignore"]
    if len(ignores) != 1:
        what = "none" if not ignores else f"{len(ignores)}"
        loc = ("special", ignores[1]) if len(ignores) > 1 else ("special",)
        raise _fail(onto, loc, f"exactly one special value must have role 'ignore', found {what}")
    bgs = [i for i, s in enumerate(onto.special) if s.role == "background"]
    if len(bgs) > 1:
        raise _fail(
            onto, ("special", bgs[1]), "at most one special value may have role 'background'"
        )
    # parents
    index = {n.name: i for i, n in enumerate(onto.nodes)}
    specials = {s.name for s in onto.special}
    for i, n in enumerate(onto.nodes):
        if n.parent is None or n.parent in index:
            continue
        hint = " (a special value cannot be a parent)" if n.parent in specials else ""
        raise _fail(
            onto, ("nodes", i, "parent"), f"unknown parent {n.parent!r} of node {n.name!r}{hint}"
        )
    parents = {n.name: n.parent for n in onto.nodes}
    done: set[str] = set()
    for n in onto.nodes:
        path: list[str] = []
        cur: str | None = n.name
        while cur is not None and cur not in done:
            if cur in path:
                cycle = [*path[path.index(cur) :], cur]
                start = index[cur]
                raise _fail(
                    onto,
                    ("nodes", start, "parent"),
                    "cycle in parents: " + " -> ".join(cycle),
                )
            path.append(cur)
            cur = parents[cur]
        done.update(path)


def check_mapping(mapping: Mapping) -> None:
    """Raise :class:`TaxonomyError` on the first within-file problem of a mapping."""
    dup = _duplicates((("rules", i, "id"), r.id) for i, r in enumerate(mapping.rules))
    if dup:
        first, again, value = dup
        raise _fail(
            mapping,
            again[:2],
            f"native id {value} has two rules (first at {_at(mapping, first[:2])})",
        )
    for i, r in enumerate(mapping.rules):
        if not r.covers:
            continue
        if r.kind != "coarse":
            raise _fail(
                mapping,
                ("rules", i, "kind"),
                f"rules[{i}]: a rule with `covers` is kind 'coarse' (the class stands for several "
                f"nodes), not {r.kind!r}",
            )
        if len(set(r.covers)) != len(r.covers) or (len(r.covers) < 2 and r.to in r.covers):
            raise _fail(
                mapping,
                ("rules", i, "covers"),
                f"rules[{i}].covers: list distinct nodes, more than the rule's own target "
                f"(got {r.covers})",
            )


def check_file(model: DatasetTaxonomy | Ontology | Mapping) -> None:
    """Run the within-file checks of ``model``'s kind."""
    if isinstance(model, DatasetTaxonomy):
        check_dataset(model)
    elif isinstance(model, Ontology):
        check_ontology(model)
    elif isinstance(model, Mapping):
        check_mapping(model)
