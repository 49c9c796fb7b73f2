"""Per-source label spaces, checked against the YAML files read with plain ``yaml.safe_load``.

The reference below does not use the definition the code implements (nearest labelled ancestor,
covering of leaves). It uses what that definition is meant to capture: for every true leaf class,
which labels the source could write for it, and whether a label decides membership in a node.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harmonize.taxonomy import list_files, load_mapping, load_ontology, load_taxonomy
from harmonize.taxonomy.labelspace import LabelSpace, label_space

TAX = Path(__file__).resolve().parents[2] / "taxonomies"


def _yaml(kind: str, name: str) -> dict:
    return yaml.safe_load((TAX / kind / f"{name}.yaml").read_text())


class SemanticReference:
    """Statuses from 'which labels can a true leaf produce' (no level)."""

    def __init__(self, dataset: str, ontology: str) -> None:
        onto = _yaml("ontologies", ontology)
        self.parent = {n["name"]: n.get("parent") for n in onto["nodes"]}
        names = list(self.parent)
        self.leaves = [n for n in names if n not in set(self.parent.values())]
        rules = _yaml("mappings", f"{dataset}__{ontology}")["rules"]
        self.labels = {r["to"] for r in rules if r["to"] in self.parent}
        self.order = {n: i for i, n in enumerate(names)}
        # one-to-many rules: a label stands for the nodes its rules `cover` too
        self.covers: dict[str, set[str]] = {}
        for r in rules:
            if r["to"] in self.parent:
                self.covers.setdefault(r["to"], set()).update(r.get("covers", ()))
        self._under: dict[str, set[str]] = {}
        covered = set().union(*(self.producible(m) for m in self.labels)) if self.labels else set()
        self.uncovered = set(self.leaves) - covered

    def chain(self, n: str) -> list[str]:
        out = [n]
        while self.parent[out[-1]] is not None:
            out.append(self.parent[out[-1]])
        return out

    def under(self, n: str) -> set[str]:
        if n not in self._under:
            self._under[n] = {leaf for leaf in self.leaves if n in self.chain(leaf)}
        return self._under[n]

    def producible(self, label: str | None) -> set[str]:
        """True leaves that can carry ``label`` (``None``: no label of the source covers them)."""
        if label is None:
            return self.uncovered
        return self.under(label).union(*(self.under(c) for c in self.covers.get(label, ())))

    def status(self, n: str) -> tuple[str, str | None]:
        mine = self.under(n)
        above = [a for a in self.chain(n)[1:] if a in self.labels]
        if above:
            return "coarse", above[0]
        # a label standing for more than n (and all of it): the node itself first
        wider = [y for y in self.labels if mine < self.producible(y)]
        if wider:
            return "coarse", min(wider, key=lambda y: (y != n, self.order[y]))
        hits = [y for y in [*self.labels, None] if self.producible(y) & mine]
        decides = all(self.producible(y) <= mine for y in hits) and None not in hits
        if hits and decides:
            return "exact", None
        if any(y is not None for y in hits):
            return "partial", None
        return "absent", None


SHIPPED = sorted(list_files().mappings)


@pytest.mark.parametrize(("dataset", "ontology"), SHIPPED, ids=[f"{d}-{o}" for d, o in SHIPPED])
def test_statuses_match_the_semantic_reference(dataset: str, ontology: str) -> None:
    ref = SemanticReference(dataset, ontology)
    space = label_space(
        load_taxonomy(dataset), load_ontology(ontology), load_mapping(dataset, ontology)
    )
    assert [c.name for c in space.classes] == list(ref.parent)
    ids = {n["name"]: n["id"] for n in _yaml("ontologies", ontology)["nodes"]}
    for c in space.classes:
        assert (c.status, c.via) == ref.status(c.name), f"{dataset}->{ontology}: {c.name}"
        assert c.label == (c.name in ref.labels)
        if c.label:
            assert set(c.leaves) == {ids[x] for x in ref.producible(c.name)}


def _space(dataset: str, level=None, **kw) -> LabelSpace:
    return label_space(
        load_taxonomy(dataset),
        load_ontology("nuclei"),
        load_mapping(dataset, "nuclei"),
        level,
        **kw,
    )


def test_kumar_gives_instances_of_unknown_class() -> None:
    # hand-derived from kumar__nuclei.yaml (nucleus -> root) and the nuclei tree
    s = _space("kumar")
    assert s.gives == "instances" and s.instances and not s.class_info
    assert s.status("nucleus") == "exact"
    for c in s.classes[1:]:
        assert (c.status, c.via) == ("coarse", "nucleus"), c.name
    leaves = {
        "neoplastic_epithelial",
        "non_neoplastic_epithelial",
        "lymphocyte",
        "plasma",
        "macrophage",
        "neutrophil",
        "eosinophil",
        "fibroblast",
        "muscle",
        "endothelial",
        "dead",
        "other",
    }
    ids = {c.name: c.id for c in s.classes}
    assert s.coarse_labels() == {ids["nucleus"]: sorted(ids[x] for x in leaves)}
    assert s["background"].emitted and not s["ambiguous"].emitted


def test_pannuke_monusac_consep_by_hand() -> None:
    p = _space("pannuke")
    assert p.gives == "both"
    assert p.status("immune") == "exact" and p.status("stromal") == "exact"
    assert (p["lymphocyte"].status, p["lymphocyte"].via) == ("coarse", "immune")
    assert (p["muscle"].status, p["muscle"].via) == ("coarse", "stromal")
    assert p.status("other") == "absent"  # PanNuke has no "other" class
    assert p.status("nucleus") == "partial"
    assert p["neoplastic_epithelial"].approx and p.status("epithelial") == "exact"
    assert p["ignore"].emitted  # void pixels
    m = _space("monusac")
    assert m.status("lymphocyte") == "exact" and m.status("plasma") == "absent"
    assert m.status("immune") == "partial" and m.status("eosinophil") == "absent"
    assert (m["non_neoplastic_epithelial"].status, m["non_neoplastic_epithelial"].via) == (
        "coarse",
        "epithelial",
    )
    assert m["ambiguous"].emitted and m.status("stromal") == "absent"
    c = _space("consep")
    assert c.status("dead") == "absent" and c.status("stromal") == "exact"
    assert c.status("fibroblast") == "exact" and c.status("plasma") == "coarse"


def test_level_cut_and_coarse_policy() -> None:
    # depth 1: epithelial, immune, stromal, dead, other; Kumar's nucleus is coarser than the cut
    kept = _space("kumar", 1)
    out = {c.name for c in kept.classes if c.output}
    assert out == {"nucleus", "epithelial", "immune", "stromal", "dead", "other"}
    assert kept.status("nucleus") == "exact"
    for name in ("epithelial", "immune", "stromal", "dead", "other"):
        assert kept[name].via == "nucleus"
    assert kept.status("lymphocyte") == "absent" and not kept["lymphocyte"].output
    assert kept["nucleus"].leaves == tuple(
        kept[n].id for n in ("epithelial", "immune", "stromal", "dead", "other")
    )
    dropped = _space("kumar", 1, coarse_policy="ignore")
    assert dropped.gives == "none"
    assert all(c.status == "absent" for c in dropped.classes)
    assert dropped["ignore"].emitted
    consep = _space("consep", 1)
    assert consep.status("immune") == "exact" and consep.status("dead") == "absent"
    assert consep.coarse_labels() == {}  # every label is a leaf of the cut


def test_dict_round_trip_is_json() -> None:
    s = _space("monusac")
    d = json.loads(json.dumps(s.to_dict()))
    back = LabelSpace.from_dict(d)
    assert back.to_dict() == s.to_dict()
    assert back.valid_ids() == s.valid_ids()
    assert d["gives"] == "both"


def _readme_loss():
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("## Training on merged sets", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # the README snippet, as written
    return scope["marginal_nll"]


def test_readme_partial_label_loss_by_hand() -> None:
    import math

    import numpy as np

    loss = _readme_loss()
    # columns: 0 background, 1 node "a" (root), 2 leaf "b" under a, 3 leaf "c" under a, 4 leaf
    # "d" the source never names (absent), 5 ignore
    coarse_of = np.zeros((6, 6), bool)
    coarse_of[0, 0] = True
    coarse_of[1, [2, 3]] = True  # coarse label a stands for b and c
    coarse_of[2, 2] = True  # exact leaf label b
    logits = np.zeros((6, 1, 4))
    logits[:, 0, :] = np.array([0.0, 5.0, 1.0, 2.0, 9.0, 3.0])[:, None]
    labels = np.array([[1, 2, 0, 5]])  # a, b, background, ignore
    # by hand: softmax over {background, b, c} = e^0, e^1, e^2 (d and the node a are not leaves
    # of this source; ignore is out of the loss)
    total = 1.0 + math.e + math.e**2
    want = (
        -(math.log((math.e + math.e**2) / total) + math.log(math.e / total) + math.log(1.0 / total))
        / 3
    )
    assert loss(logits, labels, coarse_of) == pytest.approx(want, rel=1e-12)
    # a coarse label costs less than any one of its leaves, never more
    only_a = loss(logits[:, :, :1], labels[:, :1], coarse_of)
    assert only_a == pytest.approx(0.094344277, rel=1e-8)  # -ln(10.1073379/11.1073379)
    assert loss(logits[:, :, 3:], labels[:, 3:], coarse_of) == 0.0  # only ignore pixels
