"""Evaluation (reverse) mappings: from a shared ontology back onto one dataset's own classes.

A model trained on a merged store predicts ontology ids. To score it on a dataset's test split with
that dataset's own classes (and its own metrics), its output is rewritten into the dataset's ids.
:func:`evaluation_mapping` builds that rewrite as a :class:`~harmonize.types.CompiledMapping` over
ontology ids, so the same engine applies it (:func:`harmonize.engine.remap_semantic`,
:func:`harmonize.engine.remap_sample`).

Targets
-------
* a dataset: its native class ids (or, with ``encoding``, the file values of that encoding);
  each native class ``c`` *covers* the ontology node (or special value) its mapping sends it to,
  and the nodes its rule's ``covers`` lists (a one-to-many class: VOC ``chair`` covers mseg-194's
  chair_other, armchair, swivel_chair, stool and seat);
* an ontology reached through a dataset mapped onto both (``nuclei -> consep-4`` via ``consep``):
  target class ``y`` covers every node ``s(c)`` of the native classes ``c`` that the bridge's
  mapping onto the target sends to ``y``.

Bridges: without ``via``, the one dataset mapped onto both ontologies; when several are (``scene
-> cityscapes-19`` via Cityscapes, KITTI or BDD100K), the first (by name) whose covers contain
every other bridge's, class by class: the others then add nothing it does not say (KITTI repeats
Cityscapes; BDD100K's masks hold only the 19 classes, so it covers less). When none does (Mapillary
Vistas and IDD add scene nodes Cityscapes has no class for), all of them together, provided no
node is sent to two different target classes by two bridges (then ``via`` must choose); the
report's ``via`` names them all.

Rules, for each ontology id ``x`` (first that applies):

1. ``direct`` -- ``x`` is covered by a target class. Several (a **collision**: several dataset
   classes map onto one node, e.g. CoNSeP 3 and 4 -> consep-4 ``epithelial``): the one with the
   lowest non-negative id (for the ontology's ``ignore``: a ``void`` class first); the others are
   reported and cannot be recovered.
2. ``ancestor`` -- the nearest ancestor of ``x`` covered by a target class: the dataset's coarser
   class contains ``x`` (nuclei ``lymphocyte`` -> CoNSeP ``inflammatory``). Several ontology ids
   then **collapse** onto one dataset class.
3. ``descendant`` -- the target classes covering nodes below ``x``: exactly one -> that class;
   several -> ``ambiguous`` (``x`` is coarser than the dataset, e.g. nuclei ``epithelial`` onto
   CoNSeP's healthy / malignant epithelium) -> the target's ignore value.
4. ``unmatched`` -- no target class covers ``x``, its ancestors or descendants (nuclei ``dead`` onto
   CoNSeP) -> the target's ignore value, or with ``unmatched="background"`` the target's background
   class (right for datasets whose background means "none of our classes", e.g. PASCAL VOC).

Special values follow rule 1 only; an uncovered special goes to the target's ignore value.
The target's ignore value: the class the ontology's ``ignore`` maps to (rule 1), else a ``void``
class, else a value that is no class of the target (255 when free, else ``max + 1``), named
``"ignore"``. Nothing unknown ever becomes 0 unless 0 is the class that rule chose.
Target classes with a negative id (Cityscapes' license plate, -1) cannot be written by an unsigned
table; they are reported as unrecoverable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from harmonize.errors import ConfigError, TaxonomyError
from harmonize.taxonomy import hierarchy as h
from harmonize.taxonomy.catalog import list_files, load_mapping, load_ontology, load_taxonomy
from harmonize.taxonomy.checks import check_ontology, smallest_uint
from harmonize.taxonomy.compile import _pick_encoding, compile_mapping, file_values, lookup_tables
from harmonize.taxonomy.loader import source_of
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology
from harmonize.types import CompiledMapping

__all__ = ["Unmatched", "evaluation_mapping"]

Unmatched = Literal["ignore", "background"]


@dataclass(frozen=True)
class _Target:
    id: int  # the value written (class id, or file value under an encoding)
    name: str
    role: str  # "class", "background", "void", "unlabeled", "ambiguous", "ignore"
    thing: bool
    covers: frozenset[str]  # ontology node / special names


def _as_ontology(x: Ontology | str) -> Ontology:
    return x if isinstance(x, Ontology) else load_ontology(x)


def _dataset_targets(
    tax: DatasetTaxonomy, onto: Ontology, mapping: Mapping, encoding: str | None
) -> list[_Target]:
    compile_mapping(tax, onto, mapping)  # every consistency check, with file and line
    value_of = _value_of(tax, encoding)
    rule = {r.id: r for r in mapping.rules}
    return [
        _Target(
            value_of[c.id],
            c.name,
            c.role,
            c.instances,
            frozenset([rule[c.id].to, *rule[c.id].covers]),
        )
        for c in tax.classes
    ]


def _value_of(tax: DatasetTaxonomy, encoding: str | None) -> dict[int, int]:
    """Class id -> the value written: the id itself, or its (smallest) file value."""
    if encoding is None:
        return {c.id: c.id for c in tax.classes}
    enc = _pick_encoding(tax, encoding)
    out: dict[int, int] = {}
    for v, cid in sorted(file_values(tax, enc).items()):
        out.setdefault(cid, v)
    return out


def _bridged_targets(
    src: Ontology, tgt: Ontology, via: str
) -> tuple[list[_Target], list[dict[str, Any]]]:
    tax = load_taxonomy(via)
    m_src, m_tgt = load_mapping(via, src.name), load_mapping(via, tgt.name)
    compile_mapping(tax, src, m_src)
    compile_mapping(tax, tgt, m_tgt)
    to_src = {r.id: r.to for r in m_src.rules}
    covers: dict[str, set[str]] = {}
    for r in m_tgt.rules:
        covers.setdefault(r.to, set()).add(to_src[r.id])
    targets = [
        _Target(n.id, n.name, "class", h.is_thing(tgt, n.name), frozenset(covers.get(n.name, ())))
        for n in tgt.nodes
    ]
    targets += [
        _Target(s.id, s.name, s.role, False, frozenset(covers.get(s.name, ()))) for s in tgt.special
    ]
    approx = [
        {"id": r.id, "name": r.name, "to": r.to, "mapping": f"{via}__{tgt.name}"}
        for r in m_tgt.rules
        if r.kind == "approx"
    ]
    return targets, approx


_Bridged = tuple[list[_Target], list[dict[str, Any]]]


def _find_bridge(src: Ontology, tgt: Ontology) -> dict[str, _Bridged]:
    """The datasets to bridge ``src`` -> ``tgt`` through (see "Bridges" in the module docstring),
    each with its :func:`_bridged_targets`."""
    cat = list_files()
    both = sorted(
        d for d in cat.datasets if (d, src.name) in cat.mappings and (d, tgt.name) in cat.mappings
    )
    if not both:
        raise ConfigError(
            f"no dataset has mappings onto both {src.name!r} and {tgt.name!r}; an evaluation "
            "mapping between two ontologies goes through such a dataset (pass via=...)"
        )
    parts = {d: _bridged_targets(src, tgt, d) for d in both}
    if len(both) == 1:
        return parts
    covers = {d: {t.id: t.covers for t in parts[d][0]} for d in both}
    for d in both:  # the first bridge whose covers contain every other bridge's
        if all(all(c <= covers[d].get(i, frozenset()) for i, c in covers[e].items()) for e in both):
            return {d: parts[d]}
    # else all of them together, when no node is sent to two target classes
    owner: dict[str, tuple[int, str]] = {}
    for d in both:
        for i, names in covers[d].items():
            for name in names:
                if owner.setdefault(name, (i, d))[0] != i:
                    raise ConfigError(
                        f"several datasets map onto both {src.name!r} and {tgt.name!r} "
                        f"({', '.join(both)}), none covers what the others do, and they "
                        f"disagree ({name!r}: {owner[name][1]} and {d}); choose one with via=..."
                    )
    return parts


def _combined_targets(parts: dict[str, _Bridged]) -> _Bridged:
    """The :func:`_bridged_targets` of agreeing bridges as one: each target class covers what
    any bridge says it covers."""
    first = next(iter(parts.values()))
    if len(parts) == 1:
        return first
    covers: dict[int, set[str]] = {}
    for targets, _ in parts.values():
        for t in targets:
            covers.setdefault(t.id, set()).update(t.covers)
    merged = [replace(t, covers=frozenset(covers[t.id])) for t in first[0]]
    return merged, [a for _, approx in parts.values() for a in approx]


#: For the ignore value: a value that is no class comes first (void, then the other non-class
#: roles), so ignore never lands on a real (or merely unused) class such as COCO-Stuff's
#: "street sign" when "unlabeled" is among the candidates.
_IGNORE_RANK = {"void": 0, "ignore": 1, "unlabeled": 2, "ambiguous": 3, "background": 4}


def _pick(cands: list[_Target], prefer_void: bool) -> _Target | None:
    ok = [t for t in cands if t.id >= 0]
    if not ok:
        return None
    if prefer_void:
        return min(ok, key=lambda t: (_IGNORE_RANK.get(t.role, 5), t.id))
    return min(ok, key=lambda t: t.id)


def evaluation_mapping(
    ontology: Ontology | str,
    dataset: DatasetTaxonomy | Ontology | str,
    *,
    mapping: Mapping | None = None,
    via: str | None = None,
    encoding: str | None = None,
    unmatched: Unmatched = "ignore",
    unknown_policy: Literal["error", "ignore"] = "error",
) -> CompiledMapping:
    """The mapping from ``ontology`` ids back onto ``dataset``'s own classes, for evaluation.

    Parameters
    ----------
    ontology : Ontology or str
        The shared ontology a model predicts in (``"nuclei"``, ``"scene"``).
    dataset : DatasetTaxonomy, Ontology or str
        The target: a dataset (its class ids) or another ontology (``"consep-4"``), reached through
        a dataset mapped onto both.
    mapping : Mapping, optional
        The dataset -> ``ontology`` mapping (default: the shipped one). Datasets only.
    via : str, optional
        The bridge dataset when the target is an ontology (default: the only dataset mapped onto
        both).
    encoding : str, optional
        Write the file values of this encoding of the dataset instead of class ids (to compare with
        what its reader returns, e.g. COCO-Stuff PNGs: id - 1). Datasets only.
    unmatched : {"ignore", "background"}
        Where an ontology class no target class covers (rule 4 of the module docstring) goes.
    unknown_policy : {"error", "ignore"}
        Stored on the result for the engine: what to do with ids the ontology does not declare.

    Returns
    -------
    CompiledMapping
        ``lut`` over ontology ids (``offset`` 0) -> target values, ``declared`` True for every
        ontology id, ``keep_instances`` for target classes with instances; ``class_names`` names
        the target values; ``report`` holds ``rows`` (one per ontology id with its rule),
        ``collisions``, ``collapsed``, ``ambiguous``, ``unmatched``, ``unrecoverable``, ``approx``
        and ``round_trip`` (True when native -> ontology -> native is the identity on every class).

    Raises
    ------
    TaxonomyError, MissingFileError
        Inconsistent or missing files.
    ConfigError
        Bad option values, or no (or several) bridge datasets for an ontology target.
    """
    if unmatched not in ("ignore", "background"):
        raise ConfigError(f"unmatched must be 'ignore' or 'background', not {unmatched!r}")
    if unknown_policy not in ("error", "ignore"):
        raise ConfigError(f"unknown_policy must be 'error' or 'ignore', not {unknown_policy!r}")
    src = _as_ontology(ontology)
    check_ontology(src)
    target_name: str
    approx: list[dict[str, Any]] = []
    bridge: str | None = None
    if isinstance(dataset, str):
        cat = list_files()
        if dataset in cat.datasets:
            dataset = load_taxonomy(dataset)
        elif dataset in cat.ontologies:
            dataset = load_ontology(dataset)
        else:
            known = ", ".join(sorted([*cat.datasets, *cat.ontologies]))
            raise ConfigError(f"no dataset or ontology named {dataset!r} (known: {known})")
    if isinstance(dataset, Ontology):
        if mapping is not None or encoding is not None:
            raise ConfigError("mapping= and encoding= apply to a dataset target, not an ontology")
        parts = (
            {via: _bridged_targets(src, dataset, via)}
            if via is not None
            else _find_bridge(src, dataset)
        )
        bridges = list(parts)
        bridge = ", ".join(bridges)
        targets, approx = _combined_targets(parts)
        target_name = dataset.name
        fwd = [load_mapping(d, src.name) for d in bridges]
    else:
        if via is not None:
            raise ConfigError("via= applies to an ontology target, not a dataset")
        fwd_src = mapping if mapping is not None else load_mapping(dataset.name, src.name)
        fwd = [fwd_src]
        targets = _dataset_targets(dataset, src, fwd_src, encoding)
        target_name = dataset.name
    approx = [
        {"id": r.id, "name": r.name, "to": r.to, "mapping": f"{m.dataset}__{src.name}"}
        for m in fwd
        for r in m.rules
        if r.kind == "approx"
    ] + approx

    covering: dict[str, list[_Target]] = {}
    for t in targets:
        for name in t.covers:
            covering.setdefault(name, []).append(t)

    report: dict[str, Any] = {
        "ontology": src.name,
        "target": target_name,
        "via": bridge,
        "encoding": encoding,
        "unmatched_policy": unmatched,
        "rows": [],
        "collisions": [],
        "collapsed": [],
        "ambiguous": [],
        "unmatched": [],
        "unrecoverable": [],
        "approx": approx,
        "ignore": None,
        "round_trip": True,
    }

    # ---- the target's ignore value ----
    ignore_special = next(s for s in src.special if s.role == "ignore")
    ign = _pick(covering.get(ignore_special.name, []), prefer_void=True)
    if ign is None or ign.role == "class":
        # what maps onto ignore may be a real (or unused) class; a value the dataset itself does
        # not score (void, unlabeled) is the better ignore when the dataset has one
        alt = _pick([t for t in targets if t.role in ("void", "ignore", "unlabeled")], True)
        ign = alt if alt is not None else ign
    if ign is None:
        used = {t.id for t in targets}
        fresh = 255 if 255 not in used and max(used, default=0) < 255 else max(used) + 1
        ign = _Target(fresh, "ignore", "ignore", False, frozenset())
        report["ignore"] = {"id": fresh, "name": "ignore", "fresh": True}
    else:
        report["ignore"] = {"id": ign.id, "name": ign.name, "fresh": False}
    bg_special = next((s for s in src.special if s.role == "background"), None)
    bg = _pick(covering.get(bg_special.name, []), False) if bg_special is not None else None

    # ---- one row per ontology id ----
    chosen: dict[int, _Target] = {}
    rows: list[dict[str, Any]] = []

    def row(x_id: int, x_name: str, t: _Target, rule: str, through: str | None = None) -> None:
        chosen[x_id] = t
        rows.append(
            {
                "id": x_id,
                "name": x_name,
                "to": t.id,
                "to_name": t.name,
                "rule": rule,
                "through": through,
            }
        )

    def collide(x_name: str, cands: list[_Target], t: _Target | None) -> None:
        distinct = {c.id for c in cands}
        if len(distinct) > 1 or (t is None and cands):
            report["collisions"].append(
                {
                    "node": x_name,
                    "candidates": [{"id": c.id, "name": c.name} for c in cands],
                    "chosen": None if t is None else t.id,
                }
            )

    for s in src.special:
        cands = covering.get(s.name, [])
        pick = _pick(cands, prefer_void=s.role == "ignore")
        collide(s.name, cands, pick)
        if s.role == "ignore":
            row(s.id, s.name, ign, "special")
        elif pick is not None:
            row(s.id, s.name, pick, "special")
        else:
            report["unmatched"].append({"id": s.id, "name": s.name})
            row(s.id, s.name, ign, "unmatched")
    for n in src.nodes:
        x = n.name
        cands = covering.get(x, [])
        pick = _pick(cands, False)
        if cands:
            collide(x, cands, pick)
            if pick is not None:
                row(n.id, x, pick, "direct")
                continue
        up = next(
            (
                (a, p)
                for a in h.ancestors(src, x)
                if (p := _pick(covering.get(a, []), False)) is not None
            ),
            None,
        )
        if up is not None:
            row(n.id, x, up[1], "ancestor", up[0])
            continue
        below: dict[int, _Target] = {}
        through: dict[int, list[str]] = {}
        for d in h.descendants(src, x):
            for c in covering.get(d, []):
                if c.id >= 0:
                    below.setdefault(c.id, c)
                    through.setdefault(c.id, []).append(d)
        if len(below) == 1:
            (t,) = below.values()
            row(n.id, x, t, "descendant", through[t.id][0])
        elif below:
            report["ambiguous"].append(
                {
                    "id": n.id,
                    "name": x,
                    "candidates": [
                        {"id": c.id, "name": c.name}
                        for c in sorted(below.values(), key=lambda c: c.id)
                    ],
                }
            )
            row(n.id, x, ign, "ambiguous")
        else:
            report["unmatched"].append({"id": n.id, "name": x})
            row(n.id, x, bg if bg is not None and unmatched == "background" else ign, "unmatched")
    report["rows"] = sorted(rows, key=lambda r: r["id"])

    # ---- collapse and recovery ----
    by_target: dict[int, list[str]] = {}
    for r in report["rows"]:
        if r["rule"] in ("direct", "ancestor", "descendant", "special"):
            by_target.setdefault(r["to"], []).append(r["name"])
    for tid, names in sorted(by_target.items()):
        if len(names) > 1:
            tname = next(t.name for t in [*targets, ign] if t.id == tid)
            report["collapsed"].append({"to": tid, "to_name": tname, "from": names})
    reached = set(by_target)
    for t in targets:
        if t.id in reached or (t.id == ign.id and t.role in ("void", "ignore")):
            continue
        reason = "negative id" if t.id < 0 else "collision" if t.covers else "covers nothing"
        if t.covers and t.id >= 0:
            rivals = sorted(
                {chosen[_id_of(src, c)].name for c in t.covers if _id_of(src, c) in chosen}
            )
            reason = f"collision: its node(s) map to {', '.join(rivals)}"
        report["unrecoverable"].append({"id": t.id, "name": t.name, "reason": reason})
    # native -> ontology -> native is the identity iff every target class is reached from the
    # ontology id(s) it covers
    for t in targets:
        if not t.covers:
            continue
        back = {chosen[_id_of(src, c)].id for c in t.covers}
        if back != {t.id}:
            report["round_trip"] = False
            break

    # ---- the table ----
    all_ids = [*(n.id for n in src.nodes), *(s.id for s in src.special)]
    top = max(all_ids)
    values = [t.id for t in chosen.values()] + [ign.id]
    dtype_name = smallest_uint(max(values))
    if dtype_name is None:  # pragma: no cover - ids beyond uint64
        raise TaxonomyError(f"target ids of {target_name!r} do not fit an unsigned dtype")
    dtype = np.dtype(dtype_name)
    bg_id = bg.id if bg is not None else None
    lut, declared, keep = lookup_tables(
        (
            (x_id, t.id, t.thing and t.role == "class" and t.id != ign.id)
            for x_id, t in chosen.items()
        ),
        lo=0,
        hi=top,
        fill=ign.id,
        dtype=dtype,
    )
    class_names = {t.id: t.name for t in targets if t.id >= 0}
    class_names[ign.id] = ign.name
    return CompiledMapping(
        dataset=src.name,
        ontology=target_name,
        lut=lut,
        declared=declared,
        keep_instances=keep,
        offset=0,
        out_dtype=dtype,
        background=bg_id,
        ignore=int(ign.id),
        unknown_policy=unknown_policy,
        class_names=dict(sorted(class_names.items())),
        report=report,
    )


def _id_of(onto: Ontology, name: str) -> int:
    node = h.node_map(onto).get(name)
    if node is not None:
        return node.id
    for s in onto.special:
        if s.name == name:
            return s.id
    raise TaxonomyError(f"{name!r} is not in ontology {onto.name!r}", path=source_of(onto))
