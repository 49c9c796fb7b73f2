"""Render a :class:`~harmonize.taxonomy.diff.TaxonomyDiff`, and its data impact on a store.

Data impact (``harmonize diff OLD NEW --store STORE``)
-------------------------------------------------------
A store keeps, per sample, pixel and instance counts **per output class** (ontology id), and, per
source, the compiler's report of which native classes fed each output id
(``meta["mappings"][source]["report"]["outputs"]``). The counts do not say which native class a
pixel came from. So, per source and per stored output class ``O``:

* every native class that fed ``O`` gets its *new output*: the NEW mapping's target (the stored
  target when NEW has no mapping for the dataset), rolled up through the store's level cut with the
  store's ``coarse_policy``, in the NEW ontology (the store's own ontology table when NEW has none);
* a native class **moves** when its new output is another class than ``O`` (a node renamed in place,
  same id, is the same class);
* if every native class that fed ``O`` moves, the impact is **exact**: all of ``O``'s pixels and
  instances in that source change class (which new class each goes to is exact too when ``O`` had
  one native class, or all of them go to the same place);
* if only some move, the pixels are **not separable** from the stored counts: the report gives the
  bound ``0 .. count(O)`` and says so, rather than guessing a share. Rebuild the store (or diff
  against one built at a finer level) for the exact number;
* pixels that hit undeclared values under ``unknown_values: ignore`` are counted under ``ignore``
  too, so an ``ignore`` output with that policy is never exact;
* instances of a native class mapped to a special value (ignore, background) are dropped when the
  store is written, so their count is unknown (``None``);
* instances are counted by their stored class; an instance whose pixels straddle classes keeps its
  stored class here (on the engine's majority-vote path a remap could flip such an instance: this
  is a known limit, listed in the notes).

Separately, ontology nodes that were **renumbered** change the stored id of every pixel and
instance of that class although the class stays the same; those counts are exact and listed as
``relabels``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harmonize._records import Record, sorted_by
from harmonize.report.document import Lines, Section, Swatch, Table
from harmonize.taxonomy.diff import TaxonomyDiff, rename_maps
from harmonize.taxonomy.sets import TaxonomySet

__all__ = [
    "DiffReport",
    "ImpactGroup",
    "Relabel",
    "StoreImpact",
    "diff_sections",
    "print_text",
    "render",
    "store_impact",
]


# --------------------------------------------------------------------------------------------
# Store impact
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactGroup(Record):
    """One stored output class of one source whose native classes (some or all) move.

    Attributes
    ----------
    source, dataset : str
        Store source name and its dataset.
    output, output_id : str, int
        The stored output class and id.
    moved : tuple of (int, str, str)
        ``(native id, native name, new output)`` of the native classes that move.
    staying : tuple of (int, str)
        Native classes that stay (``(-1, "undeclared values")`` for unknown pixels under ignore).
    pixels, instances : int
        Stored counts of ``output`` in this source.
    exact : bool
        Whether every native class of ``output`` moves (then the changed counts are exact).
    pixels_changed, instances_changed : int or None
        Exact changed counts; ``None`` when not separable (or instances were not stored).
    pixels_max, instances_max : int
        Upper bound of the changed counts.
    note : str
    """

    source: str
    dataset: str
    output: str
    output_id: int
    moved: tuple[tuple[int, str, str], ...]
    staying: tuple[tuple[int, str], ...]
    pixels: int
    instances: int
    exact: bool
    pixels_changed: int | None
    instances_changed: int | None
    pixels_max: int
    instances_max: int
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dataset": self.dataset,
            "output": self.output,
            "output_id": self.output_id,
            "moved": [{"id": i, "name": n, "new_output": o} for i, n, o in sorted(self.moved)],
            "staying": [{"id": i, "name": n} for i, n in sorted(self.staying)],
            "pixels": self.pixels,
            "instances": self.instances,
            "exact": self.exact,
            "pixels_changed": self.pixels_changed,
            "instances_changed": self.instances_changed,
            "pixels_max": self.pixels_max,
            "instances_max": self.instances_max,
            "note": self.note,
        }


@dataclass(frozen=True)
class Relabel(Record):
    """A renumbered output class: its stored pixels and instances change id (not class)."""

    source: str
    name: str
    old_id: int
    new_id: int
    pixels: int
    instances: int


@dataclass(frozen=True)
class StoreImpact(Record):
    """Data impact of a diff on one store (see the module docstring for the method)."""

    sort_dicts = True  # totals: sorted by source, then by key

    store: str
    groups: tuple[ImpactGroup, ...] = field(default=(), metadata=sorted_by("source", "output_id"))
    relabels: tuple[Relabel, ...] = field(default=(), metadata=sorted_by("source", "old_id"))
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = field(default=(), metadata=sorted_by())


def _ontology_view(store: Any, new: TaxonomySet, name: str) -> tuple[dict, dict, str]:
    """(parents, roles, ignore name) of the NEW ontology, else of the store's table."""
    onto = new.ontologies.get(name)
    if onto is not None:
        parents = {n.name: n.parent for n in onto.nodes}
        roles = {n.name: "class" for n in onto.nodes} | {s.name: s.role for s in onto.special}
    else:
        table = store.ontology
        parents = {c["name"]: c.get("parent") for c in table.classes if c.get("role") is None}
        roles = {c["name"]: c.get("role") or "class" for c in table.classes}
    ignore = next((n for n, r in roles.items() if r == "ignore"), "ignore")
    return parents, roles, ignore


