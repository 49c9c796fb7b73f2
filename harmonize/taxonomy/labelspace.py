"""Per-source label spaces: which output classes a source labels exactly, coarsely, or not at all.

A merged store mixes sources that label different things (Kumar only "nucleus", PanNuke
"inflammatory" where MoNuSAC says lymphocyte or macrophage). :func:`label_space` derives, from a
source's taxonomy, mapping and the ontology (and the level cut of the run), what the source's labels
can and cannot tell apart. The definition (also in ``docs/partial-labels.md``):

Let ``O`` be the output classes (every ontology node, or the level's cut plus nodes kept by the
coarse policy) arranged as a tree by their nearest output ancestor, ``leaves(n)`` the output leaves
at or below ``n``, and ``L`` the source's labels: the output nodes some declared native class maps
to. For an output node ``n``:

* ``coarse`` -- a strict output ancestor of ``n`` is in ``L``: a pixel of class ``n`` may carry that
  ancestor's label, so the source cannot say whether a pixel is ``n``. ``via`` names the nearest such
  ancestor (the deepest label above ``n``).
* ``exact`` -- not coarse, and the labels at or below ``n`` cover all of it: ``leaves(n)`` is the
  union of ``leaves(m)`` over ``m in L`` in the subtree of ``n``. The source decides for every pixel
  whether it is ``n``. (A label ``n`` itself covers ``n``.)
* ``partial`` -- not coarse, not exact, but some label lies below ``n``: the source names some of
  ``n``'s children and not others (MoNuSAC names lymphocyte, neutrophil and macrophage under
  ``immune``, not plasma or eosinophil). Only internal nodes can be partial.
* ``absent`` -- no label at, above or below ``n``: the source never names it (its pixels, if any,
  carry another label, e.g. VOC's background for trucks).

One-to-many rules (a mapping rule's ``covers``, docs/taxonomy-format.md) widen this: a label
``o`` whose native classes cover further output nodes stands for their leaves too; those nodes
(when not labels themselves) are ``coarse`` via ``o``, and so is ``o`` itself (via ``o``: a pixel
labelled ``o`` may be any of them).

The dataset mask (``valid``) is every node that is not absent, plus background when the source maps
a class to it. A label ``o`` in ``L`` *stands for* ``leaves(o)``; that table drives partial-label
losses (``-log sum_{l in leaves(o)} p(l)``).

The mapping rule kinds (``exact`` / ``coarse`` / ``approx``) are reported per class but do not change
the status: the tree already says what a label covers, and ``approx`` is a semantic caveat.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harmonize.taxonomy import hierarchy as h
from harmonize.taxonomy.compile import CoarsePolicy, LevelSpec, compile_mapping
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology

__all__ = ["ClassStatus", "LabelSpace", "SpecialStatus", "Status", "label_space"]

#: Status of an output class in a source's label space.
Status = Literal["exact", "coarse", "partial", "absent"]


@dataclass(frozen=True)
class ClassStatus:
    """What one source says about one ontology node.

    Attributes
    ----------
    id, name : int, str
        The node's output id and name.
    status : {"exact", "coarse", "partial", "absent"}
        See the module docstring.
    output : bool
        Whether the node is an output class of the run (``False``: below or beside the level's cut;
        then ``status`` is ``"absent"``).
    via, via_id : str or None, int or None
        For ``coarse``: the nearest output ancestor the source labels.
    label : bool
        Whether the source writes this id (some native class maps to it).
    leaves : tuple of int
        For a label: the output-leaf ids it stands for (itself when it is a leaf); else empty.
    natives : tuple of dict
        The native classes mapped to this id: ``{"id", "name", "kind"}`` (rule kind).
    """

    id: int
    name: str
    status: Status
    output: bool = True
    via: str | None = None
    via_id: int | None = None
    label: bool = False
    leaves: tuple[int, ...] = ()
    natives: tuple[dict[str, Any], ...] = ()

    @property
    def valid(self) -> bool:
        """Whether the source's labels carry information about this class (not absent)."""
        return self.status != "absent"

    @property
    def approx(self) -> bool:
        """Whether a native class reaches this id through an ``approx`` rule."""
        return any(n["kind"] == "approx" for n in self.natives)


@dataclass(frozen=True)
class SpecialStatus:
    """Whether one source writes one special value (background, ignore, unlabeled, ambiguous)."""

    id: int
    name: str
    role: str
    emitted: bool
    natives: tuple[dict[str, Any], ...] = ()

    @property
    def valid(self) -> bool:
        """Only background is a class of the dataset mask (when the source writes it)."""
        return self.role == "background" and self.emitted


