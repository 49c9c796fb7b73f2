"""Diff two sets of taxonomy files: what changed in ontologies, dataset taxonomies and mappings.

Pure: works on the pydantic models only (no arrays, no stores). :func:`diff` takes two
:class:`~harmonize.taxonomy.sets.TaxonomySet` (or anything :func:`~harmonize.taxonomy.sets.as_set` accepts: a file, a folder, models) and returns a
:class:`TaxonomyDiff` whose :meth:`~TaxonomyDiff.to_dict` is JSON-exact and stable (every list
sorted, every key always present).

How items are matched (ontology nodes, special values and dataset classes all have an id and a
name):

1. same id and same name -> the same item;
2. of the rest, same name -> **renumbered** (same name, new id);
3. of the rest, same id -> **renamed** (same id, new name);
4. what is left is **added** / **removed**.

Matched items are then compared field by field: ``parent`` (compared through the matching, so a
renamed parent is not a parent change), ``color``, ``role``, ``instances``; any other field
(title, description, xref, category, attributes) is listed under ``other_changed``.

Mappings are compared per native class id: a class whose rule points to another target is
``remapped`` (or ``target_renamed`` when the old target node was only renamed, same id); a class
whose target is the same but whose ``kind`` (exact / coarse / approx) changed is ``kind``; rules
that appear or vanish are ``added`` / ``removed``. Per mapping, a **merge** is a new target that
receives two or more native classes that went to different targets before; a **split** is an old
target whose native classes now go to two or more different targets. Old targets are translated
through node renames before these comparisons, so a rename is neither a merge nor a split.

Inputs (a YAML file, a folder, a git revision of a folder, models) are read by
:mod:`harmonize.taxonomy.sets`; this module only compares the sets it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from harmonize._records import Record, jsonable, sorted_by
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology
from harmonize.taxonomy.sets import TaxonomySet, as_set

__all__ = [
    "AttrChange",
    "ClassesDiff",
    "DatasetDiff",
    "FieldChange",
    "Item",
    "MappingDiff",
    "Merge",
    "OntologyDiff",
    "Renamed",
    "Renumbered",
    "Split",
    "Target",
    "TargetChange",
    "TaxonomyDiff",
    "diff",
    "rename_maps",
]


@dataclass(frozen=True)
class Item(Record):
    """An added or removed item (node, special value, native class)."""

    id: int
    name: str


@dataclass(frozen=True)
class Renamed(Record):
    """Same id, new name."""

    id: int
    old_name: str
    new_name: str


@dataclass(frozen=True)
class Renumbered(Record):
    """Same name, new id."""

    name: str
    old_id: int
    new_id: int


@dataclass(frozen=True)
class AttrChange(Record):
    """One field of a matched item changed (named and numbered as in the new file)."""

    sort_dicts = True

    id: int
    name: str
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class FieldChange(Record):
    """A file-level field changed (title, version, dtype, encodings, ...)."""

    sort_dicts = True

    field: str
    old: Any
    new: Any


#: plain JSON values of a model field (tuples -> lists, dict keys -> str, sorted)
_jsonable = partial(jsonable, sort_dicts=True)

_BY_ID_NAME = sorted_by("id", "name")


@dataclass(frozen=True)
class ClassesDiff(Record):
    """Changes among items with an id and a name (ontology nodes, special values, classes)."""

    added: tuple[Item, ...] = field(default=(), metadata=_BY_ID_NAME)
    removed: tuple[Item, ...] = field(default=(), metadata=_BY_ID_NAME)
    renamed: tuple[Renamed, ...] = field(default=(), metadata=sorted_by("id"))
    renumbered: tuple[Renumbered, ...] = field(default=(), metadata=sorted_by("name"))
    parent_changed: tuple[AttrChange, ...] = field(default=(), metadata=_BY_ID_NAME)
    color_changed: tuple[AttrChange, ...] = field(default=(), metadata=_BY_ID_NAME)
    role_changed: tuple[AttrChange, ...] = field(default=(), metadata=_BY_ID_NAME)
    instances_changed: tuple[AttrChange, ...] = field(default=(), metadata=_BY_ID_NAME)
    other_changed: tuple[AttrChange, ...] = field(
        default=(), metadata=sorted_by("id", "name", "field")
    )

    @property
    def changed(self) -> bool:
        return any(getattr(self, k) for k in self.__dataclass_fields__)

    def rename_map(self) -> dict[str, str]:
        """Old name -> new name for items renamed in place (same id)."""
        return {r.old_name: r.new_name for r in self.renamed}


@dataclass(frozen=True)
class OntologyDiff(Record):
    """Changes to one ontology. ``status`` is ``added``, ``removed`` or ``changed``."""

    name: str
    status: str
    fields: tuple[FieldChange, ...] = field(default=(), metadata=sorted_by("field"))
    nodes: ClassesDiff = ClassesDiff()
    special: ClassesDiff = ClassesDiff()


@dataclass(frozen=True)
class DatasetDiff(Record):
    """Changes to one dataset taxonomy (its native classes)."""

    name: str
    status: str
    fields: tuple[FieldChange, ...] = field(default=(), metadata=sorted_by("field"))
    classes: ClassesDiff = ClassesDiff()


@dataclass(frozen=True)
class Target(Record):
    """Where a native class goes: a node or special value name, its id, and the rule's kind.

    ``node_id`` is ``None`` when the ontology is not in the set (or does not know the name).
    """

    to: str
    kind: str
    node_id: int | None = None
    special: bool = False


@dataclass(frozen=True)
class TargetChange(Record):
    """One native class whose rule changed.

    ``change`` is ``remapped`` (another target), ``target_renamed`` (same node, renamed),
    ``kind`` (same target, other kind), ``added`` or ``removed`` (the rule appears / vanishes).
    """

    id: int
    name: str
    change: str
    old: Target | None
    new: Target | None


@dataclass(frozen=True)
class Merge(Record):
    """New target ``into`` receives native classes that went to different targets before."""

    into: str
    sources: tuple[tuple[int, str, str], ...]  # (native id, native name, old target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "into": self.into,
            "from": [{"id": i, "name": n, "old_to": t} for i, n, t in sorted(self.sources)],
        }


@dataclass(frozen=True)
class Split(Record):
    """Old target ``source`` whose native classes now go to different targets."""

    source: str
    into: tuple[tuple[int, str, str], ...]  # (native id, native name, new target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "into": [{"id": i, "name": n, "new_to": t} for i, n, t in sorted(self.into)],
        }


@dataclass(frozen=True)
class MappingDiff(Record):
    """Changes to one (dataset, ontology) mapping."""

    dataset: str
    ontology: str
    status: str
    fields: tuple[FieldChange, ...] = field(default=(), metadata=sorted_by("field"))
    targets: tuple[TargetChange, ...] = field(default=(), metadata=sorted_by("id"))
    merges: tuple[Merge, ...] = field(default=(), metadata=sorted_by("into"))
    splits: tuple[Split, ...] = field(default=(), metadata=sorted_by("source"))
    notes_changed: tuple[int, ...] = field(default=(), metadata=sorted_by())


@dataclass(frozen=True)
class TaxonomyDiff(Record):
    """Everything that changed between two taxonomy sets (only changed entries are listed)."""

    old: str
    new: str
    ontologies: tuple[OntologyDiff, ...] = field(default=(), metadata=sorted_by("name"))
    datasets: tuple[DatasetDiff, ...] = field(default=(), metadata=sorted_by("name"))
    mappings: tuple[MappingDiff, ...] = field(default=(), metadata=sorted_by("dataset", "ontology"))

    @property
    def changed(self) -> bool:
        """Whether anything changed (the CLI's exit code 1)."""
        return bool(self.ontologies or self.datasets or self.mappings)

    def ontology(self, name: str) -> OntologyDiff | None:
        return next((o for o in self.ontologies if o.name == name), None)

    def mapping(self, dataset: str, ontology: str) -> MappingDiff | None:
        return next(
            (m for m in self.mappings if m.dataset == dataset and m.ontology == ontology), None
        )

    def to_dict(self) -> dict[str, Any]:
        d = self.fields_dict()
        return {"old": d.pop("old"), "new": d.pop("new"), "changed": self.changed, **d}


# --------------------------------------------------------------------------------------------
# Matching items with an id and a name
# --------------------------------------------------------------------------------------------


def _match(old: list[Any], new: list[Any]) -> tuple[list[tuple[Any, Any]], list[Any], list[Any]]:
    """Pair items: same (id, name), then same name, then same id. Returns pairs, removed, added."""
    pairs: list[tuple[Any, Any]] = []
    rest_old, rest_new = list(old), list(new)
    for key in (lambda x: (x.id, x.name), lambda x: x.name, lambda x: x.id):
        by_key: dict[Any, Any] = {}
        for item in rest_new:
            by_key.setdefault(key(item), item)
        left = []
        for item in rest_old:
            other = by_key.pop(key(item), None)
            if other is None:
                left.append(item)
            else:
                pairs.append((item, other))
        taken = {id(b) for _, b in pairs}
        rest_old = left
        rest_new = [x for x in rest_new if id(x) not in taken]
    return pairs, rest_old, rest_new


_MAIN_FIELDS = {"parent": "parent_changed", "color": "color_changed", "role": "role_changed"}
_MAIN_FIELDS["instances"] = "instances_changed"


def _diff_items(old: list[Any], new: list[Any], *, parents: bool = False) -> ClassesDiff:
    pairs, removed, added = _match(old, new)
    rename = {a.name: b.name for a, b in pairs}
    out: dict[str, list[Any]] = {k: [] for k in ClassesDiff.__dataclass_fields__}
    out["removed"] = [Item(x.id, x.name) for x in removed]
    out["added"] = [Item(x.id, x.name) for x in added]
    skip = {"id", "name"}
    for a, b in pairs:
        if a.name != b.name:
            out["renamed"].append(Renamed(a.id, a.name, b.name))
        if a.id != b.id:
            out["renumbered"].append(Renumbered(b.name, a.id, b.id))
        for fname in type(b).model_fields:
            if fname in skip:
                continue
            va, vb = getattr(a, fname), getattr(b, fname)
            if fname == "parent" and parents and rename.get(va, va) == vb:
                continue  # compared through the matching: a renamed parent is the same parent
            if _jsonable(va) == _jsonable(vb):
                continue
            bucket = _MAIN_FIELDS.get(fname, "other_changed")
            out[bucket].append(AttrChange(b.id, b.name, fname, va, vb))
    return ClassesDiff(**{k: tuple(v) for k, v in out.items()})


def _diff_fields(old: Any, new: Any, names: Iterable[str]) -> tuple[FieldChange, ...]:
    out = []
    for f in names:
        va, vb = _jsonable(getattr(old, f)), _jsonable(getattr(new, f))
        if va != vb:
            out.append(FieldChange(f, va, vb))
    return tuple(out)


_ONTO_FIELDS = ("title", "version", "description", "reference", "dtype")
_DATASET_FIELDS = (
    "title",
    "version",
    "description",
    "url",
    "license",
    "reference",
    "task",
    "encodings",
    "attributes",
)
_MAPPING_FIELDS = ("version", "description", "reference")


def _one_sided(added: bool, items: tuple[Item, ...]) -> ClassesDiff:
    """The items of a file present on one side only: all ``added`` or all removed."""
    return ClassesDiff(added=items) if added else ClassesDiff(removed=items)


def _diff_ontology(name: str, a: Ontology | None, b: Ontology | None) -> OntologyDiff | None:
    if a is None or b is None:
        status = "added" if a is None else "removed"
        model = b if a is None else a
        if model is None:  # in neither set: nothing to compare
            return None
        nodes = tuple(Item(n.id, n.name) for n in model.nodes)
        special = tuple(Item(s.id, s.name) for s in model.special)
        return OntologyDiff(
            name,
            status,
            nodes=_one_sided(a is None, nodes),
            special=_one_sided(a is None, special),
        )
    d = OntologyDiff(
        name,
        "changed",
        fields=_diff_fields(a, b, _ONTO_FIELDS),
        nodes=_diff_items(list(a.nodes), list(b.nodes), parents=True),
        special=_diff_items(list(a.special), list(b.special)),
    )
    return d if (d.fields or d.nodes.changed or d.special.changed) else None


def _diff_dataset(
    name: str, a: DatasetTaxonomy | None, b: DatasetTaxonomy | None
) -> DatasetDiff | None:
    if a is None or b is None:
        model = b if a is None else a
        if model is None:  # in neither set: nothing to compare
            return None
        key = "added" if a is None else "removed"
        items = tuple(Item(c.id, c.name) for c in model.classes)
        return DatasetDiff(name, key, classes=_one_sided(a is None, items))
    d = DatasetDiff(
        name,
        "changed",
        fields=_diff_fields(a, b, _DATASET_FIELDS),
        classes=_diff_items(list(a.classes), list(b.classes)),
    )
    return d if (d.fields or d.classes.changed) else None


def _target(rule: Any, onto: Ontology | None) -> Target:
    node_id = None
    special = False
    if onto is not None:
        for n in onto.nodes:
            if n.name == rule.to:
                node_id = n.id
        for s in onto.special:
            if s.name == rule.to:
                node_id, special = s.id, True
    return Target(rule.to, rule.kind, node_id, special)


def _native_name(cid: int, *sources: Any) -> str:
    for src in sources:
        if src is None:
            continue
        if isinstance(src, DatasetTaxonomy):
            for c in src.classes:
                if c.id == cid:
                    return c.name
        elif src.name is not None:  # a MappingRule
            return src.name
    return str(cid)


def _diff_mapping(
    key: tuple[str, str],
    a: Mapping | None,
    b: Mapping | None,
    old: TaxonomySet,
    new: TaxonomySet,
    renames: dict[str, str],
) -> MappingDiff | None:
    dataset, ontology = key
    onto_a, onto_b = old.ontologies.get(ontology), new.ontologies.get(ontology)
    tax_a, tax_b = old.datasets.get(dataset), new.datasets.get(dataset)
    rules_a = {r.id: r for r in a.rules} if a else {}
    rules_b = {r.id: r for r in b.rules} if b else {}
    status = "added" if a is None else "removed" if b is None else "changed"
    targets: list[TargetChange] = []
    notes: list[int] = []
    for cid in sorted(set(rules_a) | set(rules_b)):
        ra, rb = rules_a.get(cid), rules_b.get(cid)
        name = _native_name(cid, tax_b, rb, tax_a, ra)
        ta = _target(ra, onto_a) if ra else None
        tb = _target(rb, onto_b) if rb else None
        if ta is None or tb is None:
            targets.append(TargetChange(cid, name, "added" if ta is None else "removed", ta, tb))
            continue
        if ta.to != tb.to:
            same = renames.get(ta.to) == tb.to
            targets.append(
                TargetChange(cid, name, "target_renamed" if same else "remapped", ta, tb)
            )
        elif ta.kind != tb.kind:
            targets.append(TargetChange(cid, name, "kind", ta, tb))
        if ra is not None and rb is not None and ra.note != rb.note:
            notes.append(cid)
    merges: list[Merge] = []
    splits: list[Split] = []
    if a is not None and b is not None:
        both = sorted(set(rules_a) & set(rules_b))
        old_to = {c: renames.get(rules_a[c].to, rules_a[c].to) for c in both}
        new_to = {c: rules_b[c].to for c in both}
        names = {c: _native_name(c, tax_b, rules_b[c], tax_a, rules_a[c]) for c in both}
        by_new: dict[str, list[int]] = {}
        by_old: dict[str, list[int]] = {}
        for c in both:
            by_new.setdefault(new_to[c], []).append(c)
            by_old.setdefault(old_to[c], []).append(c)
        for t, cs in by_new.items():
            if len({old_to[c] for c in cs}) > 1:
                merges.append(Merge(t, tuple((c, names[c], rules_a[c].to) for c in cs)))
        for cs in by_old.values():
            if len({new_to[c] for c in cs}) > 1:
                src = next(rules_a[c].to for c in cs)
                splits.append(Split(src, tuple((c, names[c], new_to[c]) for c in cs)))
    fields = _diff_fields(a, b, _MAPPING_FIELDS) if a is not None and b is not None else ()
    d = MappingDiff(
        dataset,
        ontology,
        status,
        fields=fields,
        targets=tuple(targets),
        merges=tuple(merges),
        splits=tuple(splits),
        notes_changed=tuple(notes),
    )
    if status == "changed" and not (fields or targets or merges or splits or notes):
        return None
    return d


def diff(old: Any, new: Any) -> TaxonomyDiff:
    """Compare two taxonomy sets.

    Parameters
    ----------
    old, new : TaxonomySet, path-like, model or iterable of models
        Anything :func:`as_set` accepts: a :class:`TaxonomySet`, a YAML file, a folder of YAML
        files (e.g. ``taxonomies/``), one model or a list of models.

    Returns
    -------
    TaxonomyDiff
        Only what changed; ``.changed`` is ``False`` when the two sets are equivalent.

    Raises
    ------
    MissingFileError, TaxonomyError
        When an input file is missing or invalid.
    """
    a, b = as_set(old, "old"), as_set(new, "new")
    ontologies = []
    renames: dict[str, dict[str, str]] = {}
    for name in sorted(set(a.ontologies) | set(b.ontologies)):
        od = _diff_ontology(name, a.ontologies.get(name), b.ontologies.get(name))
        if od is not None:
            ontologies.append(od)
            if od.status == "changed":
                renames[name] = {**od.special.rename_map(), **od.nodes.rename_map()}
    datasets = []
    for name in sorted(set(a.datasets) | set(b.datasets)):
        dd = _diff_dataset(name, a.datasets.get(name), b.datasets.get(name))
        if dd is not None:
            datasets.append(dd)
    mappings = []
    for key in sorted(set(a.mappings) | set(b.mappings)):
        md = _diff_mapping(
            key, a.mappings.get(key), b.mappings.get(key), a, b, renames.get(key[1], {})
        )
        if md is not None:
            mappings.append(md)
    return TaxonomyDiff(a.label, b.label, tuple(ontologies), tuple(datasets), tuple(mappings))


def rename_maps(d: TaxonomyDiff) -> dict[str, dict[str, str]]:
    """Per ontology: old node / special name -> new name, for items renamed in place."""
    return {
        o.name: {**o.special.rename_map(), **o.nodes.rename_map()}
        for o in d.ontologies
        if o.status == "changed"
    }