def _new_output(
    target: str, parents: dict, roles: dict, cut: list[str] | None, policy: str, ignore: str
) -> str:
    if roles.get(target, "class") != "class" or cut is None:
        return target
    chosen = set(cut)
    cur: str | None = target
    seen: set[str] = set()
    while cur is not None and cur not in seen:
        if cur in chosen:
            return cur
        seen.add(cur)
        cur = parents.get(cur)
    return target if policy == "keep" else ignore


def store_impact(d: TaxonomyDiff, old: TaxonomySet, new: TaxonomySet, store: Any) -> StoreImpact:
    """How many stored pixels and instances would change class under ``new``.

    Parameters
    ----------
    d : TaxonomyDiff
        The diff of ``old`` and ``new`` (for node renames and renumbering).
    old, new : TaxonomySet
        The two sides.
    store : harmonize.store.Store
        An opened store (uses ``meta``, ``sources``, ``counts`` and ``ontology``).

    Returns
    -------
    StoreImpact
        Per source and stored output class; totals per source: ``pixels``, ``pixels_changed``
        (exact part), ``pixels_changed_max`` (upper bound), and the same for instances.
    """
    import numpy as np

    renames_all = rename_maps(d)
    groups: list[ImpactGroup] = []
    relabels: list[Relabel] = []
    warnings: list[str] = []
    totals: dict[str, dict[str, int]] = {}
    meta_maps = store.meta.get("mappings", {})
    for src in store.sources:
        info = meta_maps.get(src)
        if not info:
            warnings.append(f"{src}: the store records no mapping report; impact unknown")
            continue
        rep = info["report"]
        dataset, onto_name = rep["dataset"], rep["ontology"]
        renames = renames_all.get(onto_name, {})
        parents, roles, ignore = _ontology_view(store, new, onto_name)
        cut, policy = rep.get("cut"), rep.get("coarse_policy", "keep")
        # the store's cut names OLD nodes; roll NEW targets up through their NEW names
        new_cut = None if cut is None else [renames.get(c, c) for c in cut]
        new_map = new.mappings.get((dataset, onto_name))
        old_map = old.mappings.get((dataset, onto_name))
        new_rules = {r.id: r for r in new_map.rules} if new_map else None
        old_rules = {r.id: r for r in old_map.rules} if old_map else None
        counts = store.counts([src])
        col = {int(c): k for k, c in enumerate(np.asarray(counts["class_ids"]).tolist())}
        pix_all = np.asarray(counts["pixels"], dtype=np.int64)
        ins_all = np.asarray(counts["instances"], dtype=np.int64)
        tot = {
            "pixels": int(pix_all.sum()),
            "pixels_changed": 0,
            "pixels_changed_max": 0,
            "instances": int(ins_all.sum()),
            "instances_changed": 0,
            "instances_changed_max": 0,
        }
        for out in rep["outputs"]:
            oname, oid, orole = out["name"], int(out["id"]), out.get("role", "class")
            moved, staying = [], []
            for e in out["sources"]:
                cid = int(e["id"])
                if old_rules is not None and cid in old_rules and old_rules[cid].to != e["to"]:
                    warnings.append(
                        f"{src}: the store maps native class {cid} {e['name']!r} to {e['to']!r}, "
                        f"OLD maps it to {old_rules[cid].to!r} (the store was built with another "
                        f"mapping: {info.get('mapping') or '?'}); impact is relative to the store"
                    )
                if new_rules is None:
                    target = e["to"]
                elif cid in new_rules:
                    target = new_rules[cid].to
                else:
                    moved.append((cid, e["name"], "(no rule)"))
                    continue
                new_out = _new_output(target, parents, roles, new_cut, policy, ignore)
                if new_out == oname or renames.get(oname) == new_out:
                    staying.append((cid, e["name"]))
                else:
                    moved.append((cid, e["name"], new_out))
            if orole == "ignore" and rep.get("unknown_policy") == "ignore":
                staying.append((-1, "undeclared values"))
            if not moved:
                continue
            k = col.get(oid)
            pixels = int(pix_all[k]) if k is not None else 0
            instances = int(ins_all[k]) if k is not None else 0
            exact = not staying
            notes = []
            inst_known = orole == "class"
            if not inst_known:
                notes.append("instances of classes mapped to a special value are not stored")
            if exact:
                targets = {m[2] for m in moved}
                if len(targets) > 1:
                    notes.append(
                        "all pixels change class; the split among the new classes is not "
                        "separable from the stored counts"
                    )
            else:
                notes.append(
                    f"{oname!r} also holds native classes that stay; the moved share is not "
                    "separable from the stored counts (upper bound given)"
                )
            g = ImpactGroup(
                source=src,
                dataset=dataset,
                output=oname,
                output_id=oid,
                moved=tuple(moved),
                staying=tuple(staying),
                pixels=pixels,
                instances=instances,
                exact=exact,
                pixels_changed=pixels if exact else None,
                instances_changed=instances if (exact and inst_known) else None,
                pixels_max=pixels,
                instances_max=instances,
                note="; ".join(notes),
            )
            groups.append(g)
            if exact:
                tot["pixels_changed"] += pixels
                if inst_known:
                    tot["instances_changed"] += instances
            tot["pixels_changed_max"] += pixels
            tot["instances_changed_max"] += instances
        # renumbered classes: every stored pixel / instance of them changes id
        od = d.ontology(onto_name)
        if od is not None and od.status == "changed":
            for r in (*od.nodes.renumbered, *od.special.renumbered):
                k = col.get(r.old_id)
                if k is None:
                    continue
                px, ins = int(pix_all[k]), int(ins_all[k])
                if px or ins:
                    relabels.append(Relabel(src, r.name, r.old_id, r.new_id, px, ins))
        totals[src] = tot
    return StoreImpact(
        store=str(getattr(store, "url", "")),
        groups=tuple(groups),
        relabels=tuple(relabels),
        totals=totals,
        warnings=tuple(dict.fromkeys(warnings)),
    )


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffReport:
    """A diff plus, optionally, its data impact on a store."""

    diff: TaxonomyDiff
    impact: StoreImpact | None = None

    @property
    def changed(self) -> bool:
        return self.diff.changed

    def to_dict(self) -> dict[str, Any]:
        return {**self.diff.to_dict(), "impact": self.impact.to_dict() if self.impact else None}


