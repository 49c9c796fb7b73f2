"""Mapillary Vistas v1.2 / v2.0 and IDD taxonomies, their mappings onto ``scene`` and
``cityscapes-19``.

The rules of ``test_scene_consistency.py`` that are written for Cityscapes, VOC and COCO-Stuff
(colour sources, renames) do not cover these datasets (its description rule does: the "From:"
lists name their classes too, and its rules' names are checked there); the rules that make
``scene`` lossless do, here: no two labels of one dataset share a scene node, only void
labels go to special values, thing labels keep instances, and a rule is ``coarse`` exactly when
its node has children.
"""

from __future__ import annotations

from collections import Counter

import pytest

from harmonize.taxonomy import compile_mapping, load_mapping, load_ontology, load_taxonomy

#: dataset -> (number of labels, number with instances, labels sent to special values)
FACTS = {
    # config.json v1.2: 66 labels, 37 instance-specific (mmseg MapillaryDataset_v1 docstring)
    "mapillary_vistas": (
        66,
        37,
        {
            "void--car-mount": "ignore",
            "void--ego-vehicle": "ignore",
            "void--unlabeled": "unlabeled",
        },
    ),
    # config_v2.0.json: 124 labels, 70 instance-specific + 2 not-evaluated ambiguous sign classes
    "mapillary_vistas_v2": (
        124,
        72,
        {
            "void--car-mount": "ignore",
            "void--ego-vehicle": "ignore",
            "void--unlabeled": "unlabeled",
            "void--dynamic": "background",
            "void--static": "background",
        },
    ),
    # AutoNUE anue_labels.py: 40 labels, 13 with instances (person .. vehicle fallback)
    "idd": (
        40,
        13,
        {
            "fallback background": "background",
            "unlabeled": "unlabeled",
            "ego vehicle": "ignore",
            "rectification border": "ignore",
            "out of roi": "ignore",
            "license plate": "ignore",
        },
    ),
}
MAPILLARY = ("mapillary_vistas", "mapillary_vistas_v2")
#: thing labels whose scene node is stuff (instances dropped, said in the rule's note)
THING_ON_STUFF = {"object--banner", "object--support--pole"}
APPROX = {
    "construction--barrier--other-barrier",
    "object--billboard",
    "void--dynamic",
    "void--static",
    "void--ground",
    "billboard",
    "obs-str-bar-fallback",
    "fallback background",
}


@pytest.mark.parametrize("dataset", sorted(FACTS))
def test_class_table(dataset: str) -> None:
    n, n_inst, _ = FACTS[dataset]
    tax = load_taxonomy(dataset)
    assert [c.id for c in tax.classes] == list(range(n))
    assert sum(c.instances for c in tax.classes) == n_inst
    assert len({c.name for c in tax.classes}) == n
    if dataset in MAPILLARY:
        assert all(c.category == c.name.split("--")[0] for c in tax.classes)
        assert [c.name for c in tax.classes if c.role != "class"] == ["void--unlabeled"]
        assert tax.classes[-1].color == (0, 0, 0)
    else:  # IDD: unlabeled (35) is the background of every rasterization
        assert [(c.id, c.name) for c in tax.classes if c.role != "class"] == [(35, "unlabeled")]


@pytest.mark.parametrize("dataset", sorted(FACTS))
def test_scene_mapping_is_lossless(dataset: str) -> None:
    tax, onto = load_taxonomy(dataset), load_ontology("scene")
    rules = load_mapping(dataset, "scene").rules
    nodes = {n.name: n for n in onto.nodes}
    parents = {n.parent for n in onto.nodes if n.parent}
    specials = {tax.classes[r.id].name: r.to for r in rules if r.to not in nodes}
    assert specials == FACTS[dataset][2]
    to_nodes = Counter(r.to for r in rules if r.to in nodes)
    assert [k for k, v in to_nodes.items() if v > 1] == []
    problems = []
    for r in rules:
        c = tax.classes[r.id]
        if r.to not in nodes:
            continue
        want = "approx" if c.name in APPROX else "coarse" if r.to in parents else "exact"
        if r.kind != want:
            problems.append(f"{c.name} -> {r.to}: kind {r.kind}, want {want}")
        thing_node = _instances(nodes, r.to)
        if c.instances and not thing_node and c.name not in THING_ON_STUFF:
            problems.append(f"thing {c.name} -> stuff node {r.to}")
    assert problems == []
    cm = compile_mapping(tax, onto, load_mapping(dataset, "scene"))
    assert len(set(cm.lut.tolist())) == len(to_nodes) + len(set(specials.values()))


