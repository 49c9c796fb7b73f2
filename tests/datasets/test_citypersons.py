"""CityPersons reader and generator.

Independent references used here (no constants shared with the reader):
* cityscapesScripts' ``helpers.labels_cityPersons`` (label names and ids) and
  ``helpers.annotation.CsBbox2d.fromJsonText`` (how ``bbox`` / ``bboxVis`` / ``instanceId`` are read);
* the box convention of scene_datasets.md §1.8: ``[x, y, w, h]`` with ``(x, y)`` the top-left
  corner, ``bboxVis`` the visible part derived from the segmentation masks (recomputed here with
  plain numpy from the instance map);
* taxonomies/datasets/citypersons.yaml (written separately) for the declared box label ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import yaml
from cityscapesscripts.helpers.annotation import CsBbox2d
from cityscapesscripts.helpers.labels_cityPersons import labelsCp, name2labelCp

from harmonize import datasets
from harmonize.datasets.citypersons import BOX_LABELS
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    HarmonizeError,
    MissingFileError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.testing.contract import ReaderContract
from harmonize.types import BOX_DTYPE

SIZE = (48, 96)
ROOT = Path(__file__).resolve().parents[2]


class TestCityPersons(ReaderContract):
    dataset = "citypersons"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": SIZE}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        p = next((root / "gtBboxCityPersons" / "train").glob("*/*.json"))
        p.write_text(p.read_text()[:50])
        return p.name.split("_gtBboxCityPersons")[0], CorruptFileError


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("citypersons_edge")
    return datasets.synthesize("citypersons", out, n=5, seed=2, size=(64, 128), edge_cases=True)


def read(root: Path, **opts) -> dict:
    return {s.sample_id: s for s in datasets.open_reader("citypersons", root, **opts)}


def box_file(result, sid: str) -> Path:
    truth = result.samples[sid]
    return next(
        (result.root / "gtBboxCityPersons" / truth.split).glob(f"*/{sid}_gtBboxCityPersons.json")
    )


def first_error(root: Path) -> HarmonizeError:
    with pytest.raises(HarmonizeError) as info:
        for _ in datasets.open_reader("citypersons", root):
            pass
    return info.value


# -- reference tables ------------------------------------------------------------------------------
def test_label_table_equals_cityscapesscripts() -> None:
    assert BOX_LABELS == {lab.name: lab.id for lab in labelsCp}


def test_box_label_ids_are_declared_in_the_taxonomy_yaml() -> None:
    path = ROOT / "taxonomies" / "datasets" / "citypersons.yaml"
    if not path.is_file():
        pytest.skip("taxonomies/datasets/citypersons.yaml not written yet")
    doc = yaml.safe_load(path.read_text())
    declared = {int(c["id"]): str(c["name"]) for c in doc["classes"]}
    assert declared == {v: k for k, v in BOX_LABELS.items()}


def test_registered_with_the_cityscapes_taxonomy() -> None:
    assert datasets.get("citypersons").taxonomy == "cityscapes"


# -- boxes -----------------------------------------------------------------------------------------
def test_boxes_equal_the_generator_truth(edge) -> None:
    samples = read(edge.root)
    assert set(samples) == set(edge.samples)
    for sid, truth in edge.samples.items():
        got = samples[sid].boxes
        assert got is not None and got.dtype == BOX_DTYPE
        np.testing.assert_array_equal(got, truth.boxes)


def test_boxes_parse_as_cityscapesscripts_reads_them(edge) -> None:
    samples = read(edge.root)
    n_boxes = 0
    for sid, s in samples.items():
        objs = json.loads(box_file(edge, sid).read_text())["objects"]
        assert len(objs) == len(s.boxes)
        for o, row in zip(objs, s.boxes, strict=True):
            ref = CsBbox2d()
            ref.fromJsonText(o)
            assert row["label"] == name2labelCp[ref.label].id
            assert row["instance_id"] == ref.instanceId
            x, y, w, h = ref.bbox_amodal_xywh
            assert (row["x"], row["y"], row["w"], row["h"]) == (x, y, w, h)
            vx, vy, vw, vh = ref.bbox_modal_xywh
            assert (row["vis_x"], row["vis_y"], row["vis_w"], row["vis_h"]) == (vx, vy, vw, vh)
            # [xmin, ymin, xmax, ymax] of cityscapesScripts = (x, y, x + w, y + h)
            assert ref.bbox_amodal == [x, y, x + w, y + h]
            n_boxes += 1
    assert n_boxes >= len(samples)


def test_box_instances_exist_and_visible_box_is_the_mask_extent(edge) -> None:
    samples = read(edge.root)
    linked = 0
    for s in samples.values():
        for row in s.boxes:
            iid = int(row["instance_id"])
            if iid == 0:
                assert row["label"] in (0, 5)  # ignore regions and groups have no instance
                continue
            assert iid in s.instance_ids.tolist()
            assert iid // 1000 in (24, 25)  # person / rider
            assert (iid // 1000 == 25) == (row["label"] == 2)
            ys, xs = np.nonzero(s.instance == iid)
            want = (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
            assert (row["vis_x"], row["vis_y"], row["vis_w"], row["vis_h"]) == want
            # the full box contains the visible one
            assert row["x"] <= row["vis_x"] and row["y"] <= row["vis_y"]
            assert row["x"] + row["w"] >= row["vis_x"] + row["vis_w"]
            assert row["y"] + row["h"] >= row["vis_y"] + row["vis_h"]
            linked += 1
    assert linked


def test_edge_cases_ignore_region_group_and_occluded_pedestrian(edge) -> None:
    boxes = np.concatenate([s.boxes for s in read(edge.root).values()])
    assert {0, 5} <= set(boxes["label"].tolist())
    assert (boxes["instance_id"][np.isin(boxes["label"], [0, 5])] == 0).all()
    occluded = (boxes["label"] == 1) & (boxes["h"] > boxes["vis_h"])
    assert occluded.any(), "no pedestrian whose full box exceeds its visible box"
    assert edge.quirks["ignore_region"] and edge.quirks["person_group"]


def test_semantic_is_the_cityscapes_frame(edge) -> None:
    persons = read(edge.root)
    frames = {s.sample_id: s for s in datasets.open_reader("cityscapes", edge.root)}
    for sid, s in persons.items():
        np.testing.assert_array_equal(s.semantic, frames[sid].semantic)
        np.testing.assert_array_equal(s.instance, frames[sid].instance)
    # Cityscapes test frames have no CityPersons file and are not listed
    assert {f.split for f in frames.values()} - {s.split for s in persons.values()} == {"test"}
    with pytest.raises(ValueError):
        datasets.open_reader("citypersons", edge.root, splits=["test"])


# -- typed failures --------------------------------------------------------------------------------
@pytest.fixture
def fresh(tmp_path: Path):
    r = datasets.synthesize("citypersons", tmp_path / "cp", n=2, seed=4, size=SIZE)
    return r, box_file(r, sorted(r.samples)[0])


def rewrite(path: Path, fn) -> None:
    doc = json.loads(path.read_text())
    path.write_text(json.dumps(fn(doc)))


def test_unknown_box_label(fresh) -> None:
    r, p = fresh
    rewrite(p, lambda d: {**d, "objects": [{**d["objects"][0], "label": "cyclist"}]})
    err = first_error(r.root)
    assert isinstance(err, ClassIdError) and "cyclist" in str(err) and str(p) in str(err)


def test_box_with_three_numbers(fresh) -> None:
    r, p = fresh
    rewrite(p, lambda d: {**d, "objects": [{**d["objects"][0], "bboxVis": [1, 2, 3]}]})
    err = first_error(r.root)
    assert isinstance(err, ShapeError) and "bboxVis" in str(err) and str(p) in str(err)


def test_box_without_bbox(fresh) -> None:
    r, p = fresh
    rewrite(
        p, lambda d: {**d, "objects": [{k: v for k, v in d["objects"][0].items() if k != "bbox"}]}
    )
    err = first_error(r.root)
    assert isinstance(err, MissingKeyError) and "bbox" in str(err)


def test_box_file_size_mismatch(fresh) -> None:
    r, p = fresh
    rewrite(p, lambda d: {**d, "imgHeight": d["imgHeight"] * 2})
    err = first_error(r.root)
    assert isinstance(err, SizeMismatchError) and str(p) in str(err)


def test_box_file_without_its_frame_is_reported_not_dropped(fresh) -> None:
    r, p = fresh
    sid = p.name.split("_gtBboxCityPersons")[0]
    for f in (r.root / "gtFine").glob(f"*/*/{sid}_gtFine_*"):
        f.unlink()
    reader = datasets.open_reader("citypersons", r.root, on_error="skip")
    got = [s.sample_id for s in reader]
    assert sid not in got and len(got) == len(r.samples) - 1
    assert [k.sample_id for k in reader.skipped] == [sid]
    assert reader.skipped[0].kind == MissingFileError.__name__
