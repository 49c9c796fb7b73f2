"""Compile a (dataset taxonomy, ontology, mapping) triple, and optionally a level, into lookup tables.

The result is a :class:`harmonize.types.CompiledMapping`: a table over the *file values* of one
encoding of the dataset (``lut[v - offset]`` is the output id of file value ``v``), which values the
taxonomy declares, which classes keep their instances, and a JSON-serialisable report of every merge,
coarse or approximate rule, roll-up by the level and decision of the coarse policy.

Rules of the compiler (each violation is a :class:`~harmonize.errors.TaxonomyError` naming the
mapping file and line):

* the mapping's ``dataset`` and ``ontology`` name the given models;
* every native class id has exactly one rule; no rule names an id the taxonomy does not declare;
  a rule's ``name``, when given, equals the taxonomy's name for that id (compared case-insensitively,
  with runs of whitespace collapsed) -- this catches tables shifted by one;
* a rule's ``to`` names an ontology node or special value; its ``covers`` (a one-to-many class)
  names nodes, among them ``to`` when ``to`` is a node.

Encoding: file value ``v`` decodes to class ``special[v]`` if ``v`` is a ``special`` key, else to
``v - offset``; a class that is the target of a ``special`` entry is written only by its special
value(s). No encoding (or ``encoding=None`` on a taxonomy without encodings) is the identity.

Levels: a :class:`~harmonize.taxonomy.models.Level` cut; each target node rolls up to its nearest
ancestor-or-self in the cut. A target with no such node (it is coarser than the cut, or no cut node
covers it) follows ``coarse_policy``: ``"keep"`` outputs the node's own id (it joins the output
classes), ``"ignore"`` outputs ignore and drops instances. Both are listed in the report.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from harmonize.errors import ConfigError, TaxonomyError
from harmonize.taxonomy import hierarchy as h
from harmonize.taxonomy.checks import check_dataset, check_mapping, check_ontology, ontology_dtype
from harmonize.taxonomy.loader import line_of, source_of
from harmonize.taxonomy.models import DatasetTaxonomy, Encoding, Level, Mapping, Ontology
from harmonize.types import CompiledMapping

__all__ = [
    "CoarsePolicy",
    "LevelSpec",
    "compile_mapping",
    "file_values",
    "lookup_tables",
    "resolve_level",
]

CoarsePolicy = Literal["keep", "ignore"]

#: What :func:`compile_mapping` accepts as a level: a Level, a depth, node names, or a dict.
LevelSpec = Level | int | Iterable[str] | dict[str, Any] | None


def _err(model: Any, loc: tuple[str | int, ...], message: str) -> TaxonomyError:
    return TaxonomyError(message, path=source_of(model), line=line_of(model, loc))


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()


def _as_level(level: LevelSpec) -> Level | None:
    if level is None or isinstance(level, Level):
        return level
    if isinstance(level, bool):
        raise ConfigError(f"level must be a depth, node names or a Level, not {level!r}")
    try:
        if isinstance(level, int):
            return Level(depth=level)
        if isinstance(level, dict):
            return Level.model_validate(level)
        if isinstance(level, str):
            return Level(nodes=[level])
        return Level(nodes=list(level))
    except ValidationError as exc:
        problems = "; ".join(e["msg"] for e in exc.errors(include_url=False))
        raise ConfigError(f"invalid level {level!r}: {problems}") from None


def resolve_level(ontology: Ontology, level: LevelSpec) -> list[str] | None:
    """The cut (node names, in ontology order) a level asks for; ``None`` for no level.

    Raises
    ------
    TaxonomyError
        When the level names a node the ontology lacks, or a node and one of its ancestors.
    """
    lv = _as_level(level)
    if lv is None:
        return None
    nodes = h.node_map(ontology)
    if lv.depth is not None:
        return h.cut_at_depth(ontology, lv.depth)
    names = list(dict.fromkeys(lv.nodes or []))
    unknown = [n for n in names if n not in nodes]
    if unknown:
        hints = []
        for n in unknown:
            close = difflib.get_close_matches(n, list(nodes), n=1)
            hints.append(f"{n!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise TaxonomyError(
            f"level names unknown node(s) of ontology {ontology.name!r}: {', '.join(hints)}",
            path=source_of(ontology),
        )
    pair = h.is_antichain(ontology, names)
    if pair is not None:
        raise TaxonomyError(
            f"level is not a cut of ontology {ontology.name!r}: {pair[0]!r} is an ancestor of "
            f"{pair[1]!r}; list one of them",
            path=source_of(ontology),
        )
    return [n.name for n in ontology.nodes if n.name in set(names)]


def _pick_encoding(tax: DatasetTaxonomy, encoding: str | None) -> Encoding | None:
    if encoding is None:
        return tax.encodings[0] if tax.encodings else None
    for enc in tax.encodings:
        if enc.name == encoding:
            return enc
    known = ", ".join(e.name for e in tax.encodings) or "none"
    raise TaxonomyError(
        f"dataset {tax.name!r} has no encoding {encoding!r} (known: {known})",
        path=source_of(tax),
        line=line_of(tax, ("encodings",)),
    )


def file_values(tax: DatasetTaxonomy, encoding: Encoding | None) -> dict[int, int]:
    """File value -> native class id under ``encoding`` (``None`` = identity)."""
    if encoding is None:
        return {c.id: c.id for c in tax.classes}
    targets = set(encoding.special.values())
    out = {c.id + encoding.offset: c.id for c in tax.classes if c.id not in targets}
    out.update(encoding.special)
    return out


def lookup_tables(
    rows: Iterable[tuple[int, int, bool]], *, lo: int, hi: int, fill: int, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The read-only tables of a :class:`~harmonize.types.CompiledMapping` over values ``lo..hi``.

    The one table builder of :func:`compile_mapping` (file values -> ontology ids) and
    :func:`~harmonize.taxonomy.reverse.evaluation_mapping` (ontology ids -> target ids).

    Parameters
    ----------
    rows : iterable of (int, int, bool)
        ``(value, output id, keep instances)`` for every declared value.
    lo, hi : int
        Smallest and largest value the tables cover (index ``value - lo``).
    fill : int
        Output of undeclared values (the ignore id).
    dtype : numpy.dtype
        Output dtype of ``lut``.

    Returns
    -------
    lut, declared, keep_instances : numpy.ndarray
        ``(hi - lo + 1,)`` outputs (``dtype``), declared flags and instance flags (bool).
    """
    n = hi - lo + 1
    lut = np.full(n, fill, dtype=dtype)
    declared = np.zeros(n, dtype=bool)
    keep_instances = np.zeros(n, dtype=bool)
    for value, out, keep in rows:
        lut[value - lo] = out
        declared[value - lo] = True
        keep_instances[value - lo] = keep
    for arr in (lut, declared, keep_instances):
        arr.setflags(write=False)
    return lut, declared, keep_instances