def _instances(nodes: dict, name: str) -> bool:
    n = nodes[name]
    while n.instances is None and n.parent:
        n = nodes[n.parent]
    return bool(n.instances) if n.instances is not None else True


def test_new_scene_nodes_are_in_the_mapillary_range_or_shared() -> None:
    # ids 400-599 are this dataset family's; nodes of another helper's range are shared claims
    onto = load_ontology("scene")
    used = set()
    for d in FACTS:
        used |= {r.to for r in load_mapping(d, "scene").rules}
    new = [n for n in onto.nodes if n.name in used and n.id > 208]
    assert new
    shared = {
        "streetlight",
        "trash_can",
        "lane_marking",
        "road_shoulder",
        "traffic_cone",
        "bicyclist",
    }
    assert [n.name for n in new if not 400 <= n.id < 600 and n.name not in shared] == []
    # their own nodes say what they are before the "From: ..." list of the classes mapped onto
    # them (that list is checked by test_scene_consistency.py::rule_descriptions)
    own = [n for n in new if 400 <= n.id < 600]
    assert [n.name for n in own if not (n.description or "From: ").split("From: ")[0].strip()] == []


def test_idd_cityscapes19_is_autonue_cs_train_id() -> None:
    tax, onto = load_taxonomy("idd"), load_ontology("cityscapes-19")
    by_train_id = {n.id: n.name for n in onto.nodes}
    for r in load_mapping("idd", "cityscapes-19").rules:
        tid = int(tax.classes[r.id].attributes["csTrainId"])
        assert r.to == by_train_id.get(tid, "ignore"), tax.classes[r.id].name


def test_idd_levels_are_a_hierarchy() -> None:
    # every level is a merge of the next finer one (level4 -> level3 -> level2 -> level1), but for
    # one quirk of anue_labels.py as released: sidewalk and rail track share level4Id 3 and have
    # level3Ids 2 and 3 (kept as released; see the idd.yaml header)
    tax = load_taxonomy("idd")
    for fine, coarse in (
        ("level4Id", "level3Id"),
        ("level3Id", "level2Id"),
        ("level2Id", "level1Id"),
    ):
        up: dict[int, set[int]] = {}
        for c in tax.classes:
            up.setdefault(int(c.attributes[fine]), set()).add(int(c.attributes[coarse]))
        split = {k: v for k, v in up.items() if len(v) > 1}
        assert split == ({3: {2, 3}} if fine == "level4Id" else {}), (fine, split)
    assert len({c.attributes["level3Id"] for c in tax.classes} - {255}) == 26


@pytest.mark.parametrize("dataset", MAPILLARY)
def test_cityscapes19_mapping(dataset: str) -> None:
    tax, onto = load_taxonomy(dataset), load_ontology("cityscapes-19")
    rules = {tax.classes[r.id].name: r.to for r in load_mapping(dataset, "cityscapes-19").rules}
    # every Cityscapes class is reached; no void label is trained
    assert {n.name for n in onto.nodes} <= set(rules.values())
    assert all(rules[n] == "ignore" for n in rules if n.startswith("void--"))
    assert rules["construction--flat--road"] == "road"
    assert rules["human--rider--bicyclist"] == "rider"
    assert rules["object--vehicle--caravan"] == "ignore"  # Cityscapes ignores caravans
    compile_mapping(tax, onto, load_mapping(dataset, "cityscapes-19"))