@dataclass(frozen=True)
class LabelSpace:
    """A source's label space over an ontology (see the module docstring).

    Attributes
    ----------
    dataset, ontology : str
        Names of the dataset taxonomy and the ontology.
    cut : list of str or None
        The level's cut (``None``: every node is an output class).
    classes : tuple of ClassStatus
        One entry per ontology node, in ontology file order.
    specials : tuple of SpecialStatus
        One entry per special value of the ontology.
    instances : bool
        Whether the source gives instances (some native class keeps instances in the output).
    class_info : bool
        Whether the source's labels say which class a nucleus/object is beyond "an object": it
        writes two or more node labels, or a label that is not a root of the output tree.
        Kumar, MoNuSeg and CPM-17 (only the root ``nucleus``): ``False``.
    """

    dataset: str
    ontology: str
    cut: tuple[str, ...] | None
    classes: tuple[ClassStatus, ...]
    specials: tuple[SpecialStatus, ...]
    instances: bool
    class_info: bool
    _by_name: dict[str, ClassStatus | SpecialStatus] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._by_name.update({c.name: c for c in self.classes})
        self._by_name.update({s.name: s for s in self.specials})

    @property
    def gives(self) -> Literal["both", "instances", "classes", "none"]:
        """``"both"``, ``"instances"`` (class unknown), ``"classes"`` (no instances) or ``"none"``."""
        if self.instances and self.class_info:
            return "both"
        if self.instances:
            return "instances"
        return "classes" if self.class_info else "none"

    def __getitem__(self, name: str) -> ClassStatus | SpecialStatus:
        """The entry of a node or special value, by name."""
        return self._by_name[name]

    def status(self, name: str) -> str:
        """The status of node ``name`` (``"exact"``, ``"coarse"``, ``"partial"``, ``"absent"``)."""
        entry = self._by_name[name]
        if isinstance(entry, SpecialStatus):
            raise KeyError(f"{name!r} is a special value, not a node")
        return entry.status

    def valid_ids(self) -> list[int]:
        """Output ids of the dataset mask: non-absent nodes, and background when written."""
        out = [c.id for c in self.classes if c.valid]
        out += [s.id for s in self.specials if s.valid]
        return sorted(out)

    def coarse_labels(self) -> dict[int, list[int]]:
        """Label id -> the output-leaf ids it stands for, for labels that are not leaves."""
        return {c.id: list(c.leaves) for c in self.classes if c.label and c.leaves != (c.id,)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what the store keeps in ``label_spaces[source]``)."""
        return {
            "dataset": self.dataset,
            "ontology": self.ontology,
            "cut": list(self.cut) if self.cut is not None else None,
            "gives": self.gives,
            "instances": self.instances,
            "class_info": self.class_info,
            "classes": [
                {
                    "id": c.id,
                    "name": c.name,
                    "status": c.status,
                    "output": c.output,
                    "via": c.via,
                    "via_id": c.via_id,
                    "label": c.label,
                    "leaves": list(c.leaves),
                    "natives": [dict(n) for n in c.natives],
                    "approx": c.approx,
                }
                for c in self.classes
            ],
            "specials": [
                {
                    "id": s.id,
                    "name": s.name,
                    "role": s.role,
                    "emitted": s.emitted,
                    "natives": [dict(n) for n in s.natives],
                }
                for s in self.specials
            ],
        }

    @classmethod
    def from_dict(cls, data: AbcMapping[str, Any]) -> LabelSpace:
        """Inverse of :meth:`to_dict`."""
        return cls(
            dataset=data["dataset"],
            ontology=data["ontology"],
            cut=tuple(data["cut"]) if data.get("cut") is not None else None,
            classes=tuple(
                ClassStatus(
                    id=int(c["id"]),
                    name=c["name"],
                    status=c["status"],
                    output=bool(c["output"]),
                    via=c.get("via"),
                    via_id=c.get("via_id"),
                    label=bool(c["label"]),
                    leaves=tuple(int(v) for v in c["leaves"]),
                    natives=tuple(dict(n) for n in c["natives"]),
                )
                for c in data["classes"]
            ),
            specials=tuple(
                SpecialStatus(
                    id=int(s["id"]),
                    name=s["name"],
                    role=s["role"],
                    emitted=bool(s["emitted"]),
                    natives=tuple(dict(n) for n in s["natives"]),
                )
                for s in data["specials"]
            ),
            instances=bool(data["instances"]),
            class_info=bool(data["class_info"]),
        )


def label_space(
    taxonomy: DatasetTaxonomy,
    ontology: Ontology,
    mapping: Mapping,
    level: LevelSpec = None,
    *,
    coarse_policy: CoarsePolicy = "keep",
) -> LabelSpace:
    """The label space of a source: the status of every ontology node for it.

    Parameters
    ----------
    taxonomy, ontology, mapping
        The source's dataset taxonomy, the ontology and the mapping between them.
    level : Level, int, iterable of str or dict, optional
        The run's level cut (as for :func:`~harmonize.taxonomy.compile_mapping`).
    coarse_policy : {"keep", "ignore"}
        The run's policy for targets coarser than the cut (as for ``compile_mapping``).

    Returns
    -------
    LabelSpace

    Raises
    ------
    TaxonomyError
        When the three files are inconsistent (the mapping is compiled first).
    """
    cm = compile_mapping(taxonomy, ontology, mapping, level, coarse_policy=coarse_policy)
    nodes = h.node_map(ontology)
    special_by_id = {s.id: s for s in ontology.special}
    node_by_id = {n.id: n.name for n in ontology.nodes}
    outputs = {name for name in cm.class_names.values() if name in nodes}

    # native classes per output id (from the compiler's report: what the table really does)
    natives_of: dict[int, list[dict[str, Any]]] = {}
    for item in cm.report["outputs"]:
        natives_of[int(item["id"])] = [
            {"id": int(e["id"]), "name": e["name"], "kind": e["kind"]} for e in item["sources"]
        ]
    labels = {node_by_id[i] for i in natives_of if i in node_by_id}
    # one-to-many rules (`covers`): a label whose native classes cover further output nodes
    # stands for those too (Cityscapes "rider" -> bicyclist covers rider_other and motorcyclist)
    rule_of = {r.id: r for r in mapping.rules}
    covered_by: dict[str, set[str]] = {}
    for out_id, nat in natives_of.items():
        if out_id in node_by_id:
            for e in nat:
                for c in rule_of[e["id"]].covers:
                    if c in outputs and c != node_by_id[out_id]:
                        covered_by.setdefault(node_by_id[out_id], set()).add(c)

    # the output tree: parent = nearest output ancestor
    def out_ancestors(name: str) -> list[str]:
        return [a for a in h.ancestors(ontology, name) if a in outputs]

    out_desc = {n: [d for d in h.descendants(ontology, n) if d in outputs] for n in outputs}
    leaves = {n: [d for d in [n, *out_desc[n]] if not out_desc[d]] for n in outputs}

    order = {n.name: i for i, n in enumerate(ontology.nodes)}
    entries: list[ClassStatus] = []
    for node in ontology.nodes:
        name = node.name
        natives = tuple(natives_of.get(node.id, ()))
        if name not in outputs:
            entries.append(ClassStatus(node.id, name, "absent", output=False, natives=natives))
            continue
        above = [a for a in out_ancestors(name) if a in labels]
        is_label = name in labels
        stands_for = set(leaves[name]).union(*(leaves[c] for c in covered_by.get(name, ())))
        my_leaves = tuple(nodes[x].id for x in sorted(stands_for, key=order.__getitem__))
        kw: dict[str, Any] = {
            "label": is_label,
            "leaves": my_leaves if is_label else (),
            "natives": natives,
        }
        if above:
            via = above[0]
            entries.append(
                ClassStatus(node.id, name, "coarse", via=via, via_id=nodes[via].id, **kw)
            )
            continue
        # a label that covers more (a one-to-many rule) cannot say a pixel is its own node either
        over = [name] if is_label and name in covered_by else []
        over += sorted(
            (lab for lab, cov in covered_by.items() if name in cov and not is_label),
            key=order.__getitem__,
        )
        if over:
            via = over[0]
            entries.append(
                ClassStatus(node.id, name, "coarse", via=via, via_id=nodes[via].id, **kw)
            )
            continue
        below = [m for m in [name, *out_desc[name]] if m in labels]
        covered = {leaf for m in below for leaf in leaves[m]}
        if below and covered >= set(leaves[name]):
            status: Status = "exact"
        elif below:
            status = "partial"
        else:
            status = "absent"
        entries.append(ClassStatus(node.id, name, status, **kw))

    specials = tuple(
        SpecialStatus(s.id, s.name, s.role, s.id in natives_of, tuple(natives_of.get(s.id, ())))
        for s in sorted(special_by_id.values(), key=lambda s: s.id)
    )
    declared = cm.declared
    instances = bool((cm.keep_instances & declared).any())
    roots = {n for n in outputs if not out_ancestors(n)}
    class_info = len(labels) >= 2 or any(n not in roots for n in labels)
    cut = cm.report.get("cut")
    return LabelSpace(
        dataset=taxonomy.name,
        ontology=ontology.name,
        cut=tuple(cut) if cut is not None else None,
        classes=tuple(entries),
        specials=specials,
        instances=instances,
        class_info=class_info,
    )