def _rgb(v: Any) -> Any:
    return Swatch(tuple(v)) if isinstance(v, list | tuple) and len(v) == 3 else v


def _val(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, str):
        return v
    return json.dumps(v, sort_keys=True)


def _classes_blocks(cd: dict[str, Any], what: str, with_parent: bool) -> list[Table | Lines]:
    blocks: list[Table | Lines] = []
    lines = []
    for i in cd["added"]:
        lines.append(f"added {what} {i['id']} {i['name']!r}")
    for i in cd["removed"]:
        lines.append(f"removed {what} {i['id']} {i['name']!r}")
    for r in cd["renamed"]:
        lines.append(f"renamed {what} {r['id']}: {r['old_name']!r} -> {r['new_name']!r}")
    for r in cd["renumbered"]:
        lines.append(f"renumbered {what} {r['name']!r}: {r['old_id']} -> {r['new_id']}")
    if with_parent:
        for c in cd["parent_changed"]:
            lines.append(
                f"parent of {c['name']!r} ({c['id']}): {_val(c['old'])} -> {_val(c['new'])}"
            )
    for key in ("role_changed", "instances_changed"):
        for c in cd[key]:
            lines.append(
                f"{c['field']} of {c['name']!r} ({c['id']}): {_val(c['old'])} -> {_val(c['new'])}"
            )
    for c in cd["other_changed"]:
        lines.append(f"{c['field']} of {c['name']!r} ({c['id']}) changed")
    if lines:
        blocks.append(Lines(lines))
    if cd["color_changed"]:
        rows = [[c["id"], c["name"], _rgb(c["old"]), _rgb(c["new"])] for c in cd["color_changed"]]
        blocks.append(Table(["id", what, "old colour", "new colour"], rows, "colours changed"))
    return blocks