def compile_mapping(
    taxonomy: DatasetTaxonomy,
    ontology: Ontology,
    mapping: Mapping,
    level: LevelSpec = None,
    *,
    coarse_policy: CoarsePolicy = "keep",
    encoding: str | None = None,
    unknown_policy: Literal["error", "ignore"] = "error",
) -> CompiledMapping:
    """Compile ``mapping`` from ``taxonomy`` onto ``ontology`` into lookup tables.

    Parameters
    ----------
    taxonomy, ontology, mapping
        Loaded (or Python-built) models; errors name their files and lines when they were loaded.
    level : Level, int, iterable of str or dict, optional
        A cut of the ontology: ``Level(nodes=[...])`` / a list of node names, or ``Level(depth=d)``
        / an int. ``None`` outputs every target node at its own id.
    coarse_policy : {"keep", "ignore"}
        For a target the level's cut does not cover (coarser than the cut, or beside it): output
        it at its own id, or output ignore (dropping instances).
    encoding : str, optional
        Name of the taxonomy's encoding the table is indexed by; default its first (identity when it
        has none).
    unknown_policy : {"error", "ignore"}
        Stored on the result for the engine: what to do with undeclared values.

    Returns
    -------
    CompiledMapping
        ``lut`` (``out_dtype``, shape ``(max - min + 1,)`` over file values), ``declared``,
        ``keep_instances``, ``offset`` (the smallest file value), ``class_names`` and ``report``.

    Raises
    ------
    TaxonomyError
        On any inconsistency between the three files, or a bad level.
    ConfigError
        On an unknown policy name.

    Examples
    --------
    CoNSeP onto the consep-4 ontology:

    >>> from harmonize.taxonomy import load_mapping, load_ontology, load_taxonomy
    >>> tax = load_taxonomy("consep")
    >>> cm = compile_mapping(tax, load_ontology("consep-4"), load_mapping("consep", "consep-4"))
    >>> cm.lut.tolist(), cm.out_dtype
    ([0, 1, 2, 3, 3, 4, 4, 4], dtype('uint8'))
    >>> [cm.class_names[int(v)] for v in cm.lut[3:5]]  # both epithelial classes
    ['epithelial', 'epithelial']
    """
    if coarse_policy not in ("keep", "ignore"):
        raise ConfigError(f"coarse_policy must be 'keep' or 'ignore', not {coarse_policy!r}")
    if unknown_policy not in ("error", "ignore"):
        raise ConfigError(f"unknown_policy must be 'error' or 'ignore', not {unknown_policy!r}")
    check_dataset(taxonomy)
    check_ontology(ontology)
    check_mapping(mapping)
    if mapping.dataset != taxonomy.name:
        raise _err(
            mapping,
            ("dataset",),
            f"dataset: this mapping is for {mapping.dataset!r}, but the taxonomy given is "
            f"{taxonomy.name!r}",
        )
    if mapping.ontology != ontology.name:
        raise _err(
            mapping,
            ("ontology",),
            f"ontology: this mapping is onto {mapping.ontology!r}, but the ontology given is "
            f"{ontology.name!r}",
        )

    natives = {c.id: c for c in taxonomy.classes}
    nodes = h.node_map(ontology)
    specials = {s.name: s for s in ontology.special}
    ignore_id = next(s.id for s in ontology.special if s.role == "ignore")
    bg = [s.id for s in ontology.special if s.role == "background"]
    background_id = bg[0] if bg else None

    # ---- rules against the taxonomy and the ontology ----
    rule_of: dict[int, int] = {}
    for i, rule in enumerate(mapping.rules):
        if rule.id not in natives:
            raise _err(
                mapping,
                ("rules", i, "id"),
                f"rules[{i}]: native id {rule.id} is not declared by dataset taxonomy "
                f"{taxonomy.name!r}",
            )
        want = natives[rule.id].name
        if rule.name is not None and _norm(rule.name) != _norm(want):
            raise _err(
                mapping,
                ("rules", i, "name"),
                f"rules[{i}]: native id {rule.id} is {want!r} in the dataset taxonomy, not "
                f"{rule.name!r} (is the table shifted by one?)",
            )
        if rule.to not in nodes and rule.to not in specials:
            close = difflib.get_close_matches(rule.to, [*nodes, *specials], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _err(
                mapping,
                ("rules", i, "to"),
                f"rules[{i}]: {rule.to!r} is neither a node nor a special value of ontology "
                f"{ontology.name!r}{hint}",
            )
        for j, name in enumerate(rule.covers):
            if name not in nodes:
                close = difflib.get_close_matches(name, list(nodes), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise _err(
                    mapping,
                    ("rules", i, "covers", j),
                    f"rules[{i}].covers: {name!r} is not a node of ontology "
                    f"{ontology.name!r}{hint}",
                )
        if rule.covers and rule.to in nodes and rule.to not in rule.covers:
            raise _err(
                mapping,
                ("rules", i, "covers"),
                f"rules[{i}].covers: the rule's target {rule.to!r} is a node, so it is one of the "
                "nodes the class covers; list it",
            )
        rule_of[rule.id] = i
    missing = [c for c in taxonomy.classes if c.id not in rule_of]
    if missing:
        listing = ", ".join(f"{c.id} {c.name!r}" for c in missing)
        raise _err(
            mapping,
            ("rules",),
            f"rules: {len(missing)} native class(es) of {taxonomy.name!r} have no rule: {listing}. "
            "Map each to a node, or to a special value (e.g. 'ignore') explicitly",
        )

    # ---- level ----
    level = _as_level(level)
    cut = resolve_level(ontology, level)
    cut_set = set(cut) if cut is not None else None

    # ---- per native class: output id, instance policy, report entries ----
    out_of: dict[int, int] = {}
    keep_of: dict[int, bool] = {}
    report: dict[str, Any] = {
        "dataset": taxonomy.name,
        "ontology": ontology.name,
        "encoding": None,
        "offset": 0,
        "level": None if level is None else level.model_dump(exclude_none=True),
        "cut": cut,
        "coarse_policy": coarse_policy,
        "unknown_policy": unknown_policy,
        "outputs": [],
        "merged": [],
        "coarse": [],
        "approx": [],
        "rolled_up": [],
        "policy": [],
        "ignored": [],
        "instances_dropped": [],
        "warnings": [],
    }
    extra_outputs: set[str] = set()
    sources: dict[int, list[dict[str, Any]]] = {}
    for cls in taxonomy.classes:
        rule = mapping.rules[rule_of[cls.id]]
        entry = {"id": cls.id, "name": cls.name, "to": rule.to, "kind": rule.kind}
        if rule.kind in ("coarse", "approx"):
            extra = {"covers": list(rule.covers)} if rule.covers else {}
            report[rule.kind].append({**entry, "note": rule.note, **extra})
        keep = cls.instances
        drop_reason = None
        if rule.to in specials:
            sv = specials[rule.to]
            out = sv.id
            if sv.role == "ignore":
                report["ignored"].append({"id": cls.id, "name": cls.name, "reason": "rule"})
            drop_reason = f"maps to special value {sv.name!r}"
            keep = False
            if cls.role == "class":
                report["warnings"].append(
                    f"class {cls.id} {cls.name!r} maps to special value {sv.name!r} ({sv.role})"
                )
        else:
            target = rule.to
            output: str | None = target
            if cut_set is not None:
                up = h.roll_up(ontology, target, cut_set)
                if up is None:
                    below = set(h.descendants(ontology, target)) & cut_set
                    reason = "coarser than the level" if below else "not covered by the level"
                    item = {**entry, "reason": reason, "action": coarse_policy}
                    if below:
                        item["cut_below"] = [n for n in cut or [] if n in below]
                    report["policy"].append(item)
                    if coarse_policy == "ignore":
                        output = None
                        report["ignored"].append(
                            {"id": cls.id, "name": cls.name, "reason": f"policy: {reason}"}
                        )
                        drop_reason = f"sent to ignore by coarse_policy ({reason})"
                        keep = False
                    else:
                        extra_outputs.add(target)
                elif up != target:
                    output = up
                    report["rolled_up"].append({**entry, "output": up})
            if output is None:
                out = ignore_id
            else:
                out = nodes[output].id
                thing = h.is_thing(ontology, target) and h.is_thing(ontology, output)
                if keep and not thing:
                    keep = False
                    drop_reason = f"{output!r} is not a thing class in the ontology"
            if cls.role in ("void", "unlabeled"):
                report["warnings"].append(
                    f"{cls.role} value {cls.id} {cls.name!r} maps to class {rule.to!r}"
                )
        if cls.instances and not keep and drop_reason:
            report["instances_dropped"].append(
                {"id": cls.id, "name": cls.name, "reason": drop_reason}
            )
        out_of[cls.id] = out
        keep_of[cls.id] = bool(keep)
        sources.setdefault(out, []).append(entry)

    # ---- names of the output ids ----
    names_by_id: dict[int, tuple[str, str]] = {s.id: (s.name, s.role) for s in ontology.special}
    if cut_set is None:
        out_nodes = [n.name for n in ontology.nodes]
    else:
        out_nodes = [n.name for n in ontology.nodes if n.name in cut_set or n.name in extra_outputs]
    for name in out_nodes:
        names_by_id[nodes[name].id] = (name, "class")
    for out in sources:
        if out not in names_by_id:  # pragma: no cover - every output is a special or an out node
            names_by_id[out] = (next(n.name for n in ontology.nodes if n.id == out), "class")
    class_names = {k: names_by_id[k][0] for k in sorted(names_by_id)}
    for out in sorted(sources):
        item = {
            "id": out,
            "name": names_by_id[out][0],
            "role": names_by_id[out][1],
            "sources": sources[out],
        }
        report["outputs"].append(item)
        if len(sources[out]) > 1 and names_by_id[out][1] == "class":
            report["merged"].append(item)

    # ---- the table over file values ----
    enc = _pick_encoding(taxonomy, encoding)
    values = file_values(taxonomy, enc)
    lo, hi = min(values), max(values)
    dtype = np.dtype(ontology_dtype(ontology))
    lut, declared, keep_instances = lookup_tables(
        ((v, out_of[cid], keep_of[cid]) for v, cid in values.items()),
        lo=lo,
        hi=hi,
        fill=ignore_id,
        dtype=dtype,
    )
    report["encoding"] = enc.name if enc is not None else None
    report["offset"] = lo
    return CompiledMapping(
        dataset=taxonomy.name,
        ontology=ontology.name,
        lut=lut,
        declared=declared,
        keep_instances=keep_instances,
        offset=lo,
        out_dtype=dtype,
        background=background_id,
        ignore=ignore_id,
        unknown_policy=unknown_policy,
        class_names=class_names,
        report=report,
    )
