"""Cityscapes reader and generator.

Independent references used here (no constants shared with the reader):
* cityscapesScripts itself: ``preparation.json2labelImg.json2labelImg`` (labelIds from the polygon
  JSON, saved as PNG) and ``preparation.json2instanceImg.createInstanceImage`` (instanceIds; Pillow 13
  cannot save mode ``I`` as PNG, so the array is compared in memory), ``helpers.labels`` (the label
  table) and ``helpers.annotation.Annotation``;
* the documented decoding rule ``v if v < 1000 else v // 1000`` (scene_datasets.md §1.3),
  re-applied here to the raw PNG values read by plain Pillow.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from cityscapesscripts.helpers import labels as cs_labels
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import json2labelImg
from PIL import Image, ImageDraw

from harmonize import datasets
from harmonize.datasets.cityscapes import LABELS
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

SIZE = (48, 96)


class TestCityscapes(ReaderContract):
    dataset = "cityscapes"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": SIZE}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        p = next((root / "gtFine" / "train").glob("*/*_gtFine_instanceIds.png"))
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        return p.name.split("_gtFine_")[0], CorruptFileError


class TestCityscapesCoarse(ReaderContract):
    """The same contract on gtCoarse (splits train / val / train_extra, mostly unlabeled)."""

    dataset = "cityscapes"
    synth_kwargs: ClassVar[dict[str, Any]] = {
        "n": 3,
        "seed": 1,
        "size": SIZE,
        "annotations": "gtCoarse",
    }

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        p = next((root / "gtCoarse" / "train_extra").glob("*/*_gtCoarse_instanceIds.png"))
        p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a PNG signature and garbage
        return p.name.split("_gtCoarse_")[0], CorruptFileError


# -- fixtures and helpers -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("cityscapes_edge")
    return datasets.synthesize("cityscapes", out, n=4, seed=3, size=(64, 128), edge_cases=True)


def fresh(tmp_path: Path, **kw):
    return datasets.synthesize(
        "cityscapes", tmp_path / "cs", **{"n": 3, "seed": 5, "size": SIZE, **kw}
    )


def read(root: Path, **opts) -> dict:
    return {s.sample_id: s for s in datasets.open_reader("cityscapes", root, **opts)}


def first_error(root: Path, **opts) -> HarmonizeError:
    reader = datasets.open_reader("cityscapes", root, **opts)
    with pytest.raises(HarmonizeError) as info:
        for _ in reader:
            pass
    return info.value


def pil_array(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(np.int64)


def polygon_mask(points, shape) -> np.ndarray:
    """One polygon drawn alone with Pillow, as the cityscapesScripts draw it."""
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in points], fill=1)
    return np.asarray(canvas) > 0


def reference_instance_image(json_path: Path) -> np.ndarray:
    ann = Annotation()
    ann.fromJsonFile(str(json_path))
    return np.asarray(createInstanceImage(ann, "ids")).astype(np.int64)


def stem_of(json_path: Path) -> str:
    return json_path.name.rsplit("_", 2)[0]


def quirk_frame(result, quirk: str) -> Path:
    return Path(result.quirks[quirk][0])


# -- cityscapesScripts is the reference ------------------------------------------------------------
def test_label_table_equals_cityscapesscripts_labels_py() -> None:
    got = [(lab.name, lab.id, lab.has_instances, tuple(lab.color)) for lab in LABELS]
    want = [(lab.name, lab.id, lab.hasInstances, tuple(lab.color)) for lab in cs_labels.labels]
    assert got == want


@pytest.mark.parametrize("annotations", ["gtFine", "gtCoarse"])
def test_labelids_from_polygons_match_json2labelimg(edge, tmp_path: Path, annotations: str) -> None:
    samples = read(edge.root, annotations=annotations, source="polygons")
    jsons = sorted((edge.root / annotations).glob("*/*/*_polygons.json"))
    assert len(jsons) == len(samples) >= 3
    for j in jsons:
        out = tmp_path / f"{j.stem}.png"
        json2labelImg(str(j), str(out), "ids")
        want = pil_array(out)
        got = samples[stem_of(j)].semantic
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want, err_msg=str(j))
        # and the generator's own labelIds PNG is what cityscapesScripts would write
        png = j.with_name(j.name.replace("_polygons.json", "_labelIds.png"))
        if png.exists():
            np.testing.assert_array_equal(pil_array(png), want, err_msg=str(png))


@pytest.mark.parametrize("annotations", ["gtFine", "gtCoarse"])
def test_instanceids_from_polygons_match_json2instanceimg(edge, annotations: str) -> None:
    samples = read(edge.root, annotations=annotations, source="polygons")
    for j in sorted((edge.root / annotations).glob("*/*/*_polygons.json")):
        ref = reference_instance_image(j)
        s = samples[stem_of(j)]
        np.testing.assert_array_equal(s.instance, np.where(ref >= 1000, ref, 0), err_msg=str(j))
        ids = sorted(int(v) for v in np.unique(ref) if v >= 1000)
        assert s.instance_ids.tolist() == ids
        assert s.instance_classes.tolist() == [v // 1000 for v in ids]
        png = j.with_name(j.name.replace("_polygons.json", "_instanceIds.png"))
        if png.exists():
            np.testing.assert_array_equal(pil_array(png), ref, err_msg=str(png))


def test_decode_rule_on_raw_png_values(edge) -> None:
    samples = read(edge.root, source="png", on_error="skip")
    assert samples
    for sid, s in samples.items():
        split, city = s.split, s.meta["city"]
        raw = pil_array(edge.root / "gtFine" / split / city / f"{sid}_gtFine_instanceIds.png")
        decoded = np.vectorize(lambda v: v if v < 1000 else v // 1000)(raw)
        np.testing.assert_array_equal(s.semantic, decoded)
        np.testing.assert_array_equal(s.instance, np.where(raw >= 1000, raw, 0))
        for iid, cls in zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True):
            assert cls == iid // 1000
            assert cs_labels.id2label[cls].hasInstances


def test_png_and_polygon_sources_agree(edge) -> None:
    png_reader = datasets.open_reader("cityscapes", edge.root, source="png", on_error="skip")
    from_png = {s.sample_id: s for s in png_reader}
    from_poly = read(edge.root, source="polygons")
    polygons_only = stem_of(quirk_frame(edge, "polygons_only"))
    # the frame without PNGs is skipped (and counted) in png mode, for the missing file
    assert [k.sample_id for k in png_reader.skipped] == [polygons_only]
    assert png_reader.skipped[0].kind == "MissingFileError"
    assert set(from_png) == set(from_poly) - {polygons_only}
    for sid, a in from_png.items():
        b = from_poly[sid]
        np.testing.assert_array_equal(a.semantic, b.semantic)
        np.testing.assert_array_equal(a.instance, b.instance)
        np.testing.assert_array_equal(a.instance_ids, b.instance_ids)


def test_auto_source_falls_back_to_polygons(edge) -> None:
    samples = read(edge.root)
    polygons_only = stem_of(quirk_frame(edge, "polygons_only"))
    for sid, s in samples.items():
        assert s.meta["source"] == ("polygons" if sid == polygons_only else "png")
    ref = samples[polygons_only].ref
    assert ref.paths[1].endswith("_gtFine_polygons.json")


# -- quirks ----------------------------------------------------------------------------------------
def objects_of(json_path: Path) -> list[dict]:
    return json.loads(json_path.read_text())["objects"]


def test_cargroup_is_drawn_as_plain_class_without_instance(edge) -> None:
    j = quirk_frame(edge, "cargroup")
    s = read(edge.root)[stem_of(j)]
    group = next(o for o in objects_of(j) if o["label"] == "cargroup")
    ref = reference_instance_image(j)
    visible = polygon_mask(group["polygon"], s.shape) & (ref == 26)
    assert visible.any()
    assert (s.semantic[visible] == 26).all()
    assert (s.instance[visible] == 0).all()


def test_fully_overdrawn_instance_leaves_a_gap_in_k(edge) -> None:
    j = quirk_frame(edge, "overdrawn_instance")
    s = read(edge.root)[stem_of(j)]
    cars = [o for o in objects_of(j) if o["label"] == "car"]
    first, second = (polygon_mask(c["polygon"], s.shape) for c in cars[:2])
    assert not (first & ~second).any(), "the first car must lie inside the second"
    cars_seen = [int(v) for v in s.instance_ids if v // 1000 == 26]
    assert 26000 not in cars_seen
    assert cars_seen[0] == 26001 and len(cars_seen) == len(cars) - 1


def test_deleted_object_is_skipped(edge, tmp_path: Path) -> None:
    j = quirk_frame(edge, "deleted_object")
    s = read(edge.root)[stem_of(j)]
    doc = json.loads(j.read_text())
    assert any(o.get("deleted") for o in doc["objects"])
    without = dict(doc, objects=[o for o in doc["objects"] if not o.get("deleted")])
    undeleted = dict(
        doc, objects=[{k: v for k, v in o.items() if k != "deleted"} for o in doc["objects"]]
    )
    for name, d in (("without", without), ("undeleted", undeleted)):
        (tmp_path / f"{name}.json").write_text(json.dumps(d))
        json2labelImg(str(tmp_path / f"{name}.json"), str(tmp_path / f"{name}.png"))
    np.testing.assert_array_equal(s.semantic, pil_array(tmp_path / "without.png"))
    assert not np.array_equal(s.semantic, pil_array(tmp_path / "undeleted.png"))


def test_license_plate_is_never_drawn(edge) -> None:
    j = quirk_frame(edge, "license_plate")
    s = read(edge.root)[stem_of(j)]
    objs = objects_of(j)
    i = next(k for k, o in enumerate(objs) if o["label"] == "license plate")
    plate = polygon_mask(objs[i]["polygon"], s.shape)
    assert objs[i - 1]["label"] == "car"
    assert plate.any()
    assert (s.semantic[plate] == 26).all(), "plate pixels keep the car's label"
    assert (s.instance[plate] >= 26000).all()
    assert s.semantic.max() <= 33


def test_polegroup_and_persongroup(edge) -> None:
    j = quirk_frame(edge, "polegroup")
    s = read(edge.root)[stem_of(j)]
    labels = {o["label"] for o in objects_of(j)}
    assert {"polegroup", "persongroup"} <= labels
    assert 18 in s.semantic  # polegroup is a real label, id 18
    ref = reference_instance_image(j)
    assert ((ref == 24) & (s.semantic == 24)).any()
    assert (s.instance[ref == 24] == 0).all()


def test_test_split_has_only_ego_vehicle_and_border(edge) -> None:
    test = [s for s in read(edge.root).values() if s.split == "test"]
    assert test
    for s in test:
        assert set(np.unique(s.semantic).tolist()) <= {0, 1, 2}
        assert s.instance_ids.size == 0 and not s.instance.any()


def test_gtcoarse_is_mostly_unlabeled_and_has_train_extra(edge) -> None:
    coarse = read(edge.root, annotations="gtCoarse")
    assert {s.split for s in coarse.values()} == {"train", "val", "train_extra"}
    for s in coarse.values():
        assert (s.semantic == 0).mean() > 0.5
        assert s.meta["annotations"] == "gtCoarse"
    only_extra = datasets.open_reader(
        "cityscapes", edge.root, annotations="gtCoarse", splits=["train_extra"]
    )
    assert {r.split for r in only_extra.list_refs()} == {"train_extra"}


def test_polygon_json_looks_like_the_released_files(edge) -> None:
    j = sorted((edge.root / "gtFine" / "train").glob("*/*_polygons.json"))[0]
    text = j.read_text()
    doc = json.loads(text)
    assert list(doc) == ["imgHeight", "imgWidth", "objects"]
    assert text.startswith('{\n    "imgHeight": ')
    for o in doc["objects"]:
        assert set(o) in ({"label", "polygon"}, {"deleted", "label", "polygon"})
        assert all(isinstance(c, int) for p in o["polygon"] for c in p)
    color = Image.open(j.with_name(j.name.replace("_polygons.json", "_color.png")))
    assert color.mode == "RGBA"
    rgba = np.asarray(color)
    assert (rgba[..., 3] == 255).all()
    lab = Image.open(j.with_name(j.name.replace("_polygons.json", "_labelIds.png")))
    inst = Image.open(j.with_name(j.name.replace("_polygons.json", "_instanceIds.png")))
    assert lab.mode == "L" and np.asarray(inst).dtype == np.uint16
    colors = {lab_.id: lab_.color for lab_ in cs_labels.labels if lab_.id >= 0}
    ids = np.asarray(lab)
    for v in np.unique(ids):
        assert (rgba[ids == v, :3] == colors[int(v)]).all()


def test_sample_ids_meta_and_picklable_loader(edge) -> None:
    samples = read(edge.root)
    for sid, s in samples.items():
        city, seq, frame = sid.rsplit("_", 2)
        assert s.meta["city"] == city and s.meta["seq"] == seq and s.meta["frame"] == frame
        assert len(seq) == len(frame) == 6
    s = next(iter(samples.values()))
    again = pickle.loads(pickle.dumps(s.load_image))
    img = again()
    assert img.shape == (*s.shape, 3) and img.dtype == np.uint8


# -- typed failures with real broken files ---------------------------------------------------------
def frame_files(root: Path, ann: str = "gtFine") -> tuple[Path, Path, Path, Path]:
    j = sorted((root / ann / "train").glob("*/*_polygons.json"))[0]
    base = str(j)[: -len("polygons.json")]
    return j, Path(base + "labelIds.png"), Path(base + "instanceIds.png"), Path(base + "color.png")


def test_truncated_instanceids_png(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    _, _, inst, _ = frame_files(r.root)
    inst.write_bytes(inst.read_bytes()[:60])
    err = first_error(r.root)
    assert isinstance(err, CorruptFileError) and str(inst) in str(err)


def test_malformed_polygon_json_names_file_and_line(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    j, _, _, _ = frame_files(r.root)
    j.write_text('{\n    "imgHeight": 48,\n    "imgWidth": 96,\n    "objects": [\n        {,\n')
    err = first_error(r.root, source="polygons")
    assert isinstance(err, CorruptFileError)
    assert f"{j}:5" in str(err)


def test_unknown_label_is_a_class_id_error(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    j, lab, inst, _ = frame_files(r.root)
    doc = json.loads(j.read_text())
    doc["objects"].append({"label": "spaceship", "polygon": [[1, 1], [5, 1], [5, 5]]})
    j.write_text(json.dumps(doc))
    lab.unlink()
    inst.unlink()  # auto mode now rasterizes the polygons
    err = first_error(r.root)
    assert isinstance(err, ClassIdError)
    assert str(j) in str(err) and "spaceship" in str(err)


def test_unknown_group_label_strips_suffix_but_unknown_base_fails(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    j, _, _, _ = frame_files(r.root)
    doc = json.loads(j.read_text())
    doc["objects"].append({"label": "truckgroup", "polygon": [[1, 1], [9, 1], [9, 9], [1, 9]]})
    j.write_text(json.dumps(doc))
    s = read(r.root, source="polygons")[stem_of(j)]
    assert s.semantic[5, 5] == 27 and s.instance[5, 5] == 0
    doc["objects"].append({"label": "spaceshipgroup", "polygon": [[1, 1], [9, 1], [9, 9]]})
    j.write_text(json.dumps(doc))
    err = first_error(r.root, source="polygons")
    assert isinstance(err, ClassIdError) and "spaceshipgroup" in str(err)


def test_missing_json_key_and_bad_polygon(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    j, _, _, _ = frame_files(r.root)
    doc = json.loads(j.read_text())
    j.write_text(json.dumps({k: v for k, v in doc.items() if k != "objects"}))
    err = first_error(r.root, source="polygons")
    assert isinstance(err, MissingKeyError) and "objects" in str(err) and str(j) in str(err)
    j.write_text(json.dumps(dict(doc, objects=[{"label": "car", "polygon": [["a", 1]]}])))
    assert isinstance(first_error(r.root, source="polygons"), ShapeError)
    j.write_text(json.dumps(dict(doc, objects=[{"label": "car", "polygon": [[3, 1]]}])))
    err = first_error(r.root, source="polygons")
    assert isinstance(err, CorruptFileError) and "object #0" in str(err)


def test_labelids_and_instanceids_disagree(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    _, lab, inst, _ = frame_files(r.root)
    a = np.asarray(Image.open(lab)).copy()
    road = int((a == 7).sum())
    assert road
    a[a == 7] = 8  # road relabelled sidewalk in labelIds only
    Image.fromarray(a).save(lab)
    err = first_error(r.root, cross_check=True)
    assert isinstance(err, CorruptFileError)
    assert str(lab) in str(err) and str(inst) in str(err) and f"{road} pixels" in str(err)
    # without the cross-check the labelIds PNG is not read: the frame is what instanceIds says
    assert len(list(datasets.open_reader("cityscapes", r.root))) == len(r.samples)


def test_labelids_png_is_redundant_with_instanceids(edge) -> None:
    """The reader's labelIds (decoded from instanceIds) equal the shipped labelIds PNG on every frame
    (what ``cross_check`` verifies), and the default reads no labelIds PNG at all."""
    plain = datasets.open_reader("cityscapes", edge.root)
    checked = datasets.open_reader("cityscapes", edge.root, cross_check=True)
    refs = [r for r in plain.list_refs() if r.meta["source"] == "png"]
    crefs = [r for r in checked.list_refs() if r.meta["source"] == "png"]
    assert refs and all(not any("labelIds" in p for p in r.paths) for r in refs)
    for ref, cref in zip(refs, crefs, strict=True):
        assert any(p.endswith("_labelIds.png") for p in cref.paths)
        png = np.asarray(Image.open(next(p for p in cref.paths if p.endswith("_labelIds.png"))))
        np.testing.assert_array_equal(plain.read(ref).semantic, png)
        np.testing.assert_array_equal(checked.read(cref).semantic, png)


def test_invalid_label_id_in_png(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    _, lab, _, _ = frame_files(r.root)
    a = np.asarray(Image.open(lab)).copy()
    a[0, 0] = 200
    Image.fromarray(a).save(lab)
    err = first_error(r.root, cross_check=True)
    assert isinstance(err, ClassIdError) and "200" in str(err) and str(lab) in str(err)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (34, "no Cityscapes label id"),
        (500, "no Cityscapes"),
        (7001, "without instances"),
        (60000, "no Cityscapes"),
    ],
)
def test_invalid_value_in_instanceids_png(tmp_path: Path, value: int, why: str) -> None:
    r = fresh(tmp_path)
    _, _, inst, _ = frame_files(r.root)
    a = np.asarray(Image.open(inst)).astype(np.uint16)
    a[0, 0] = value
    Image.fromarray(a).save(inst)
    err = first_error(r.root)
    assert isinstance(err, ClassIdError) and str(value) in str(err) and why in str(err)
    assert str(inst) in str(err)


def test_size_mismatches(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    j, lab, inst, _ = frame_files(r.root)
    a = np.asarray(Image.open(lab))
    Image.fromarray(np.ascontiguousarray(a[:-4])).save(lab)
    err = first_error(r.root, cross_check=True)
    assert isinstance(err, SizeMismatchError) and str(inst) in str(err) and lab.name in str(err)
    # both label maps consistent, but smaller than the image
    Image.fromarray(np.ascontiguousarray(np.asarray(Image.open(inst))[:-4])).save(inst)
    for opts in ({}, {"cross_check": True}):
        err = first_error(r.root, **opts)
        assert isinstance(err, SizeMismatchError) and str(inst) in str(err)
    # polygons that claim another image size
    doc = json.loads(j.read_text())
    j.write_text(json.dumps(dict(doc, imgWidth=doc["imgWidth"] + 8)))
    err = first_error(r.root, source="polygons")
    assert isinstance(err, SizeMismatchError) and str(j) in str(err)


def test_missing_image(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    img = sorted((r.root / "leftImg8bit" / "train").glob("*/*.png"))[0]
    img.unlink()
    err = first_error(r.root)
    assert isinstance(err, MissingFileError) and str(img) in str(err)


def test_labelids_only_frames_give_semantic_without_instances(tmp_path: Path) -> None:
    """Third-party copies that ship only ``_gtFine_labelIds.png``: semantic from it, no instances
    (these frames used to fail with "instanceIds.png: label PNG not found", or be skipped)."""
    r = fresh(tmp_path)
    want = {}
    for j in sorted((r.root / "gtFine").glob("*/*/*_polygons.json")):
        stem = j.name.split("_gtFine_")[0]
        ref = tmp_path / f"{stem}_ref.png"
        json2labelImg(str(j), str(ref), "ids")  # cityscapesScripts' own labelIds, from the polygons
        want[stem] = pil_array(ref)
        j.unlink()
        j.with_name(f"{stem}_gtFine_instanceIds.png").unlink()
    for opts in ({}, {"source": "png"}, {"cross_check": True}):
        reader = datasets.open_reader("cityscapes", r.root, on_error="skip", **opts)
        samples = {s.sample_id: s for s in reader}
        assert not reader.skipped, reader.skipped
        assert set(samples) == set(want) == set(r.samples)
        for stem, s in samples.items():
            np.testing.assert_array_equal(s.semantic, want[stem], err_msg=stem)
            assert s.semantic.dtype == np.uint8
            assert s.instance is None and s.instance_ids is None and s.instance_classes is None
            assert s.meta["source"] == "labelIds" and s.meta["instances"] is False
            assert s.ref.paths[1].endswith(f"{stem}_gtFine_labelIds.png")
            assert s.image().shape[:2] == s.shape


def test_labelids_only_frame_next_to_full_frames(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    j, lab, inst, _ = frame_files(r.root)
    inst.unlink()
    j.unlink()
    samples = read(r.root)
    stem = j.name.split("_gtFine_")[0]
    assert samples[stem].instance is None
    np.testing.assert_array_equal(samples[stem].semantic, pil_array(lab))
    others = [s for sid, s in samples.items() if sid != stem]
    assert others and all(s.instance is not None and "instances" not in s.meta for s in others)


def test_labelids_with_bad_ids_are_refused(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    j, lab, inst, _ = frame_files(r.root)
    inst.unlink()
    j.unlink()
    a = np.asarray(Image.open(lab)).copy()
    a[0, 0] = 200
    Image.fromarray(a).save(lab)
    err = first_error(r.root)
    assert isinstance(err, ClassIdError) and str(lab) in str(err) and "200" in str(err)


def test_missing_label_files_say_what_a_frame_needs(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    j, lab, _, _ = frame_files(r.root)
    lab.unlink()
    err = first_error(r.root, cross_check=True, source="png")
    assert isinstance(err, MissingFileError) and str(lab) in str(err)
    assert "_instanceIds.png and _labelIds.png" in str(err)
    j.unlink()
    err = first_error(r.root, source="polygons")
    assert isinstance(err, MissingFileError) and str(j) in str(err)
    assert "needs _polygons.json" in str(err)


def test_options_are_checked(tmp_path: Path) -> None:
    r = fresh(tmp_path)
    with pytest.raises(TypeError):
        datasets.open_reader("cityscapes", r.root, colour=True)
    with pytest.raises(ValueError):
        datasets.open_reader("cityscapes", r.root, annotations="gtMedium")
    with pytest.raises(ValueError):
        datasets.open_reader("cityscapes", r.root, source="jpeg")
    with pytest.raises(ValueError):
        datasets.open_reader("cityscapes", r.root, annotations="gtCoarse", splits=["test"])
    with pytest.raises(MissingFileError) as info:
        datasets.open_reader("cityscapes", r.root, annotations="gtCoarse").list_refs()
    assert "gtCoarse" in str(info.value)


def test_cli_synth(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harmonize.cli import app

    out = tmp_path / "cli"
    res = CliRunner().invoke(app, ["synth", "cityscapes", str(out), "--n", "2", "--edge-cases"])
    assert res.exit_code == 0, res.output
    assert len(read(out)) == 2
    shutil.rmtree(out)