def _fields_lines(fields: list[dict[str, Any]]) -> Lines | None:
    if not fields:
        return None
    out = []
    for f in fields:
        old, new = _val(f["old"]), _val(f["new"])
        if len(old) + len(new) > 120:
            out.append(f"{f['field']} changed")
        else:
            out.append(f"{f['field']}: {old} -> {new}")
    return Lines(out)


def diff_sections(report: DiffReport | TaxonomyDiff) -> list[Section]:
    """The report as renderer-neutral sections (see :mod:`harmonize.report.document`)."""
    if isinstance(report, TaxonomyDiff):
        report = DiffReport(report)
    d = report.to_dict()
    sections: list[Section] = []
    if not d["changed"]:
        sections.append(Section("No changes", [Lines(["the two taxonomy sets are equivalent"])]))
    for o in d["ontologies"]:
        s = Section(f"Ontology {o['name']} ({o['status']})")
        fl = _fields_lines(o["fields"])
        if fl:
            s.blocks.append(fl)
        if o["status"] == "changed":
            s.blocks += _classes_blocks(o["nodes"], "node", True)
            s.blocks += _classes_blocks(o["special"], "special value", False)
        else:
            n = len(o["nodes"][o["status"]])
            s.blocks.append(Lines([f"{o['status']} with {n} nodes"]))
        sections.append(s)
    for ds in d["datasets"]:
        s = Section(f"Dataset {ds['name']} ({ds['status']})")
        fl = _fields_lines(ds["fields"])
        if fl:
            s.blocks.append(fl)
        if ds["status"] == "changed":
            s.blocks += _classes_blocks(ds["classes"], "class", False)
        else:
            n = len(ds["classes"][ds["status"]])
            s.blocks.append(Lines([f"{ds['status']} with {n} native classes"]))
        sections.append(s)
    for m in d["mappings"]:
        s = Section(f"Mapping {m['dataset']} -> {m['ontology']} ({m['status']})")
        fl = _fields_lines(m["fields"])
        if fl:
            s.blocks.append(fl)
        if m["targets"]:
            rows = []
            for t in m["targets"]:
                old, new = t["old"], t["new"]
                rows.append(
                    [
                        t["id"],
                        t["name"],
                        t["change"],
                        old["to"] if old else None,
                        old["kind"] if old else None,
                        new["to"] if new else None,
                        new["kind"] if new else None,
                    ]
                )
            heads = ["id", "native class", "change", "old target", "old kind", "new target"]
            s.blocks.append(Table([*heads, "new kind"], rows, "native classes"))
        lines = []
        for mg in m["merges"]:
            parts = ", ".join(f"{x['id']} {x['name']!r} (was {x['old_to']})" for x in mg["from"])
            lines.append(f"merge into {mg['into']!r}: {parts}")
        for sp in m["splits"]:
            parts = ", ".join(f"{x['id']} {x['name']!r} -> {x['new_to']}" for x in sp["into"])
            lines.append(f"split of {sp['source']!r}: {parts}")
        if m["notes_changed"]:
            lines.append("notes changed for native ids " + ", ".join(map(str, m["notes_changed"])))
        if lines:
            s.blocks.append(Lines(lines))
        sections.append(s)
    imp = d["impact"]
    if imp is not None:
        s = Section(f"Data impact on {imp['store']}")
        rows = []
        for src, t in imp["totals"].items():
            rows.append(
                [
                    src,
                    t["pixels"],
                    t["pixels_changed"],
                    t["pixels_changed_max"],
                    t["instances"],
                    t["instances_changed"],
                    t["instances_changed_max"],
                ]
            )
        heads = ["source", "pixels", "changed (exact)", "changed (max)", "instances"]
        s.blocks.append(Table([*heads, "changed (exact)", "changed (max)"], rows, "per source"))
        if imp["groups"]:
            rows = []
            for g in imp["groups"]:
                moved = ", ".join(f"{m['id']} {m['name']} -> {m['new_output']}" for m in g["moved"])
                rows.append(
                    [
                        g["source"],
                        f"{g['output']} ({g['output_id']})",
                        moved,
                        g["pixels_changed"] if g["exact"] else f"<= {g['pixels_max']:,}",
                        g["instances_changed"]
                        if g["instances_changed"] is not None
                        else (f"<= {g['instances_max']:,}" if not g["exact"] else None),
                        "exact" if g["exact"] else "bound",
                        g["note"],
                    ]
                )
            heads = ["source", "stored class", "moving native classes", "pixels", "instances"]
            s.blocks.append(Table([*heads, "", "note"], rows, "per class"))
        if imp["relabels"]:
            rows = [
                [r["source"], r["name"], r["old_id"], r["new_id"], r["pixels"], r["instances"]]
                for r in imp["relabels"]
            ]
            heads = ["source", "class", "old id", "new id", "pixels", "instances"]
            s.blocks.append(Table(heads, rows, "renumbered classes (same class, new stored id)"))
        if imp["warnings"]:
            s.blocks.append(Lines(imp["warnings"]))
        sections.append(s)
    return sections


def render(report: DiffReport | TaxonomyDiff, fmt: str) -> str:
    """The report as ``json``, ``markdown`` or ``html`` text (for ``text`` use :func:`print_text`).

    Raises
    ------
    ValueError
        On an unknown format.
    """
    from harmonize.report.document import render_html, render_markdown

    if isinstance(report, TaxonomyDiff):
        report = DiffReport(report)
    title = "Taxonomy diff"
    sub = f"{report.diff.old} -> {report.diff.new}"
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return render_markdown(title, diff_sections(report), sub)
    if fmt == "html":
        return render_html(title, diff_sections(report), sub)
    raise ValueError(f"unknown format {fmt!r}; use text, markdown, json or html")


def print_text(report: DiffReport | TaxonomyDiff, console: Any) -> None:
    """Print the report with rich to ``console``."""
    from harmonize.report.document import render_text

    if isinstance(report, TaxonomyDiff):
        report = DiffReport(report)
    sub = f"{report.diff.old} -> {report.diff.new}"
    render_text(console, "Taxonomy diff", diff_sections(report), sub)
