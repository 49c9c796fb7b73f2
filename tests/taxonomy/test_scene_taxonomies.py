"""The shipped scene taxonomies against the datasets' own tooling and documented conventions.

Independent references used here (never values read back from the YAML under test):

* the installed ``cityscapesscripts.helpers.labels`` / ``labels_cityPersons`` (cityscapesScripts);
* mmsegmentation's COCO-Stuff 164k converter table ``clsID_to_trID``, rebuilt in this file from its
  definition (reference scene_datasets.md §5.2: compact the used PNG values in ascending order,
  skipping the 11 unused ones, plus ``255: 255``) and its published spot values;
* the PASCAL VOC ``VOClabelcolormap`` bit-shuffling (reference §2.3), reimplemented here;
* COCO-Stuff's documented PNG convention (reference §3.2: value = id - 1, 255 = unlabeled).

Files are validated through the pydantic models and through harmonize's loader and compiler.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import TypeAdapter

from harmonize import datasets
from harmonize.taxonomy.catalog import list_files
from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology, TaxonomyFile

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "taxonomies"


# Derived from the shipped files and the registry, so a new scene dataset is checked without an
# edit here: the datasets mapped onto `scene`, the ontologies they map onto, their mappings, and
# the datasets read with one of their taxonomies (CityPersons uses Cityscapes').
_CATALOG = list_files(ROOT)
SCENE_MAPPED = tuple(sorted(d for d, o in _CATALOG.mappings if o == "scene"))
MAPPINGS = tuple(sorted((d, o) for d, o in _CATALOG.mappings if d in SCENE_MAPPED))
ONTOLOGIES = tuple(sorted({o for _, o in MAPPINGS}))
DATASETS = tuple(
    sorted(
        {*SCENE_MAPPED}
        | {
            n
            for n in datasets.names()
            if n in _CATALOG.datasets and datasets.get(n).taxonomy in SCENE_MAPPED
        }
    )
)
FILES = (
    [ROOT / "datasets" / f"{d}.yaml" for d in DATASETS]
    + [ROOT / "ontologies" / f"{o}.yaml" for o in ONTOLOGIES]
    + [ROOT / "mappings" / f"{d}__{o}.yaml" for d, o in MAPPINGS]
)

_ADAPTER: TypeAdapter[Any] = TypeAdapter(TaxonomyFile)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same results

# COCO thing ids without segmentations (reference §3.3: README / labels.md "Removed from COCO.").
COCO_UNUSED_IDS = (12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


@functools.cache
def _model(path: Path) -> DatasetTaxonomy | Ontology | Mapping:
    """The validated model of ``path`` (models are frozen, so sharing them is safe)."""
    with path.open(encoding="utf-8") as fh:
        return _ADAPTER.validate_python(yaml.load(fh, Loader=_LOADER))


def _dataset(name: str) -> DatasetTaxonomy:
    m = _model(ROOT / "datasets" / f"{name}.yaml")
    assert isinstance(m, DatasetTaxonomy)
    return m


def _ontology(name: str) -> Ontology:
    m = _model(ROOT / "ontologies" / f"{name}.yaml")
    assert isinstance(m, Ontology)
    return m


def _mapping(dataset: str, ontology: str) -> Mapping:
    m = _model(ROOT / "mappings" / f"{dataset}__{ontology}.yaml")
    assert isinstance(m, Mapping)
    return m


def _target_ids(dataset: str, ontology: str) -> dict[int, int]:
    """Native class id -> output id, by applying the mapping rules to the ontology by hand."""
    onto = _ontology(ontology)
    ids = {n.name: n.id for n in onto.nodes} | {s.name: s.id for s in onto.special}
    return {r.id: ids[r.to] for r in _mapping(dataset, ontology).rules}


def _compile_module() -> Any:
    import harmonize.taxonomy.compile

    return harmonize.taxonomy.compile


def voc_colormap(index: int) -> tuple[int, int, int]:
    """VOClabelcolormap.m for one index, written from the MATLAB source quoted in §2.3."""
    r = g = b = 0
    cid = index
    for j in range(8):
        r |= ((cid >> 0) & 1) << (7 - j)
        g |= ((cid >> 1) & 1) << (7 - j)
        b |= ((cid >> 2) & 1) << (7 - j)
        cid >>= 3
    return (r, g, b)


def mmseg_cls_id_to_tr_id() -> dict[int, int]:
    """mmsegmentation coco_stuff164k.py ``clsID_to_trID``, rebuilt from its definition (§5.2)."""
    unused_png = {i - 1 for i in COCO_UNUSED_IDS}
    used = [v for v in range(182) if v not in unused_png]
    table = {v: i for i, v in enumerate(used)}
    table[255] = 255
    return table


# ------------------------------------------------------------------------------------------------
# every file validates
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_validates_through_models(path: Path) -> None:
    model = _model(path)
    if isinstance(model, Mapping):
        assert path.stem == f"{model.dataset}__{model.ontology}"
    else:
        assert path.stem == model.name
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("#"), "every YAML starts with a comment block citing its sources"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_validates_through_loader(path: Path) -> None:
    from harmonize.taxonomy.loader import load_file

    model = load_file(path)
    assert model.kind in ("dataset", "ontology", "mapping")


@pytest.mark.parametrize(("dataset", "ontology"), MAPPINGS)
def test_mapping_compiles(dataset: str, ontology: str) -> None:
    compile_mod = _compile_module()
    cm = compile_mod.compile_mapping(
        _dataset(dataset), _ontology(ontology), _mapping(dataset, ontology)
    )
    assert cm.dataset == dataset and cm.ontology == ontology
    # The compiled LUT agrees with the rules applied by hand over every default-encoding value.
    tax = _dataset(dataset)
    enc = tax.encodings[0]
    expected = _target_ids(dataset, ontology)
    for cls in tax.classes:
        if enc.dtype == "str":
            continue
        value = next((v for v, cid in enc.special.items() if cid == cls.id), cls.id + enc.offset)
        assert cm.lut[value - cm.offset] == expected[cls.id], (cls.id, cls.name)


@pytest.mark.parametrize(("dataset", "ontology"), MAPPINGS)
def test_every_native_class_mapped_once(dataset: str, ontology: str) -> None:
    tax = _dataset(dataset)
    onto = _ontology(ontology)
    rules = _mapping(dataset, ontology).rules
    assert sorted(r.id for r in rules) == sorted(c.id for c in tax.classes)
    names = {c.id: c.name for c in tax.classes}
    targets = {n.name for n in onto.nodes} | {s.name for s in onto.special}
    for r in rules:
        assert r.name == names[r.id], f"rule {r.id}: name {r.name!r} != {names[r.id]!r}"
        assert r.to in targets, f"rule {r.id}: unknown target {r.to!r}"


# ------------------------------------------------------------------------------------------------
# Cityscapes against cityscapesscripts
# ------------------------------------------------------------------------------------------------


def test_cityscapes_equals_labels_py() -> None:
    from cityscapesscripts.helpers.labels import labels

    tax = _dataset("cityscapes")
    classes = {c.id: c for c in tax.classes}
    assert sorted(classes) == sorted(lab.id for lab in labels)
    train = _target_ids("cityscapes", "cityscapes-19")
    for lab in labels:
        c = classes[lab.id]
        assert c.name == lab.name
        assert c.category == lab.category
        assert c.instances == lab.hasInstances, lab.name
        assert c.attributes["ignoreInEval"] == lab.ignoreInEval, lab.name
        assert c.attributes["catId"] == lab.categoryId, lab.name
        assert c.attributes["trainId"] == lab.trainId, lab.name
        assert c.color == tuple(lab.color), lab.name
        # trainId from the mapping: 255 = ignore; license plate's trainId -1 is also ignore.
        want = 255 if lab.trainId in (255, -1) else lab.trainId
        assert train[lab.id] == want, lab.name
        assert c.role == ("unlabeled" if lab.id == 0 else "class"), lab.name


def test_cityscapes19_ontology_equals_labels_py() -> None:
    from cityscapesscripts.helpers.labels import labels

    onto = _ontology("cityscapes-19")
    evaluated = sorted((lab for lab in labels if not lab.ignoreInEval), key=lambda x: x.trainId)
    assert [n.id for n in onto.nodes] == list(range(19)) == [lab.trainId for lab in evaluated]
    for node, lab in zip(onto.nodes, evaluated, strict=True):
        assert (node.title or node.name) == lab.name
        assert node.name == lab.name.replace(" ", "_")
        assert node.color == tuple(lab.color)
        assert node.instances == lab.hasInstances
        assert node.parent is None
    assert [(s.id, s.role) for s in onto.special] == [(255, "ignore")]


def test_cityscapes19_lut_equals_labels_py_lut() -> None:
    from cityscapesscripts.helpers.labels import id2label

    # createTrainIdLabelImgs semantics: labelIds PNG value v -> id2label[v].trainId.
    expected = np.array([id2label[v].trainId for v in range(34)])
    table = _target_ids("cityscapes", "cityscapes-19")
    got = np.array([table[v] for v in range(34)])
    np.testing.assert_array_equal(got, expected)


def test_citypersons_equals_labels_citypersons_py() -> None:
    from cityscapesscripts.helpers.labels_cityPersons import labelsCp

    tax = _dataset("citypersons")
    assert tax.task == "boxes"
    classes = {c.id: c for c in tax.classes}
    assert sorted(classes) == sorted(lab.id for lab in labelsCp)
    for lab in labelsCp:
        c = classes[lab.id]
        assert c.name == lab.name
        assert c.instances == lab.hasInstances
        assert c.attributes["ignoreInEval"] == lab.ignoreInEval
        assert c.color == tuple(lab.color)


# ------------------------------------------------------------------------------------------------
# COCO-Stuff
# ------------------------------------------------------------------------------------------------


def test_mmseg_table_rebuild_matches_published_spot_values() -> None:
    # Guards the independent rebuild itself: spot values quoted from coco_stuff164k.py (§5.2).
    t = mmseg_cls_id_to_tr_id()
    spots = {10: 10, 12: 11, 24: 23, 26: 24, 27: 25, 30: 26, 43: 39, 45: 40, 64: 59, 66: 60}
    spots |= {69: 61, 71: 62, 81: 72, 83: 73, 89: 79, 91: 80, 181: 170, 255: 255}
    assert {k: t[k] for k in spots} == spots
    assert len(t) == 172


def test_coco_stuff_ids_and_encodings() -> None:
    tax = _dataset("coco_stuff")
    assert [c.id for c in tax.classes] == list(range(183))
    unused = sorted(c.id for c in tax.classes if c.attributes.get("unused"))
    assert unused == list(COCO_UNUSED_IDS)
    classes = {c.id: c for c in tax.classes}
    assert classes[0].role == "unlabeled" and classes[0].name == "unlabeled"
    # labels.txt spot names (§3.3): 1 person, 91 hair brush, 92 banner, 182 wood; 1..91 things.
    assert (classes[1].name, classes[91].name, classes[92].name, classes[182].name) == (
        "person",
        "hair brush",
        "banner",
        "wood",
    )
    for c in tax.classes[1:]:
        assert c.instances == (c.id <= 91 and c.id not in COCO_UNUSED_IDS), c.name
    png, mat = tax.encodings
    assert (png.name, mat.name) == ("stuffthingmaps_png", "cocostuff10k_mat")
    # §3.2: PNG value = id - 1, 255 = unlabeled; §3.4: .mat S = id.
    for c in tax.classes:
        value = next((v for v, cid in png.special.items() if cid == c.id), c.id + png.offset)
        assert value == (255 if c.id == 0 else c.id - 1)
        assert c.id + mat.offset == c.id and not mat.special
    assert len({c.color for c in tax.classes}) == 183


def _coco171_png_lut_by_hand() -> np.ndarray:
    """PNG value (0..255) -> coco-stuff-171 id through the YAML encoding and rules (255 elsewhere)."""
    tax = _dataset("coco_stuff")
    png = tax.encodings[0]
    table = _target_ids("coco_stuff", "coco-stuff-171")
    lut = np.full(256, -1, dtype=np.int64)
    for c in tax.classes:
        value = next((v for v, cid in png.special.items() if cid == c.id), c.id + png.offset)
        lut[value] = table[c.id]
    return lut


def test_coco_stuff_171_compaction_reproduced_exactly() -> None:
    mmseg = mmseg_cls_id_to_tr_id()
    lut = _coco171_png_lut_by_hand()
    for value in range(256):
        if value in mmseg:
            assert lut[value] == mmseg[value], value
        elif value <= 181:
            # The 11 unused values: mmseg passes them through (they never occur); here: ignore.
            assert lut[value] == 255, value
        else:
            assert lut[value] == -1, value  # 182..254 are not COCO-Stuff PNG values at all
    # ... and the compiled LUT (when the compiler exists) is the same table.
    compile_mod = _compile_module()
    cm = compile_mod.compile_mapping(
        _dataset("coco_stuff"),
        _ontology("coco-stuff-171"),
        _mapping("coco_stuff", "coco-stuff-171"),
    )
    for value in range(256):
        if value in mmseg:
            assert cm.lut[value - cm.offset] == mmseg[value], value


def test_coco_stuff_10k_mat_path_gives_the_same_train_ids() -> None:
    # §5.3: coco_stuff10k.py maps S (0..182) with 0 -> 0 and used ids -> 1..171, then
    # reduce_zero_label (0 -> 255, x -> x - 1) gives the 164k train ids.
    used = [i for i in range(1, 183) if i not in COCO_UNUSED_IDS]
    tenk = {0: 0} | {cid: k + 1 for k, cid in enumerate(used)}
    reduced = {s: (255 if v == 0 else v - 1) for s, v in tenk.items()}
    table = _target_ids("coco_stuff", "coco-stuff-171")
    for s, want in reduced.items():
        assert table[s] == want, s


def test_coco_stuff_171_ontology_names_in_mmseg_order() -> None:
    onto = _ontology("coco-stuff-171")
    tax = _dataset("coco_stuff")
    used = [c for c in tax.classes if c.id and c.id not in COCO_UNUSED_IDS]
    assert [n.id for n in onto.nodes] == list(range(171))
    assert [(n.title or n.name) for n in onto.nodes] == [c.name for c in used]
    assert onto.nodes[0].name == "person" and onto.nodes[-1].name == "wood"


# ------------------------------------------------------------------------------------------------
# PASCAL VOC
# ------------------------------------------------------------------------------------------------

VOC_CLASSES = (
    "background aeroplane bicycle bird boat bottle bus car cat chair cow diningtable dog horse "
    "motorbike person pottedplant sheep sofa train tvmonitor"
).split()


def test_voc_classes_and_palette() -> None:
    tax = _dataset("pascal_voc")
    assert [c.id for c in tax.classes] == [*range(21), 255]
    assert [c.name for c in tax.classes[:21]] == VOC_CLASSES
    for c in tax.classes:
        assert c.color == voc_colormap(c.id), c.name
    assert voc_colormap(255) == (224, 224, 192)  # the cream void colour quoted in §2.3
    roles = {c.id: c.role for c in tax.classes}
    assert roles[255] == "void" and roles[0] == "background"
    assert {e.name for e in tax.encodings} == {"segmentationclass_png", "sbd_mat"}


# ------------------------------------------------------------------------------------------------
# the scene ontology
# ------------------------------------------------------------------------------------------------

# Native classes allowed to share a target, each with the reason. Every one targets a special
# value (never a node): void / unlabeled values, catch-all classes that mean "none of this
# dataset's classes", COCO ids that never occur, and Cityscapes' license plate (never drawn).
SHARED_TARGET_OK: dict[str, dict[int, str]] = {
    "cityscapes": {
        0: "unlabeled: not annotated",
        1: "ego vehicle: the recording car, not scene content -> ignore",
        2: "rectification border: image artefact -> ignore",
        3: "out of roi: outside the annotated region -> ignore",
        4: "static: catch-all for objects outside Cityscapes' classes -> background",
        5: "dynamic: catch-all for movable objects outside Cityscapes' classes -> background",
        -1: "license plate: never drawn into any PNG -> ignore",
    },
    "pascal_voc": {
        0: "background: none of VOC's 20 classes -> background",
        255: "void: boundary band -> ignore",
    },
    "coco_stuff": {0: "unlabeled"}
    | {i: "unused COCO thing id (never occurs)" for i in COCO_UNUSED_IDS},
}


@pytest.mark.parametrize("dataset", SCENE_MAPPED)
def test_scene_loses_no_class(dataset: str) -> None:
    onto = _ontology("scene")
    specials = {s.name for s in onto.special}
    tax = _dataset(dataset)
    by_target: dict[str, list[int]] = defaultdict(list)
    for r in _mapping(dataset, "scene").rules:
        by_target[r.to].append(r.id)
    allowed = SHARED_TARGET_OK[dataset]
    for target, ids in by_target.items():
        real = [i for i in ids if i not in allowed]
        assert len(real) <= 1, f"{dataset}: classes {real} all map to {target!r}"
        if real:
            assert target not in specials, f"{dataset}: class {real[0]} maps to {target!r}"
    for i in allowed:
        rule = next(r for r in _mapping(dataset, "scene").rules if r.id == i)
        assert rule.to in specials, (i, rule.to)
    # Every class of the dataset that is not in the allowed list reaches a real node.
    assert {c.id for c in tax.classes} - set(allowed) == {
        r.id for r in _mapping(dataset, "scene").rules if r.to not in specials
    }


def test_scene_covers_every_coco_stuff_171_class_and_voc_class() -> None:
    node_names = {n.name for n in _ontology("scene").nodes}
    coco_targets = [r.to for r in _mapping("coco_stuff", "scene").rules if r.to in node_names]
    assert len(coco_targets) == len(set(coco_targets)) == 171
    voc_targets = [r.to for r in _mapping("pascal_voc", "scene").rules if r.to in node_names]
    assert len(voc_targets) == len(set(voc_targets)) == 20


def test_scene_shares_nodes_across_datasets() -> None:
    # The point of a shared ontology: the same concept gets one node. Pairs from the datasets'
    # documented class definitions and MSeg (§4.2-§4.4).
    cs = {r.name: r.to for r in _mapping("cityscapes", "scene").rules}
    voc = {r.name: r.to for r in _mapping("pascal_voc", "scene").rules}
    coco = {r.name: r.to for r in _mapping("coco_stuff", "scene").rules}
    assert cs["road"] == coco["road"]
    assert cs["sidewalk"] == coco["pavement"]
    assert cs["rail track"] == coco["railroad"]
    assert cs["car"] == voc["car"] == coco["car"]
    assert cs["bicycle"] == voc["bicycle"] == coco["bicycle"]
    assert cs["motorcycle"] == voc["motorbike"] == coco["motorcycle"]
    assert cs["bus"] == voc["bus"] == coco["bus"]
    assert cs["train"] == voc["train"] == coco["train"]
    assert voc["sofa"] == coco["couch"]
    assert voc["diningtable"] == coco["dining table"]
    assert voc["tvmonitor"] == coco["tv"]
    assert voc["aeroplane"] == coco["airplane"]
    assert voc["pottedplant"] == coco["potted plant"]
    assert voc["person"] == coco["person"]
    # Cityscapes person (pedestrian) and rider are distinct children of VOC/COCO person.
    parents = {n.name: n.parent for n in _ontology("scene").nodes}
    assert cs["person"] != cs["rider"]
    assert parents[cs["person"]] == parents[cs["rider"]] == voc["person"]


def test_scene_tree_is_well_formed() -> None:
    onto = _ontology("scene")
    ids = [n.id for n in onto.nodes] + [s.id for s in onto.special]
    assert len(ids) == len(set(ids))
    top = {"uint8": 255, "uint16": 65535}[onto.dtype or "uint8"]
    assert max(ids) <= top
    assert len({n.color for n in onto.nodes}) == len(onto.nodes), "node colours are distinct"
    parents = {n.name: n.parent for n in onto.nodes}
    for name in parents:
        seen = {name}
        cur = parents[name]
        while cur is not None:
            assert cur in parents and cur not in seen, f"bad parent chain at {name}"
            seen.add(cur)
            cur = parents[cur]
    assert {s.role for s in onto.special} == {"unlabeled", "background", "ignore"}
    # `instances` is explicit on every node; a group is a thing class only if all children are.
    kids: dict[str, list[str]] = defaultdict(list)
    inst = {n.name: n.instances for n in onto.nodes}
    for n in onto.nodes:
        if n.parent:
            kids[n.parent].append(n.name)
    assert all(v is not None for v in inst.values())
    for group, children in kids.items():
        assert inst[group] == all(inst[c] for c in children), group


@pytest.mark.parametrize("dataset", SCENE_MAPPED)
def test_scene_coarse_kind_iff_target_has_children(dataset: str) -> None:
    onto = _ontology("scene")
    has_children = {n.parent for n in onto.nodes if n.parent}
    node_names = {n.name for n in onto.nodes}
    for r in _mapping(dataset, "scene").rules:
        if r.to not in node_names:
            continue
        assert (r.kind == "coarse") == (r.to in has_children), (dataset, r.id, r.name, r.to)


def test_scene_roots_match_cityscapes_categories() -> None:
    # Cutting the scene tree at its roots must reproduce labels.py's categories for every
    # Cityscapes class that maps to a node (human -> person).
    from cityscapesscripts.helpers.labels import id2label

    parents = {n.name: n.parent for n in _ontology("scene").nodes}
    rename = {"human": "person"}
    for r in _mapping("cityscapes", "scene").rules:
        if r.to not in parents:
            continue
        root = r.to
        while parents[root] is not None:
            root = parents[root]
        category = id2label[r.id].category
        if category == "void":
            continue  # ground -> ground_other (approx), documented in the mapping
        assert root == rename.get(category, category), (r.name, root)


@pytest.mark.parametrize("dataset", SCENE_MAPPED)
def test_scene_thing_classes_land_on_thing_nodes(dataset: str) -> None:
    onto = _ontology("scene")
    inst = {n.name: n.instances for n in onto.nodes}
    tax = {c.id: c for c in _dataset(dataset).classes}
    for r in _mapping(dataset, "scene").rules:
        if r.to in inst and tax[r.id].instances:
            assert inst[r.to], f"{dataset} thing {tax[r.id].name!r} -> stuff node {r.to!r}"
    if dataset == "coco_stuff":  # COCO-Stuff is the thing/stuff authority: stuff -> stuff too
        for r in _mapping(dataset, "scene").rules:
            if r.to in inst and tax[r.id].attributes.get("thing") is False:
                assert not inst[r.to], (r.name, r.to)


def test_scene_cityscapes_lut_through_compiler() -> None:
    # License plate (-1) and the full id range compile; the compiled table equals the rules.
    compile_mod = _compile_module()
    cm = compile_mod.compile_mapping(
        _dataset("cityscapes"), _ontology("scene"), _mapping("cityscapes", "scene")
    )
    table = _target_ids("cityscapes", "scene")
    assert cm.offset <= -1 or -1 not in table
    for cid, out in table.items():
        assert cm.lut[cid - cm.offset] == out
    assert cm.out_dtype == np.uint8
    # Instances survive for every Cityscapes thing class (all map to thing nodes).
    from cityscapesscripts.helpers.labels import labels

    for lab in labels:
        if lab.id >= 0:
            assert bool(cm.keep_instances[lab.id - cm.offset]) == lab.hasInstances, lab.name


# ------------------------------------------------------------------------------------------------
# the generator
# ------------------------------------------------------------------------------------------------


def test_generator_is_in_sync_with_the_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    # scripts/gen_scene_taxonomies.py must reproduce the shipped files (so re-running it is safe).
    reference = REPO.parent / "shared" / "reference" / "scene_datasets.md"
    if not reference.exists():
        pytest.skip(f"reference text not available at {reference}")
    spec = importlib.util.spec_from_file_location(
        "gen_scene_taxonomies", REPO / "scripts" / "gen_scene_taxonomies.py"
    )
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, gen)  # dataclasses look their module up
    spec.loader.exec_module(gen)
    texts = gen.generate(reference, ROOT)
    assert sorted(texts) == sorted(FILES)
    stale = [p.name for p, text in texts.items() if p.read_text(encoding="utf-8") != text]
    assert not stale, f"out of date with scripts/gen_scene_taxonomies.py: {stale}"
