"""mseg-194 (MSeg's universal taxonomy) against MSeg's master table, its mappings and its coverage.

The expected values below are copied by hand from mseg-dataset/mseg-api
mseg/class_remapping_files/MSeg_master.tsv at commit 2bd00ae8c224d94cbc7ff9b47fde6ae8420adc27 (the
`universal`, `cityscapes-34` and `voc2012` columns), independently of the YAML files under test.
"""

from __future__ import annotations

import pytest

from harmonize.errors import TaxonomyError
from harmonize.pipeline.demo import configs_dir
from harmonize.report.coverage import compute_coverage, coverage_for, render, rows_from_config
from harmonize.taxonomy import (
    compile_mapping,
    list_files,
    load_mapping,
    load_ontology,
    load_taxonomy,
)
from harmonize.taxonomy.models import Mapping
from harmonize.taxonomy.reverse import evaluation_mapping

#: The tsv's `universal` column, row by row (row index = MSeg's id; "~" stands for a space).
UNIVERSAL = """
backpack umbrella bag tie suitcase case bird cat dog horse sheep cow elephant bear zebra giraffe
animal_other microwave radiator oven toaster storage_tank conveyor_belt sink refrigerator
washer_dryer fan dishwasher toilet bathtub shower tunnel bridge pier_wharf tent building ceiling
laptop keyboard mouse remote cell~phone television floor stage banana apple sandwich orange
broccoli carrot hot_dog pizza donut cake fruit_other food_other chair_other armchair
swivel_chair stool seat couch trash_can potted_plant nightstand bed table pool_table barrel desk
ottoman wardrobe crib basket chest_of_drawers bookshelf counter_other bathroom_counter
kitchen_island door light_other lamp sconce chandelier mirror whiteboard shelf stairs escalator
cabinet fireplace stove arcade_machine gravel platform playingfield railroad road snow
sidewalk_pavement runway terrain book box clock vase scissors plaything_other teddy_bear
hair_dryer toothbrush painting poster bulletin_board bottle cup wine_glass knife fork spoon bowl
tray range_hood plate person rider_other bicyclist motorcyclist paper streetlight road_barrier
mailbox cctv_camera junction_box traffic_sign traffic_light fire_hydrant parking_meter bench
bike_rack billboard sky pole fence railing_banister guard_rail mountain_hill rock frisbee skis
snowboard sports_ball kite baseball_bat baseball_glove skateboard surfboard tennis_racket net
base sculpture column fountain awning apparel banner flag blanket curtain_other shower_curtain
pillow towel rug_floormat vegetation bicycle car autorickshaw motorcycle airplane bus train
truck trailer boat_ship slow_wheeled_object river_lake sea water_other swimming_pool waterfall
wall window window_blind unlabeled
""".split()
UNIVERSAL = [u.replace("~", " ") for u in UNIVERSAL]

#: The tsv's `cityscapes-34` column: Cityscapes class -> universal class (unlabeled = 255).
CITYSCAPES_34 = {
    "unlabeled": "unlabeled",
    "ego vehicle": "unlabeled",
    "rectification border": "unlabeled",
    "out of roi": "unlabeled",
    "static": "unlabeled",
    "dynamic": "unlabeled",
    "ground": "unlabeled",
    "road": "road",
    "sidewalk": "sidewalk_pavement",
    "parking": "unlabeled",
    "rail track": "railroad",
    "building": "building",
    "wall": "wall",
    "fence": "fence",
    "guard rail": "guard_rail",
    "bridge": "bridge",
    "tunnel": "tunnel",
    "pole": "pole",
    "polegroup": "pole",
    "traffic light": "traffic_light",
    "traffic sign": "traffic_sign",
    "vegetation": "vegetation",
    "terrain": "terrain",
    "sky": "sky",
    "person": "person",
    "rider": "bicyclist",
    "car": "car",
    "truck": "truck",
    "bus": "bus",
    "caravan": "car",
    "trailer": "trailer",
    "train": "train",
    "motorcycle": "motorcycle",
    "bicycle": "bicycle",
}

