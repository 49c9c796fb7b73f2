"""Evaluation (reverse) mappings: round trips through the engine and the lossy cases by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import harmonize
from harmonize.cli import app
from harmonize.engine.remap import remap_semantic
from harmonize.engine.sample import remap_sample
from harmonize.errors import ConfigError
from harmonize.taxonomy import (
    compile_mapping,
    file_values,
    list_files,
    load_mapping,
    load_ontology,
    load_taxonomy,
)
from harmonize.taxonomy.compile import _pick_encoding
from harmonize.types import RawSample, SampleRef

TAX = Path(__file__).resolve().parents[2] / "taxonomies"
SHIPPED = sorted(list_files().mappings)


def _yaml(kind: str, name: str) -> dict:
    return yaml.safe_load((TAX / kind / f"{name}.yaml").read_text())


@pytest.mark.parametrize(("dataset", "ontology"), SHIPPED, ids=[f"{d}-{o}" for d, o in SHIPPED])
def test_native_to_ontology_to_native(dataset: str, ontology: str) -> None:
    tax, onto, m = load_taxonomy(dataset), load_ontology(ontology), load_mapping(dataset, ontology)
    fwd = compile_mapping(tax, onto, m)
    enc = fwd.report["encoding"]
    back = harmonize.evaluation_mapping(onto, tax, encoding=enc)
    values = file_values(tax, _pick_encoding(tax, enc))
    usable = np.array(sorted(v for v in values if v >= 0), dtype=np.int32)
    rng = np.random.default_rng(0)
    native = rng.choice(usable, size=(48, 48)).astype(np.int32)
    mid, _ = remap_semantic(native, fwd)
    again, _ = remap_semantic(mid, back)
    # independent expectation from the YAML: a class comes back unless another class shares its
    # target (a collision, e.g. consep-4's merges or the classes Cityscapes sends to ignore)
    raw = _yaml("mappings", f"{dataset}__{ontology}")["rules"]
    rules = {r["id"]: r["to"] for r in raw}
    shared = {t for t in rules.values() if list(rules.values()).count(t) > 1}
    lossless_values = {v for v, c in values.items() if v >= 0 and rules[c] not in shared}
    keep = np.isin(native, list(lossless_values))
    np.testing.assert_array_equal(again[keep], native[keep])
    # a one-to-many class (`covers`) stands for several nodes: they come back to it unless another
    # class stands for one of them too (BDD100K person and rider both cover bicyclist)
    stands = [{r["to"], *r.get("covers", ())} for r in raw]
    overlap = any(a & b for i, a in enumerate(stands) for b in stands[i + 1 :])
    expect = not shared and not overlap and all(c >= 0 for c in values.values())
    assert back.report["round_trip"] == expect
    if not shared:
        np.testing.assert_array_equal(again, native)


def test_pannuke_lossy_report() -> None:
    cm = harmonize.evaluation_mapping("nuclei", "pannuke")
    r = cm.report
    parent = {n["name"]: n["parent"] for n in _yaml("ontologies", "nuclei")["nodes"]}

    def below(n: str) -> set[str]:
        return {x for x in parent if x != n and n in _chain(parent, x)}

    collapsed = {c["to_name"]: set(c["from"]) for c in r["collapsed"]}
    assert collapsed == {
        "Inflammatory": {"immune"} | below("immune"),
        "Connective/Soft tissue cells": {"stromal"} | below("stromal"),
    }
    assert {a["name"] for a in r["ambiguous"]} == {"nucleus", "epithelial"}
    assert {u["name"] for u in r["unmatched"]} == {"other", "ambiguous", "unlabeled"}
    assert [a["name"] for a in r["approx"]] == ["Neoplastic cells"]
    assert r["unrecoverable"] == [] and r["collisions"] == [] and r["round_trip"]
    # unresolvable predictions become PanNuke's void (255), never background 0
    assert cm.ignore == 255
    onto_ids = {n["name"]: n["id"] for n in _yaml("ontologies", "nuclei")["nodes"]}
    for name in ("nucleus", "epithelial", "other"):
        assert cm.lut[onto_ids[name]] == 255


def _chain(parent: dict, x: str) -> list[str]:
    out = [x]
    while parent[out[-1]] is not None:
        out.append(parent[out[-1]])
    return out


def test_kumar_lossy_report() -> None:
    cm = harmonize.evaluation_mapping("nuclei", "kumar")
    r = cm.report
    nodes = [n["name"] for n in _yaml("ontologies", "nuclei")["nodes"]]
    (c,) = r["collapsed"]
    assert c["to"] == 1 and set(c["from"]) == set(nodes)  # every class collapses to "nucleus"
    assert r["ambiguous"] == [] and r["collisions"] == [] and r["unrecoverable"] == []
    assert {u["name"] for u in r["unmatched"]} == {"ambiguous", "unlabeled"}
    # Kumar has no void: the ignore value is fresh, not one of its classes, and not 0
    assert r["ignore"]["fresh"] and cm.ignore not in (0, 1)
    assert r["round_trip"]


def test_consep4_to_consep_collisions() -> None:
    r = harmonize.evaluation_mapping("consep-4", "consep").report
    got = {c["node"]: sorted(x["id"] for x in c["candidates"]) for c in r["collisions"]}
    assert got == {"epithelial": [3, 4], "spindle-shaped": [5, 6, 7]}
    assert sorted(u["id"] for u in r["unrecoverable"]) == [4, 6, 7]
    assert not r["round_trip"]


def test_nuclei_to_consep4_via_consep_matches_the_forward_merge() -> None:
    tax, nuclei, c4 = load_taxonomy("consep"), load_ontology("nuclei"), load_ontology("consep-4")
    to_nuclei = compile_mapping(tax, nuclei, load_mapping("consep", "nuclei"))
    to_c4 = compile_mapping(tax, c4, load_mapping("consep", "consep-4"))
    back = harmonize.evaluation_mapping("nuclei", "consep-4")
    assert back.report["via"] == "consep"
    native = np.random.default_rng(1).integers(0, 8, size=(40, 40)).astype(np.int32)
    pred, _ = remap_semantic(native, to_nuclei)
    np.testing.assert_array_equal(remap_semantic(pred, back)[0], remap_semantic(native, to_c4)[0])
    ids = {n.name: n.id for n in nuclei.nodes}
    # a coarse prediction resolves when only one consep-4 class lies below it
    assert back.lut[ids["epithelial"]] == 3 and back.lut[ids["stromal"]] == 4
    assert back.lut[ids["lymphocyte"]] == 2  # through its ancestor immune
    assert back.lut[ids["nucleus"]] == back.ignore == 255  # ambiguous


def test_scene_to_voc_unmatched_policy() -> None:
    onto = _yaml("ontologies", "scene")
    ids = {n["name"]: n["id"] for n in onto["nodes"]}
    ign = harmonize.evaluation_mapping("scene", "pascal_voc")
    bg = harmonize.evaluation_mapping("scene", "pascal_voc", unmatched="background")
    assert "truck" in {u["name"] for u in ign.report["unmatched"]}
    assert ign.lut[ids["truck"]] == 255  # VOC void
    assert bg.lut[ids["truck"]] == 0  # VOC background: trucks are background in VOC
    assert bg.lut[ids["rider"]] == ign.lut[ids["rider"]] == 15  # person (ancestor)
    with pytest.raises(ConfigError):
        harmonize.evaluation_mapping("scene", "pascal_voc", unmatched="nope")  # type: ignore[arg-type]


def test_model_output_with_instances_through_remap_sample() -> None:
    cm = harmonize.evaluation_mapping("nuclei", "consep")
    ids = {n.name: n.id for n in load_ontology("nuclei").nodes}
    sem = np.zeros((16, 16), np.uint8)
    inst = np.zeros((16, 16), np.int32)
    sem[2:6, 2:6], inst[2:6, 2:6] = ids["lymphocyte"], 7
    sem[8:12, 8:12], inst[8:12, 8:12] = ids["fibroblast"], 9
    sem[0, 15] = ids["dead"]  # unmatched in CoNSeP -> ignore, not background
    out = remap_sample(RawSample(SampleRef("model", "p0", "test", ()), sem, inst), cm)
    assert out.semantic[3, 3] == 2 and out.semantic[9, 9] == 5 and out.semantic[0, 15] == 255
    assert list(out.instance_classes) == [2, 5]
    assert out.semantic[0, 0] == 0


def test_cli_reverse() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["taxonomy", "reverse", "nuclei", "kumar", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["target"] == "kumar" and data["lut"][1] == 1 and data["ignore"]["id"] == 255
    res = runner.invoke(app, ["taxonomy", "reverse", "nuclei", "consep-4"])
    assert res.exit_code == 0 and "via consep" in res.output and "ambiguous" in res.output


@pytest.mark.parametrize("onto", ["coco-stuff-171", "scene"])
def test_coco_stuff_ignore_goes_to_unlabeled_not_an_unused_class(onto: str) -> None:
    # COCO-Stuff's evaluation skips only ground truth 255 (unlabeled); the 11 unused thing ids
    # also map to ignore, but writing ignore as e.g. "street sign" (11) would score as that class
    cm = harmonize.evaluation_mapping(onto, "coco_stuff", encoding="stuffthingmaps_png")
    assert cm.report["ignore"]["id"] == 255 and cm.report["ignore"]["name"] == "unlabeled"
    src = yaml.safe_load((TAX / "ontologies" / f"{onto}.yaml").read_text())
    ignore_id = next(s["id"] for s in src["special"] if s["role"] == "ignore")
    assert int(cm.lut[ignore_id - cm.offset]) == 255


def _scene_ids() -> dict[str, int]:
    return {n["name"]: n["id"] for n in _yaml("ontologies", "scene")["nodes"]}


def test_scene_to_camvid_11_by_hand() -> None:
    # SegNet's 11 classes (camvid_11.yaml): expectations read off the scene hierarchy by hand.
    cm = harmonize.evaluation_mapping("scene", "camvid_11")
    ids = _scene_ids()
    assert cm.report["ignore"] == {"id": 11, "name": "Unlabelled", "fresh": False}
    want = {
        "sky": 0,  # Sky -> sky (coarse): direct
        "clouds": 0,  # below sky: ancestor
        "road": 3,
        "lane_marking_drivable": 3,  # a child of road: SegNet Road includes the markings
        "road_shoulder": 3,
        "pavement": 4,
        "tree": 5,  # Tree -> vegetation (coarse): tree is below it
        "plant_other": 5,
        "stop_sign": 6,  # below traffic_sign
        "car": 8,  # Car -> vehicle (coarse)
        "suv_pickup_truck": 8,
        "pedestrian": 9,
        "child": 9,  # below pedestrian
        "rider": 10,
        "bicyclist": 10,
        "traffic_cone": 11,  # no CamVid-11 class: ignore
        "dog": 11,
        "person": 11,  # coarser than Pedestrian and Bicyclist: ambiguous
    }
    got = {name: int(cm.lut[ids[name]]) for name in want}
    assert got == want
    assert {"id": ids["person"], "name": "person"} in [
        {"id": a["id"], "name": a["name"]} for a in cm.report["ambiguous"]
    ]
    assert cm.report["round_trip"] is True  # each SegNet class on its own node


def test_scene_to_kitti_repeats_cityscapes() -> None:
    # KITTI's ids are Cityscapes': the evaluation mapping is Cityscapes' (license plate aside).
    kitti = harmonize.evaluation_mapping("scene", "kitti")
    cs = harmonize.evaluation_mapping("scene", "cityscapes")
    np.testing.assert_array_equal(kitti.lut, cs.lut)
    ids = _scene_ids()
    assert kitti.lut[ids["lane_marking"]] == 7  # road
    assert kitti.lut[ids["child"]] == 24  # person
    assert kitti.lut[ids["bicyclist"]] == 25  # rider
    assert kitti.report["round_trip"] is False  # ego vehicle etc. all become ignore


def test_scene_to_cityscapes_19_bridges_disagree_so_via_chooses() -> None:
    # Cityscapes, KITTI, BDD100K, IDD and both Mapillary Vistas map onto scene and cityscapes-19.
    # None covers all the others (Mapillary and IDD add nodes Cityscapes has no class for), and IDD
    # (its own csTrainId: curb -> 255) and Mapillary (curb -> sidewalk) disagree: refused, naming
    # the node. Through Cityscapes (the WildDash-19 evaluation mapping) KITTI gives the same table.
    with pytest.raises(ConfigError, match=r"disagree \('curb'"):
        harmonize.evaluation_mapping("scene", "cityscapes-19")
    by_hand = harmonize.evaluation_mapping("scene", "cityscapes-19", via="cityscapes")
    assert by_hand.report["via"] == "cityscapes"
    via_kitti = harmonize.evaluation_mapping("scene", "cityscapes-19", via="kitti")
    np.testing.assert_array_equal(by_hand.lut, via_kitti.lut)
    bdd = harmonize.evaluation_mapping("scene", "cityscapes-19", via="bdd100k")
    ids, c19 = (
        _scene_ids(),
        {n["name"]: n["id"] for n in _yaml("ontologies", "cityscapes-19")["nodes"]},
    )
    for name, to in (("road", "road"), ("pavement", "sidewalk"), ("child", "person")):
        assert by_hand.lut[ids[name]] == bdd.lut[ids[name]] == c19[to]


def test_agreeing_bridges_are_combined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A copy of the shipped files where IDD's curb goes to sidewalk, as Mapillary's does, and
    # without Mapillary v2.0's cityscapes-19 mapping (v1.2 and v2.0 disagree on lane markings):
    # the bridges now agree, and all of them together are the bridge. A node only Mapillary and IDD
    # have a class for (curb) takes their target; what Cityscapes covers is as through Cityscapes.
    import shutil

    tax = tmp_path / "taxonomies"
    shutil.copytree(TAX, tax)
    p = tax / "mappings" / "idd__cityscapes-19.yaml"
    data = yaml.safe_load(p.read_text())
    next(r for r in data["rules"] if r["name"] == "curb")["to"] = "sidewalk"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    (tax / "mappings" / "mapillary_vistas_v2__cityscapes-19.yaml").unlink()
    monkeypatch.setenv("HARMONIZE_TAXONOMIES", str(tax))
    auto = harmonize.evaluation_mapping("scene", "cityscapes-19")
    assert auto.report["via"].split(", ") == sorted(
        ["bdd100k", "cityscapes", "idd", "kitti", "mapillary_vistas"]
    )
    cs = harmonize.evaluation_mapping("scene", "cityscapes-19", via="cityscapes")
    ids = _scene_ids()
    c19 = {n["name"]: n["id"] for n in _yaml("ontologies", "cityscapes-19")["nodes"]}
    assert auto.lut[ids["curb"] - auto.offset] == c19["sidewalk"]
    assert cs.lut[ids["curb"] - cs.offset] != c19["sidewalk"]
    cs_rules = _yaml("mappings", "cityscapes__scene")["rules"]
    for r in cs_rules:
        if r["to"] in ids:
            i = ids[r["to"]]
            assert auto.lut[i - auto.offset] == cs.lut[i - cs.offset], r["to"]


def test_conflicting_bridges_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A copy of the shipped files where BDD100K's road goes to cityscapes-19 sidewalk: Cityscapes
    # and BDD100K now disagree, neither covers the other, so via= must choose.
    import shutil

    tax = tmp_path / "taxonomies"
    shutil.copytree(TAX, tax)
    p = tax / "mappings" / "bdd100k__cityscapes-19.yaml"
    data = yaml.safe_load(p.read_text())
    next(r for r in data["rules"] if r["name"] == "road")["to"] = "sidewalk"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("HARMONIZE_TAXONOMIES", str(tax))
    with pytest.raises(ConfigError, match="none covers what the others do"):
        harmonize.evaluation_mapping("scene", "cityscapes-19")
    cm = harmonize.evaluation_mapping("scene", "cityscapes-19", via="cityscapes")
    assert cm.report["via"] == "cityscapes"


def test_cli_reverse_driving_targets() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["taxonomy", "reverse", "scene", "camvid_11", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["ignore"]["id"] == 11
    res = runner.invoke(app, ["taxonomy", "reverse", "scene", "cityscapes-19"])
    assert isinstance(res.exception, ConfigError) and "disagree" in str(res.exception)
    res = runner.invoke(
        app, ["taxonomy", "reverse", "scene", "cityscapes-19", "--via", "cityscapes"]
    )
    assert res.exit_code == 0 and "via cityscapes" in res.output, res.output
