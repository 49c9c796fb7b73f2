"""The shipped scene taxonomies against the datasets' own tooling and converters.

Independent references used here (never values read back from the YAML under test):

* the installed ``cityscapesscripts.helpers.labels`` / ``labels_cityPersons`` (cityscapesScripts);
* mmsegmentation's COCO-Stuff 164k converter table ``clsID_to_trID``, rebuilt in this file from its
  definition (open-mmlab/mmsegmentation tools/dataset_converters/coco_stuff164k.py: compact the
  used PNG values in ascending order, skipping the 11 unused ones, plus ``255: 255``) and its
  published spot values; its 10k converter (coco_stuff10k.py) with ``reduce_zero_label``;
* COCO-Stuff's documented PNG convention (nightrome/cocostuff README: stuffthingmaps value =
  id - 1, 255 = unlabeled; cocostuff-10k ``.mat`` ``S`` = id).

Files are read through harmonize's loader and mappings applied through its compiler. The rules
between the files themselves (names, instance flags, colours, losslessness, ...) are in
test_scene_consistency.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harmonize.taxonomy import (
    DatasetTaxonomy,
    Mapping,
    Ontology,
    compile_mapping,
    load_mapping,
    load_ontology,
    load_taxonomy,
)

ROOT = Path(__file__).resolve().parents[2] / "taxonomies"

MAPPINGS = (
    ("cityscapes", "cityscapes-19"),
    ("cityscapes", "scene"),
    ("pascal_voc", "scene"),
    ("coco_stuff", "coco-stuff-171"),
    ("coco_stuff", "scene"),
)

# COCO thing ids without segmentations (nightrome/cocostuff README / labels.md "Removed from COCO.").
COCO_UNUSED_IDS = (12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _dataset(name: str) -> DatasetTaxonomy:
    return load_taxonomy(ROOT / "datasets" / f"{name}.yaml")


def _ontology(name: str) -> Ontology:
    return load_ontology(ROOT / "ontologies" / f"{name}.yaml")


def _mapping(dataset: str, ontology: str) -> Mapping:
    return load_mapping(ROOT / "mappings" / f"{dataset}__{ontology}.yaml")


def _target_ids(dataset: str, ontology: str) -> dict[int, int]:
    """Native class id -> output id, by applying the mapping rules to the ontology by hand."""
    onto = _ontology(ontology)
    ids = {n.name: n.id for n in onto.nodes} | {s.name: s.id for s in onto.special}
    return {r.id: ids[r.to] for r in _mapping(dataset, ontology).rules}


def mmseg_cls_id_to_tr_id() -> dict[int, int]:
    """mmsegmentation coco_stuff164k.py ``clsID_to_trID``, rebuilt from its definition."""
    unused_png = {i - 1 for i in COCO_UNUSED_IDS}
    used = [v for v in range(182) if v not in unused_png]
    table = {v: i for i, v in enumerate(used)}
    table[255] = 255
    return table


# ------------------------------------------------------------------------------------------------
# every mapping compiles to its rules
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dataset", "ontology"), MAPPINGS)
def test_mapping_compiles(dataset: str, ontology: str) -> None:
    cm = compile_mapping(_dataset(dataset), _ontology(ontology), _mapping(dataset, ontology))
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
    # Guards the independent rebuild itself: spot values quoted from coco_stuff164k.py.
    t = mmseg_cls_id_to_tr_id()
    spots = {10: 10, 12: 11, 24: 23, 26: 24, 27: 25, 30: 26, 43: 39, 45: 40, 64: 59, 66: 60}
    spots |= {69: 61, 71: 62, 81: 72, 83: 73, 89: 79, 91: 80, 181: 170, 255: 255}
    assert {k: t[k] for k in spots} == spots
    assert len(t) == 172


def test_coco_stuff_encodings() -> None:
    tax = _dataset("coco_stuff")
    png, mat, stuff_json = tax.encodings
    assert (png.name, mat.name) == ("stuffthingmaps_png", "cocostuff10k_mat")
    # stuff-only JSON: category_id is the id; 183 'other' (things merged) is no class: unlabeled
    assert stuff_json.name == "stuff_json" and stuff_json.offset == 0
    assert stuff_json.special == {0: 0, 183: 0}
    # stuffthingmaps: PNG value = id - 1, 255 = unlabeled; cocostuff-10k .mat S = id.
    for c in tax.classes:
        value = next((v for v, cid in png.special.items() if cid == c.id), c.id + png.offset)
        assert value == (255 if c.id == 0 else c.id - 1)
        assert c.id + mat.offset == c.id and not mat.special


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
    # ... and the compiled LUT is the same table.
    cm = compile_mapping(
        _dataset("coco_stuff"),
        _ontology("coco-stuff-171"),
        _mapping("coco_stuff", "coco-stuff-171"),
    )
    for value in range(256):
        if value in mmseg:
            assert cm.lut[value - cm.offset] == mmseg[value], value


def test_coco_stuff_10k_mat_path_gives_the_same_train_ids() -> None:
    # coco_stuff10k.py maps S (0..182) with 0 -> 0 and used ids -> 1..171, then
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
# the scene ontology
# ------------------------------------------------------------------------------------------------


def test_scene_person_splits_into_cityscapes_pedestrian_and_rider() -> None:
    # VOC and COCO-Stuff person include riders; Cityscapes separates person and rider. Both
    # Cityscapes classes are distinct children of the node VOC and COCO-Stuff person map to.
    cs = {r.name: r.to for r in _mapping("cityscapes", "scene").rules}
    voc = {r.name: r.to for r in _mapping("pascal_voc", "scene").rules}
    coco = {r.name: r.to for r in _mapping("coco_stuff", "scene").rules}
    parents = {n.name: n.parent for n in _ontology("scene").nodes}
    assert cs["person"] != cs["rider"]
    assert parents[cs["person"]] == parents[cs["rider"]] == voc["person"] == coco["person"]


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


def test_scene_cityscapes_lut_through_compiler() -> None:
    # License plate (-1) and the full id range compile; the compiled table equals the rules.
    cm = compile_mapping(
        _dataset("cityscapes"), _ontology("scene"), _mapping("cityscapes", "scene")
    )
    table = _target_ids("cityscapes", "scene")
    assert cm.offset <= -1 or -1 not in table
    for cid, out in table.items():
        assert cm.lut[cid - cm.offset] == out
    assert cm.out_dtype == np.dtype(_ontology("scene").dtype) == np.uint16
    # Instances survive for every Cityscapes thing class (all map to thing nodes).
    from cityscapesscripts.helpers.labels import labels

    for lab in labels:
        if lab.id >= 0:
            assert bool(cm.keep_instances[lab.id - cm.offset]) == lab.hasInstances, lab.name