#: The tsv's `voc2012` column where it is not `background` (universal -> VOC class); the
#: `unlabeled` row is blank.
VOC2012 = {
    "bird": "bird",
    "cat": "cat",
    "dog": "dog",
    "horse": "horse",
    "sheep": "sheep",
    "cow": "cow",
    "television": "tvmonitor",
    "chair_other": "chair",
    "armchair": "chair",
    "swivel_chair": "chair",
    "stool": "chair",
    "seat": "chair",
    "couch": "sofa",
    "potted_plant": "pottedplant",
    "table": "diningtable",
    "bottle": "bottle",
    "person": "person",
    "rider_other": "person",
    "bicyclist": "person",
    "motorcyclist": "person",
    "bicycle": "bicycle",
    "car": "car",
    "motorcycle": "motorbike",
    "airplane": "aeroplane",
    "bus": "bus",
    "train": "train",
    "boat_ship": "boat",
}


def _uid(name: str) -> int:
    """MSeg's id of a universal class: its row, or 255 for `unlabeled` (TaxonomyConverter)."""
    return 255 if name == "unlabeled" else UNIVERSAL.index(name)


def test_the_copy_of_the_tsv_is_whole() -> None:
    assert len(UNIVERSAL) == 195 and len(set(UNIVERSAL)) == 195
    assert UNIVERSAL[0] == "backpack" and UNIVERSAL[193] == "window_blind"
    assert UNIVERSAL[194] == "unlabeled"


def test_every_msegs_class_is_a_node_with_msegs_id() -> None:
    onto = load_ontology("mseg-194")
    got = {n.id: (n.title or n.name) for n in onto.nodes}
    assert got == {i: u for i, u in enumerate(UNIVERSAL[:194])}
    # identifiers: MSeg's name with the one space spelled as an underscore
    assert {n.name for n in onto.nodes} == {u.replace(" ", "_") for u in UNIVERSAL[:194]}
    assert all(n.parent is None for n in onto.nodes)  # flat, as MSeg


def test_unlabeled_is_ignore_255_and_194_is_unused() -> None:
    onto = load_ontology("mseg-194")
    assert [(s.id, s.role) for s in onto.special] == [(255, "ignore")]
    assert 194 not in {n.id for n in onto.nodes}
    assert onto.dtype == "uint8"


def test_cityscapes_is_the_cityscapes_34_column() -> None:
    tax, onto = load_taxonomy("cityscapes"), load_ontology("mseg-194")
    cm = compile_mapping(tax, onto, load_mapping("cityscapes", "mseg-194"))
    for c in tax.classes:
        want = 255 if c.id < 0 else _uid(CITYSCAPES_34[c.name])  # license plate: not in MSeg
        assert cm.lut[c.id - cm.offset] == want, c.name


def test_cityscapes_merges_only_what_msegs_table_merges() -> None:
    tax, onto = load_taxonomy("cityscapes"), load_ontology("mseg-194")
    cm = compile_mapping(tax, onto, load_mapping("cityscapes", "mseg-194"))
    merged = {m["name"]: sorted(s["name"] for s in m["sources"]) for m in cm.report["merged"]}
    assert merged == {"pole": ["pole", "polegroup"], "car": ["car", "caravan"]}


def test_rider_is_one_to_many_with_msegs_relabeled_classes() -> None:
    m = load_mapping("cityscapes", "mseg-194")
    (rider,) = [r for r in m.rules if r.name == "rider"]
    # MSeg's relabeled column gives Cityscapes' riders as these three (the per-instance lists in
    # mseg/relabeled_data/cityscapes_rider); the unrelabeled column keeps them at bicyclist
    assert (rider.to, rider.kind) == ("bicyclist", "coarse")
    assert set(rider.covers) == {"rider_other", "bicyclist", "motorcyclist"}
    # no other rule of a training mapping is one-to-many
    assert [r.name for r in m.rules if r.covers] == ["rider"]


