"""Diff two sets of taxonomy files: what changed in ontologies, dataset taxonomies and mappings.

Pure: works on the pydantic models only (no arrays, no stores). :func:`diff` takes two
:class:`TaxonomySet` (or anything :func:`as_set` accepts: a file, a folder, models) and returns a
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

Inputs: a single YAML file, a folder (``taxonomies/``-like with ``datasets/``, ``ontologies/``,
``mappings/``, or any folder of YAML files, found recursively), or a git revision of such a folder
(:func:`load_git_rev`, read with ``git ls-tree`` / ``git show``; nothing is checked out).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from harmonize.errors import ConfigError, MissingFileError, TaxonomyError
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology

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
    "TaxonomySet",
    "as_set",
    "diff",
    "load_git_rev",
    "load_set",
    "rename_maps",
]

_SUFFIXES = (".yaml", ".yml")


def _jsonable(value: Any) -> Any:
    """Plain JSON values (tuples -> lists, dict keys -> str, sorted) of a model field."""
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump(mode="json"))
    return value


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass
class TaxonomySet:
    """A set of taxonomy models, by name.

    Attributes
    ----------
    label : str
        Where the set comes from (a path, ``git:REV``), for reports.
    ontologies : dict of str to Ontology
    datasets : dict of str to DatasetTaxonomy
    mappings : dict of (str, str) to Mapping
        ``(dataset, ontology)`` -> mapping.
    """

    label: str = ""
    ontologies: dict[str, Ontology] = field(default_factory=dict)
    datasets: dict[str, DatasetTaxonomy] = field(default_factory=dict)
    mappings: dict[tuple[str, str], Mapping] = field(default_factory=dict)

    def add(self, model: DatasetTaxonomy | Ontology | Mapping, where: str = "") -> None:
        """Add one model; a second model with the same name is an error naming ``where``."""
        if isinstance(model, Ontology):
            table: dict[Any, Any] = self.ontologies
            key: Any = model.name
        elif isinstance(model, DatasetTaxonomy):
            table, key = self.datasets, model.name
        elif isinstance(model, Mapping):
            table, key = self.mappings, (model.dataset, model.ontology)
        else:
            raise TaxonomyError(f"not a taxonomy model: {type(model).__name__}", path=where or None)
        if key in table:
            raise TaxonomyError(
                f"two {model.kind} files define {key!r} in the same set ({self.label})",
                path=where or None,
            )
        table[key] = model

    def __bool__(self) -> bool:
        return bool(self.ontologies or self.datasets or self.mappings)


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in _SUFFIXES and p.is_file() and not any(s.startswith(".") for s in p.parts)
    )


def load_set(path: str | PathLike[str]) -> TaxonomySet:
    """Load a taxonomy file, or every taxonomy YAML under a folder (recursively).

    Parameters
    ----------
    path : path-like
        A YAML file of any kind, or a folder such as the repository's ``taxonomies/``.

    Raises
    ------
    MissingFileError
        When ``path`` does not exist.
    TaxonomyError
        When a file is invalid (naming file and line), or two files define the same name.
    """
    from harmonize.taxonomy.loader import load_file

    p = Path(path)
    if not p.exists():
        raise MissingFileError("no taxonomy file or folder here", path=p)
    out = TaxonomySet(label=str(p))
    files = [p] if p.is_file() else _yaml_files(p)
    for f in files:
        out.add(load_file(f), str(f))
    return out


def _git(repo: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            check=False,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as exc:  # pragma: no cover - git missing
        raise ConfigError("git is not installed; --rev needs it", path=repo) from exc
    if proc.returncode != 0:
        msg = proc.stderr.strip().splitlines()
        raise ConfigError(
            f"git {' '.join(args)} failed: {msg[-1] if msg else proc.returncode}", path=repo
        )
    return proc.stdout


def load_git_rev(repo: str | PathLike[str], rev: str, folder: str = "taxonomies") -> TaxonomySet:
    """Load every taxonomy YAML under ``folder`` as it is at git revision ``rev`` of ``repo``.

    Files are read with ``git ls-tree`` and ``git show REV:PATH``; the working tree is untouched.
    Error messages name files as ``REV:PATH``.

    Raises
    ------
    ConfigError
        When ``repo`` is not a git repository or ``rev`` / ``folder`` does not exist there.
    TaxonomyError
        When a file at that revision is invalid.
    """
    from harmonize._yaml import parse_yaml
    from harmonize.taxonomy.loader import validate_data

    root = Path(repo)
    folder = folder.strip("/")
    listing = _git(root, "ls-tree", "-r", "--name-only", rev, "--", folder).splitlines()
    names = sorted(n for n in listing if n.endswith(_SUFFIXES))
    if not names:
        raise ConfigError(f"no taxonomy YAML under {folder!r} at revision {rev!r}", path=root)
    out = TaxonomySet(label=f"git:{rev}")
    for name in names:
        where = f"{rev}:{name}"
        text = _git(root, "show", where)
        data, lines = parse_yaml(text, where)
        out.add(validate_data(data, lines, where), where)
    return out


def as_set(
    value: TaxonomySet
    | str
    | PathLike[str]
    | DatasetTaxonomy
    | Ontology
    | Mapping
    | Iterable[DatasetTaxonomy | Ontology | Mapping],
    label: str | None = None,
) -> TaxonomySet:
    """Turn a set, a path (file or folder), one model or several models into a :class:`TaxonomySet`."""
    if isinstance(value, TaxonomySet):
        return value
    if isinstance(value, str | PathLike):
        return load_set(value)
    out = TaxonomySet(label=label or "")
    models = [value] if isinstance(value, DatasetTaxonomy | Ontology | Mapping) else list(value)
    for m in models:
        out.add(m)
    return out


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """An added or removed item (node, special value, native class)."""

    id: int
    name: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class Renamed:
    """Same id, new name."""

    id: int
    old_name: str
    new_name: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "old_name": self.old_name, "new_name": self.new_name}


@dataclass(frozen=True)
class Renumbered:
    """Same name, new id."""

    name: str
    old_id: int
    new_id: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "old_id": self.old_id, "new_id": self.new_id}


@dataclass(frozen=True)
class AttrChange:
    """One field of a matched item changed (named and numbered as in the new file)."""

    id: int
    name: str
    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "field": self.field,
            "old": _jsonable(self.old),
            "new": _jsonable(self.new),
        }


@dataclass(frozen=True)
class FieldChange:
    """A file-level field changed (title, version, dtype, encodings, ...)."""

    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": _jsonable(self.old), "new": _jsonable(self.new)}


def _sorted_dicts(items: Iterable[Any], *keys: str) -> list[dict[str, Any]]:
    rows = [i.to_dict() for i in items]
    return sorted(rows, key=lambda r: tuple(str(r[k]) if k == "field" else r[k] for k in keys))


@dataclass(frozen=True)
class ClassesDiff:
    """Changes among items with an id and a name (ontology nodes, special values, classes)."""

    added: tuple[Item, ...] = ()
    removed: tuple[Item, ...] = ()
    renamed: tuple[Renamed, ...] = ()
    renumbered: tuple[Renumbered, ...] = ()
    parent_changed: tuple[AttrChange, ...] = ()
    color_changed: tuple[AttrChange, ...] = ()
    role_changed: tuple[AttrChange, ...] = ()
    instances_changed: tuple[AttrChange, ...] = ()
    other_changed: tuple[AttrChange, ...] = ()

    @property
    def changed(self) -> bool:
        return any(getattr(self, k) for k in self.__dataclass_fields__)

    def rename_map(self) -> dict[str, str]:
        """Old name -> new name for items renamed in place (same id)."""
        return {r.old_name: r.new_name for r in self.renamed}

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": _sorted_dicts(self.added, "id", "name"),
            "removed": _sorted_dicts(self.removed, "id", "name"),
            "renamed": _sorted_dicts(self.renamed, "id"),
            "renumbered": _sorted_dicts(self.renumbered, "name"),
            "parent_changed": _sorted_dicts(self.parent_changed, "id", "name"),
            "color_changed": _sorted_dicts(self.color_changed, "id", "name"),
            "role_changed": _sorted_dicts(self.role_changed, "id", "name"),
            "instances_changed": _sorted_dicts(self.instances_changed, "id", "name"),
            "other_changed": _sorted_dicts(self.other_changed, "id", "name", "field"),
        }


@dataclass(frozen=True)
class OntologyDiff:
    """Changes to one ontology. ``status`` is ``added``, ``removed`` or ``changed``."""

    name: str
    status: str
    fields: tuple[FieldChange, ...] = ()
    nodes: ClassesDiff = ClassesDiff()
    special: ClassesDiff = ClassesDiff()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "fields": _sorted_dicts(self.fields, "field"),
            "nodes": self.nodes.to_dict(),
            "special": self.special.to_dict(),
        }


@dataclass(frozen=True)
class DatasetDiff:
    """Changes to one dataset taxonomy (its native classes)."""

    name: str
    status: str
    fields: tuple[FieldChange, ...] = ()
    classes: ClassesDiff = ClassesDiff()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "fields": _sorted_dicts(self.fields, "field"),
            "classes": self.classes.to_dict(),
        }


@dataclass(frozen=True)
class Target:
    """Where a native class goes: a node or special value name, its id, and the rule's kind.

    ``node_id`` is ``None`` when the ontology is not in the set (or does not know the name).
    """

    to: str
    kind: str
    node_id: int | None = None
    special: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"to": self.to, "kind": self.kind, "node_id": self.node_id, "special": self.special}


@dataclass(frozen=True)
class TargetChange:
    """One native class whose rule changed.

    ``change`` is ``remapped`` (another target), ``target_renamed`` (same node, renamed),
    ``kind`` (same target, other kind), ``added`` or ``removed`` (the rule appears / vanishes).
    """

    id: int
    name: str
    change: str
    old: Target | None
    new: Target | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "change": self.change,
            "old": self.old.to_dict() if self.old else None,
            "new": self.new.to_dict() if self.new else None,
        }


@dataclass(frozen=True)
class Merge:
    """New target ``into`` receives native classes that went to different targets before."""

    into: str
    sources: tuple[tuple[int, str, str], ...]  # (native id, native name, old target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "into": self.into,
            "from": [{"id": i, "name": n, "old_to": t} for i, n, t in sorted(self.sources)],
        }


@dataclass(frozen=True)
class Split:
    """Old target ``source`` whose native classes now go to different targets."""

    source: str
    into: tuple[tuple[int, str, str], ...]  # (native id, native name, new target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "into": [{"id": i, "name": n, "new_to": t} for i, n, t in sorted(self.into)],
        }


@dataclass(frozen=True)
class MappingDiff:
    """Changes to one (dataset, ontology) mapping."""

    dataset: str
    ontology: str
    status: str
    fields: tuple[FieldChange, ...] = ()
    targets: tuple[TargetChange, ...] = ()
    merges: tuple[Merge, ...] = ()
    splits: tuple[Split, ...] = ()
    notes_changed: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "ontology": self.ontology,
            "status": self.status,
            "fields": _sorted_dicts(self.fields, "field"),
            "targets": sorted((t.to_dict() for t in self.targets), key=lambda r: r["id"]),
            "merges": sorted((m.to_dict() for m in self.merges), key=lambda r: r["into"]),
            "splits": sorted((s.to_dict() for s in self.splits), key=lambda r: r["source"]),
            "notes_changed": sorted(self.notes_changed),
        }


@dataclass(frozen=True)
class TaxonomyDiff:
    """Everything that changed between two taxonomy sets (only changed entries are listed)."""

    old: str
    new: str
    ontologies: tuple[OntologyDiff, ...] = ()
    datasets: tuple[DatasetDiff, ...] = ()
    mappings: tuple[MappingDiff, ...] = ()

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
        return {
            "old": self.old,
            "new": self.new,
            "changed": self.changed,
            "ontologies": sorted((o.to_dict() for o in self.ontologies), key=lambda r: r["name"]),
            "datasets": sorted((d.to_dict() for d in self.datasets), key=lambda r: r["name"]),
            "mappings": sorted(
                (m.to_dict() for m in self.mappings), key=lambda r: (r["dataset"], r["ontology"])
            ),
        }


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
