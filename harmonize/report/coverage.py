"""Coverage: which dataset labels which ontology node, how precisely, and (with a store) how much.

States of a (dataset, node) cell, from the dataset's mapping rules onto the ontology, first match
wins:

``exact``
    a native class maps onto the node with kind ``exact``;
``approx``
    a native class maps onto the node with kind ``approx`` (a semantic mismatch the mapping flags,
    e.g. PanNuke "Neoplastic" -> ``neoplastic_epithelial``);
``coarse``
    a native class maps onto the node with kind ``coarse`` (e.g. Lizard "Connective tissue" ->
    ``stromal``);
``coarse`` (via an ancestor)
    a native class maps onto a strict ancestor of the node: the node's nuclei are in the data but
    labelled only at that ancestor (PanNuke "Inflammatory" -> ``immune`` makes ``lymphocyte``
    coarse);
``exact`` (through finer classes)
    no class maps onto the node or above it, but classes map onto its descendants that together
    cover every leaf under it (Lizard at ``lymphoid``: lymphocyte and plasma) -- the label-space
    definition of exact (``docs/partial-labels.md``);
``partial``
    as above, but the descendants labelled leave some leaf uncovered (MoNuSAC at ``myeloid``:
    macrophage and neutrophil, no eosinophil class);
``absent``
    none of the above.

Rules onto special values (background, ignore, ...) never cover a node.

A split ``A`` vs ``B`` (two nodes, neither an ancestor of the other) is *distinguished* by a dataset
when it has a native class mapped into ``A``'s subtree (``A`` or below) and another mapped into
``B``'s subtree: then its labels separate the two. A class mapped to a common ancestor does not.

With a store, a cell also holds the stored pixel and instance counts of the node's own output id
(not its subtree), summed over the store sources of that dataset; splits give subtree sums.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from harmonize._records import Record, sorted_by
from harmonize.errors import ConfigError
from harmonize.report.document import Lines, Section, Styled, Table
from harmonize.taxonomy import hierarchy as h
from harmonize.taxonomy.models import Ontology

__all__ = [
    "STATES",
    "Cell",
    "Coverage",
    "Row",
    "RuleView",
    "SplitResult",
    "compute_coverage",
    "coverage_for",
    "coverage_sections",
    "print_text",
    "render",
    "rows_from_catalog",
    "rows_from_config",
    "rows_from_store",
    "split",
    "store_counts",
]

#: Cell states, best first.
STATES = ("exact", "approx", "coarse", "partial", "absent")


@dataclass(frozen=True)
class RuleView(Record):
    """One mapping rule as coverage sees it."""

    id: int
    name: str
    to: str
    kind: str


@dataclass(frozen=True)
class Row:
    """One row of the matrix: a dataset (or a store source) and its rules."""

    name: str
    dataset: str
    rules: tuple[RuleView, ...]


@dataclass(frozen=True)
class Cell(Record):
    """One (row, node) cell: the state, the rules that decided it, and stored counts."""

    state: str
    via: tuple[RuleView, ...] = field(default=(), metadata=sorted_by("id"))
    pixels: int | None = None
    instances: int | None = None


@dataclass(frozen=True)
class SplitResult:
    """Which rows distinguish node ``a`` from node ``b``, and why the others do not."""

    a: str
    b: str
    rows: tuple[dict[str, Any], ...]

    @property
    def datasets(self) -> list[str]:
        """Names of the rows that distinguish the two nodes."""
        return [r["name"] for r in self.rows if r["distinguishes"]]

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "distinguish": self.datasets, "rows": list(self.rows)}


@dataclass(frozen=True)
class Coverage:
    """The datasets x nodes matrix of an ontology."""

    ontology: Ontology
    rows: tuple[Row, ...]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    counts: dict[str, dict[int, tuple[int, int]]] | None = None

    @property
    def nodes(self) -> list[str]:
        return [n.name for n in self.ontology.nodes]

    def state(self, row: str, node: str) -> str:
        return self.cells[(row, node)].state

    def rows_with(self, node: str, state: str) -> list[str]:
        """Rows whose cell at ``node`` is in ``state``."""
        return [r.name for r in self.rows if self.cells[(r.name, node)].state == state]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ontology": self.ontology.name,
            "nodes": [
                {"id": n.id, "name": n.name, "parent": n.parent} for n in self.ontology.nodes
            ],
            "rows": [{"name": r.name, "dataset": r.dataset} for r in self.rows],
            "with_counts": self.counts is not None,
            "cells": {
                r.name: {n: self.cells[(r.name, n)].to_dict() for n in self.nodes}
                for r in self.rows
            },
        }


def _cell(onto: Ontology, node: str, rules: tuple[RuleView, ...]) -> Cell:
    nodes = h.node_map(onto)
    on = [r for r in rules if r.to == node]
    for kind in ("exact", "approx", "coarse"):
        hit = tuple(r for r in on if r.kind == kind)
        if hit:
            return Cell(kind, hit)
    above = set(h.ancestors(onto, node))
    hit = tuple(r for r in rules if r.to in above and r.to in nodes)
    if hit:
        return Cell("coarse", hit)
    below = set(h.descendants(onto, node))
    hit = tuple(r for r in rules if r.to in below)
    if hit:
        # finer labels that together cover every leaf under the node label it completely (the
        # label-space definition of `exact`, docs/partial-labels.md); otherwise only in part
        leaves = set(h.leaves_under(onto, node))
        covered = set().union(*(h.leaves_under(onto, r.to) for r in hit))
        return Cell("exact" if leaves <= covered else "partial", hit)
    return Cell("absent")


def compute_coverage(
    ontology: Ontology,
    rows: list[Row],
    counts: dict[str, dict[int, tuple[int, int]]] | None = None,
) -> Coverage:
    """The coverage matrix of ``rows`` over ``ontology``'s nodes.

    Parameters
    ----------
    ontology : Ontology
    rows : list of Row
        Datasets (or store sources) and their rules onto ``ontology``.
    counts : dict, optional
        Row name -> {output id: (pixels, instances)} from a store.
    """
    cells: dict[tuple[str, str], Cell] = {}
    for row in rows:
        rc = counts.get(row.name, {}) if counts is not None else None
        for n in ontology.nodes:
            c = _cell(ontology, n.name, row.rules)
            if rc is not None:
                px, ins = rc.get(n.id, (0, 0))
                c = Cell(c.state, c.via, px, ins)
            cells[(row.name, n.name)] = c
    return Coverage(ontology, tuple(rows), cells, counts)


def split(cov: Coverage, a: str, b: str) -> SplitResult:
    """Which rows distinguish node ``a`` from node ``b`` (see the module docstring).

    Raises
    ------
    ConfigError
        When a name is not a node, the two are equal, or one is an ancestor of the other.
    """
    onto = cov.ontology
    nodes = h.node_map(onto)
    for n in (a, b):
        if n not in nodes:
            raise ConfigError(
                f"{n!r} is not a node of ontology {onto.name!r} (nodes: {', '.join(nodes)})"
            )
    if a == b or a in h.ancestors(onto, b) or b in h.ancestors(onto, a):
        raise ConfigError(
            f"a split needs two nodes neither of which contains the other; got {a!r} and {b!r}"
        )
    sub_a = {a, *h.descendants(onto, a)}
    sub_b = {b, *h.descendants(onto, b)}
    common = set(h.ancestors(onto, a)) & set(h.ancestors(onto, b))
    ids_a = {nodes[n].id for n in sub_a}
    ids_b = {nodes[n].id for n in sub_b}
    out = []
    for row in cov.rows:
        ra = [r for r in row.rules if r.to in sub_a]
        rb = [r for r in row.rules if r.to in sub_b]
        lumps = [r for r in row.rules if r.to in common]
        yes = bool(ra and rb)
        if yes:
            kinds = sorted({r.kind for r in ra + rb})
            reason = "both sides labelled" + ("" if kinds == ["exact"] else f" (kinds: {kinds})")
        elif ra or rb:
            side, other = (a, b) if ra else (b, a)
            reason = f"labels {side!r} but has no class for {other!r}"
        elif lumps:
            reason = "labels both only together, as " + ", ".join(
                sorted({repr(r.to) for r in lumps})
            )
        else:
            reason = "labels neither"
        item: dict[str, Any] = {
            "name": row.name,
            "dataset": row.dataset,
            "distinguishes": yes,
            "reason": reason,
            "a_rules": [r.to_dict() for r in ra],
            "b_rules": [r.to_dict() for r in rb],
        }
        if cov.counts is not None:
            rc = cov.counts.get(row.name, {})
            item["a_pixels"] = sum(rc.get(i, (0, 0))[0] for i in ids_a)
            item["a_instances"] = sum(rc.get(i, (0, 0))[1] for i in ids_a)
            item["b_pixels"] = sum(rc.get(i, (0, 0))[0] for i in ids_b)
            item["b_instances"] = sum(rc.get(i, (0, 0))[1] for i in ids_b)
        out.append(item)
    return SplitResult(a, b, tuple(out))


# --------------------------------------------------------------------------------------------
# Where rows come from
# --------------------------------------------------------------------------------------------


def _rules_of(mapping: Any, taxonomy: Any | None) -> tuple[RuleView, ...]:
    names = {c.id: c.name for c in taxonomy.classes} if taxonomy is not None else {}
    return tuple(
        RuleView(r.id, names.get(r.id) or r.name or str(r.id), r.to, r.kind) for r in mapping.rules
    )


def rows_from_catalog(ontology: Ontology, root: str | PathLike[str] | None = None) -> list[Row]:
    """One row per dataset with a mapping onto ``ontology`` in the taxonomy catalogue."""
    from harmonize.taxonomy.catalog import list_files
    from harmonize.taxonomy.loader import load_file

    cat = list_files(root)
    rows = []
    for (dataset, onto_name), path in sorted(cat.mappings.items()):
        if onto_name != ontology.name:
            continue
        mapping = load_file(path, kind="mapping")
        tax = load_file(cat.datasets[dataset], kind="dataset") if dataset in cat.datasets else None
        rows.append(Row(dataset, dataset, _rules_of(mapping, tax)))
    return rows


def rows_from_config(ontology: Ontology, config: str | PathLike[str]) -> list[Row]:
    """One row per source of a run config (with its mapping override, if any).

    Raises
    ------
    ConfigError
        When the config is onto another ontology.
    """
    from harmonize.pipeline.config import load_config
    from harmonize.pipeline.plan import config_ontology, source_taxonomy

    cfg = load_config(config)
    onto_name = config_ontology(cfg).name
    if onto_name != ontology.name:
        raise ConfigError(
            f"the config is onto ontology {onto_name!r}, not {ontology.name!r}", path=cfg.path
        )
    rows = []
    for sc in cfg.sources:
        tax, mapping = source_taxonomy(cfg, sc, onto_name)
        rows.append(Row(sc.source_name, sc.dataset, _rules_of(mapping, tax)))
    return rows


def rows_from_store(ontology: Ontology, store: Any) -> list[Row]:
    """One row per store source, with the rules the store was built with (its mapping reports).

    Raises
    ------
    ConfigError
        When the store is in another ontology.
    """
    if store.meta["ontology"]["name"] != ontology.name:
        raise ConfigError(
            f"the store is in ontology {store.meta['ontology']['name']!r}, not {ontology.name!r}",
            path=getattr(store, "url", None),
        )
    rows = []
    for src in store.sources:
        rep = store.meta["mappings"][src]["report"]
        # what the store holds: a rule's target rolled up through the store's level cut
        rules = [
            RuleView(
                int(e["id"]),
                e["name"],
                out["name"] if out.get("role") == "class" else e["to"],
                e["kind"],
            )
            for out in rep["outputs"]
            for e in out["sources"]
        ]
        rows.append(Row(src, rep["dataset"], tuple(sorted(rules, key=lambda r: r.id))))
    return rows


def store_counts(store: Any) -> dict[str, dict[int, tuple[int, int]]]:
    """Per store source: output id -> (pixels, instances), summed over its samples."""
    out = {}
    for src in store.sources:
        c = store.counts([src])
        out[src] = {
            int(i): (int(p), int(n))
            for i, p, n in zip(c["class_ids"], c["pixels"], c["instances"], strict=True)
        }
    return out


def coverage_for(
    ontology: str | PathLike[str] | Ontology,
    *,
    config: str | PathLike[str] | None = None,
    store: Any = None,
) -> Coverage:
    """The coverage of ``ontology``: over a config's sources, a store's sources, or the catalogue.

    Parameters
    ----------
    ontology : str, path-like or Ontology
        Name (``"nuclei"``), path or model.
    config : path-like, optional
        A run config: one row per source.
    store : Store or str, optional
        An opened store or its path: rows from its sources (unless ``config`` is given) and counts.
    """
    from harmonize.taxonomy import load_ontology

    onto = ontology if isinstance(ontology, Ontology) else load_ontology(ontology)
    if isinstance(store, str | PathLike):
        from harmonize.store import open_store

        store = open_store(str(store))
    if config is not None:
        rows = rows_from_config(onto, config)
    elif store is not None:
        rows = rows_from_store(onto, store)
    else:
        rows = rows_from_catalog(onto)
    counts = store_counts(store) if store is not None else None
    return compute_coverage(onto, rows, counts)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

_SHORT = {"exact": "exact", "approx": "approx", "coarse": "coarse", "partial": "partial"}


def _cell_text(c: Cell) -> Styled:
    text = _SHORT.get(c.state, "\u00b7")
    if c.pixels is not None and (c.pixels or c.instances):
        text += f" {c.pixels:,} px / {c.instances:,}"
    return Styled(text, c.state)


def coverage_sections(cov: Coverage, sp: SplitResult | None = None) -> list[Section]:
    """The matrix (nodes as rows, indented by depth; datasets as columns) and an optional split."""
    onto = cov.ontology
    rows = []
    for n in onto.nodes:
        label = "  " * h.depth(onto, n.name) + n.name
        rows.append([n.id, label, *(_cell_text(cov.cells[(r.name, n.name)]) for r in cov.rows)])
    heads = ["id", "node", *(r.name for r in cov.rows)]
    legend = (
        "exact / approx: a native class maps onto the node (kind exact / approx); coarse: mapped "
        "onto it with kind coarse, or only onto an ancestor; partial: only descendants labelled; "
        "\u00b7 absent"
    )
    if cov.counts is not None:
        legend += "; counts are stored pixels / instances at the node's own id"
    sections = [Section(f"Coverage of {onto.name}", [Table(heads, rows), Lines([legend])])]
    if sp is not None:
        srows = []
        for r in sp.rows:
            row = [
                r["name"],
                Styled("yes", "exact") if r["distinguishes"] else Styled("no", "absent"),
            ]
            row.append(r["reason"])
            if cov.counts is not None:
                row += [r["a_pixels"], r["a_instances"], r["b_pixels"], r["b_instances"]]
            srows.append(row)
        sh = ["dataset", "distinguishes", "why"]
        if cov.counts is not None:
            sh += [f"{sp.a} px", f"{sp.a} inst", f"{sp.b} px", f"{sp.b} inst"]
        answer = ", ".join(sp.datasets) or "none"
        sections.append(
            Section(
                f"Split {sp.a} vs {sp.b}",
                [
                    Lines([f"datasets that distinguish {sp.a} from {sp.b}: {answer}"]),
                    Table(sh, srows),
                ],
            )
        )
    return sections


def render(cov: Coverage, fmt: str, sp: SplitResult | None = None) -> str:
    """``json``, ``markdown`` or ``html`` text of the coverage (and split).

    Raises
    ------
    ValueError
        On an unknown format.
    """
    from harmonize.report.document import render_html, render_markdown

    if fmt == "json":
        d = cov.to_dict()
        if sp is not None:
            d["split"] = sp.to_dict()
        return json.dumps(d, indent=2, sort_keys=True) + "\n"
    title = f"Coverage of {cov.ontology.name}"
    if fmt == "markdown":
        return render_markdown(title, coverage_sections(cov, sp))
    if fmt == "html":
        return render_html(title, coverage_sections(cov, sp))
    raise ValueError(f"unknown format {fmt!r}; use text, markdown, json or html")


def print_text(cov: Coverage, console: Any, sp: SplitResult | None = None) -> None:
    """Print the coverage with rich."""
    from harmonize.report.document import render_text

    render_text(console, f"Coverage of {cov.ontology.name}", coverage_sections(cov, sp))