def test_coverage_shows_exactly_the_split_cells() -> None:
    cov = coverage_for("mseg-194")
    rows = {r.name for r in cov.rows}
    assert rows == {d for d, o in list_files().mappings if o == "mseg-194"}
    cells = {n: cov.state("cityscapes", n) for n in cov.nodes}
    assert {n for n, s in cells.items() if s == "split"} == {"rider_other", "motorcyclist"}
    assert {n for n, s in cells.items() if s == "coarse"} == {"bicyclist"}
    assert cells["car"] == "exact" and cells["cat"] == "absent"
    # VOC's background stands for the 167 universal classes MSeg scores as background
    voc = {n: cov.state("pascal_voc", n) for n in cov.nodes}
    assert voc["truck"] == "split" and voc["armchair"] == "split"
    assert voc["chair_other"] == "coarse" and voc["cat"] == "exact"
    assert sum(s == "split" for s in voc.values()) == 167 + 4 + 3
    text = render(cov, "markdown")
    assert "split" in text


def test_split_cells_are_not_distinguished_by_the_dataset() -> None:
    from harmonize.report.coverage import split

    cov = coverage_for("mseg-194")
    res = {r["name"]: r["distinguishes"] for r in split(cov, "bicyclist", "motorcyclist").rows}
    assert res["cityscapes"] is False


def _rider_rule_changed(**change) -> Mapping:
    m = load_mapping("cityscapes", "mseg-194")
    data = m.model_dump()
    for r in data["rules"]:
        if r["name"] == "rider":
            r.update(change)
    return Mapping.model_validate(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "exact"}, "kind 'coarse'"),
        ({"covers": ["rider_other", "bicylist"]}, "did you mean 'bicyclist'"),
        ({"covers": ["rider_other", "motorcyclist"]}, "list it"),
        ({"covers": ["bicyclist"]}, "more than the rule's own target"),
        ({"covers": ["bicyclist", "bicyclist", "person"]}, "distinct"),
    ],
)
def test_bad_covers_are_refused(change: dict, message: str) -> None:
    tax, onto = load_taxonomy("cityscapes"), load_ontology("mseg-194")
    with pytest.raises(TaxonomyError, match=message):
        compile_mapping(tax, onto, _rider_rule_changed(**change))


def test_voc_evaluation_is_msegs_matrix() -> None:
    cm = evaluation_mapping("mseg-194", "pascal_voc", unmatched="background")
    voc = {c.name: c.id for c in load_taxonomy("pascal_voc").classes}
    for i, u in enumerate(UNIVERSAL[:194]):
        want = voc[VOC2012[u]] if u in VOC2012 else voc["background"]
        assert cm.lut[i] == want, u
    assert cm.lut[255] == voc["void"]
    rep = cm.report
    collapsed = {c["to_name"]: len(c["from"]) for c in rep["collapsed"]}
    assert collapsed == {"background": 167, "chair": 5, "person": 4}
    assert not rep["unrecoverable"] and not rep["ambiguous"]


def test_coverage_of_the_shipped_config() -> None:
    onto = load_ontology("mseg-194")
    rows = rows_from_config(onto, configs_dir() / "mseg_train.yaml")
    assert [r.dataset for r in rows] == [
        "cityscapes",
        "mapillary_vistas",
        "idd",
        "bdd100k",
        "ade20k",
        "coco_panoptic",
        "sunrgbd",
    ]
    cov = compute_coverage(onto, rows)
    # Cityscapes' rider and BDD100K's person and rider cover motorcyclist; IDD's rider is written
    # as motorcyclist (MSeg's unrelabeled column); Mapillary labels motorcyclists itself
    state = {r.dataset: cov.state(r.name, "motorcyclist") for r in rows}
    assert state == {
        "cityscapes": "split",
        "bdd100k": "split",
        "idd": "coarse",
        "mapillary_vistas": "exact",
        "ade20k": "split",
        "coco_panoptic": "split",
        "sunrgbd": "absent",
    }
    # SUN RGB-D's chair stands for the armchairs, stools, ... MSeg relabelled it into
    state = {n: cov.state("sunrgbd", n) for n in ("chair_other", "armchair", "stool", "couch")}
    assert state == {
        "chair_other": "coarse",
        "armchair": "split",
        "stool": "split",
        "couch": "exact",
    }


def test_label_space_of_a_one_to_many_label_stands_for_what_it_covers() -> None:
    from harmonize.taxonomy.labelspace import label_space

    onto = load_ontology("mseg-194")
    ls = label_space(load_taxonomy("cityscapes"), onto, load_mapping("cityscapes", "mseg-194"))
    riders = {_uid("rider_other"), _uid("bicyclist"), _uid("motorcyclist")}
    # a pixel labelled bicyclist (Cityscapes' rider) may be any rider: the loss sums over all three
    assert set(ls.coarse_labels()[_uid("bicyclist")]) == riders
    assert len(ls.coarse_labels()) == 1
    for name in ("rider_other", "bicyclist", "motorcyclist"):
        assert (ls.status(name), ls[name].via) == ("coarse", "bicyclist")
    assert ls.status("person") == "exact" and ls.status("cat") == "absent"
    assert set(ls.valid_ids()) >= riders


def test_coverage_of_a_store_keeps_the_split_cells(tmp_path) -> None:
    from harmonize.pipeline import load_config, run
    from harmonize.pipeline.demo import demo_config

    cfg = demo_config(
        load_config(configs_dir() / "mseg_train.yaml"), tmp_path / "data", tmp_path / "out", n=1
    )
    run(cfg, workers=1)
    cov = coverage_for("mseg-194", store=cfg.output.path)
    assert cov.state("cityscapes", "motorcyclist") == "split"
    assert cov.state("cityscapes", "bicyclist") == "coarse"
    assert cov.state("cityscapes", "person") == "exact"


def test_taxonomy_show_lists_what_a_rule_covers() -> None:
    from typer.testing import CliRunner

    from harmonize.cli import app

    res = CliRunner().invoke(
        app, ["taxonomy", "show", "cityscapes__mseg-194"], env={"COLUMNS": "300"}
    )
    assert res.exit_code == 0, res.output
    (line,) = [ln for ln in res.output.splitlines() if " rider " in ln]
    assert "covers also rider_other, motorcyclist" in line


#: The tsv's `camvid-11` and `kitti-19` test columns where they are not blank (universal -> class;
#: CamVid in MSeg's spelling: SegNet calls Column_Pole "Pole" and Sidewalk "Pavement").
CAMVID_11 = {
    "building": "Building",
    "vegetation": "Tree",
    "sky": "Sky",
    "car": "Car",
    "traffic_sign": "SignSymbol",
    "road": "Road",
    "person": "Pedestrian",
    "fence": "Fence",
    "pole": "Column_Pole",
    "sidewalk_pavement": "Sidewalk",
    "bicyclist": "Bicyclist",
    "bicycle": "Bicyclist",
}
KITTI_19 = {
    "building": "building",
    "road": "road",
    "sidewalk_pavement": "sidewalk",
    "terrain": "terrain",
    "person": "person",
    "rider_other": "rider",
    "bicyclist": "rider",
    "motorcyclist": "rider",
    "streetlight": "pole",
    "pole": "pole",
    "traffic_sign": "traffic sign",
    "traffic_light": "traffic light",
    "sky": "sky",
    "fence": "fence",
    "vegetation": "vegetation",
    "bicycle": "bicycle",
    "car": "car",
    "motorcycle": "motorcycle",
    "bus": "bus",
    "train": "train",
    "truck": "truck",
    "wall": "wall",
}


@pytest.mark.parametrize(
    ("dataset", "column", "spelling"),
    [
        ("camvid_11", CAMVID_11, {"Column_Pole": "Pole", "Sidewalk": "Pavement"}),
        ("kitti", KITTI_19, {}),
    ],
)
def test_driving_test_sets_evaluate_as_msegs_matrix(dataset, column, spelling) -> None:
    cm = evaluation_mapping("mseg-194", dataset)
    ids: dict[str, int] = {}
    for c in sorted(load_taxonomy(dataset).classes, key=lambda c: c.id):
        ids.setdefault(c.name, c.id)  # KITTI pole and polegroup share a trainId: pole scores
    ign = cm.report["ignore"]["id"]
    for i, u in enumerate(UNIVERSAL[:194]):
        want = ids[spelling.get(column[u], column[u])] if u in column else ign
        assert cm.lut[i] == want, u
