"""COCO panoptic 2017 reader (harmonize.datasets.coco_panoptic).

Independent reference: the PNGs and JSON written by the look-alike are decoded here as
panopticapi does it (``utils.rgb2id``: ``R + 256 G + 256^2 B`` on the int32 colour channels;
``converters/panoptic2semantic_segmentation.py``: ``semantic[pan == segment id] = category_id``
for every segment, crowd included), in plain numpy and PIL, not through the reader's code.
Instances are the non-crowd thing segments (``isthing`` of the JSON's categories).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from harmonize import datasets
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    HarmonizeError,
    SizeMismatchError,
    UnsafePathError,
)
from harmonize.testing.contract import ReaderContract, assert_same_partition

SIZE = (40, 56)


class TestCocoPanoptic(ReaderContract):
    dataset = "coco_panoptic"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": SIZE}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        png = sorted((root / "annotations" / "panoptic_train2017").glob("*.png"))[0]
        png.write_bytes(png.read_bytes()[:60])  # truncated
        return png.stem, CorruptFileError


# -- the independent decoding ---------------------------------------------------------------------
def panopticapi_decode(root: Path, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """stem -> (semantic, instance) as panopticapi's rgb2id + semantic converter give them."""
    doc = json.loads((root / "annotations" / f"panoptic_{split}.json").read_text())
    isthing = {c["id"]: c["isthing"] for c in doc["categories"]}
    out = {}
    for ann in doc["annotations"]:
        png = root / "annotations" / f"panoptic_{split}" / ann["file_name"]
        color = np.array(Image.open(png), dtype=np.int32)
        pan = color[:, :, 0] + 256 * color[:, :, 1] + 256 * 256 * color[:, :, 2]
        semantic = np.zeros(pan.shape, np.uint8)
        instance = np.zeros(pan.shape, np.int64)
        for seg in ann["segments_info"]:
            mask = pan == seg["id"]
            semantic[mask] = seg["category_id"]
            if isthing[seg["category_id"]] and not seg["iscrowd"]:
                instance[mask] = seg["id"]
        out[Path(ann["file_name"]).stem] = (semantic, instance)
    return out


@pytest.fixture(scope="module")
def look(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("coco_panoptic")
    return datasets.synthesize("coco_panoptic", out, n=4, seed=3, size=SIZE, edge_cases=True)


def _read(root: Path, **kw: Any) -> dict:
    return {s.sample_id: s for s in datasets.open_reader("coco_panoptic", root, **kw)}


def test_reader_equals_panopticapi_decoding(look) -> None:
    samples = _read(look.root)
    checked = 0
    for split in ("train2017", "val2017"):
        for stem, (sem, inst) in panopticapi_decode(look.root, split).items():
            s = samples[stem]
            assert s.split == split and s.semantic.dtype == np.uint8
            np.testing.assert_array_equal(s.semantic, sem, err_msg=stem)
            assert_same_partition(s.instance, inst, stem)
            np.testing.assert_array_equal(s.instance[inst != 0], inst[inst != 0])  # segment ids
            checked += 1
    assert checked == len(look.samples) >= 8


def test_crowd_is_semantic_but_no_instance(look) -> None:
    (png,) = look.quirks["crowd"]
    stem = Path(png).stem
    doc = json.loads((look.root / "annotations" / "panoptic_train2017.json").read_text())
    ann = next(a for a in doc["annotations"] if a["file_name"] == f"{stem}.png")
    crowd = [s for s in ann["segments_info"] if s["iscrowd"]]
    assert crowd and all(s["category_id"] == 1 for s in crowd)
    s = _read(look.root)[stem]
    color = np.array(Image.open(png), dtype=np.int32)
    pan = color[:, :, 0] + 256 * color[:, :, 1] + 65536 * color[:, :, 2]
    for seg in crowd:
        m = pan == seg["id"]
        assert m.any() and (s.semantic[m] == 1).all() and (s.instance[m] == 0).all()
        assert seg["id"] not in s.instance_ids.tolist()


def test_every_category_and_touching_things(look) -> None:
    samples = _read(look.root)
    every = samples[Path(look.quirks["every"][0]).stem]
    doc = json.loads((look.root / "annotations" / "panoptic_val2017.json").read_text())
    cat_ids = {c["id"] for c in doc["categories"]}
    assert len(cat_ids) == 133 and max(cat_ids) == 200
    assert set(np.unique(every.semantic).tolist()) - {0} == cat_ids
    touching = samples[Path(look.quirks["touching"][0]).stem]
    cars = [
        i for i, c in zip(touching.instance_ids, touching.instance_classes, strict=True) if c == 3
    ]
    assert len(cars) >= 2  # two touching cars stay two instances
    void = samples[Path(look.quirks["void"][0]).stem]
    assert not void.semantic.any() and not void.instance.any() and len(void.instance_ids) == 0


def test_file_format_is_the_panoptic_release(look) -> None:
    doc = json.loads((look.root / "annotations" / "panoptic_val2017.json").read_text())
    assert set(doc) == {"info", "licenses", "images", "annotations", "categories"}
    assert set(doc["categories"][0]) == {"supercategory", "color", "isthing", "id", "name"}
    for ann in doc["annotations"]:
        assert set(ann) == {"segments_info", "file_name", "image_id"}
        png = look.root / "annotations" / "panoptic_val2017" / ann["file_name"]
        img = Image.open(png)
        assert img.mode == "RGB"
        color = np.array(img, dtype=np.int32)
        pan = color[:, :, 0] + 256 * color[:, :, 1] + 65536 * color[:, :, 2]
        for seg in ann["segments_info"]:
            assert set(seg) == {"id", "category_id", "iscrowd", "bbox", "area"}
            m = pan == seg["id"]
            ys, xs = np.nonzero(m)
            assert seg["area"] == m.sum()
            bbox = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            assert seg["bbox"] == bbox
        assert (look.root / "val2017" / ann["file_name"].replace(".png", ".jpg")).is_file()


def test_semantic_maps_onto_scene_through_the_yaml(look) -> None:
    import yaml

    from harmonize.engine.sample import remap_sample
    from harmonize.taxonomy import compile_mapping, load_mapping, load_ontology, load_taxonomy

    root = Path(__file__).resolve().parents[2] / "taxonomies"
    cm = compile_mapping(
        load_taxonomy("coco_panoptic"),
        load_ontology("scene"),
        load_mapping("coco_panoptic", "scene"),
    )
    onto = yaml.safe_load((root / "ontologies/scene.yaml").read_text())
    rules = yaml.safe_load((root / "mappings/coco_panoptic__scene.yaml").read_text())
    ids = {n["name"]: n["id"] for n in [*onto["nodes"], *onto["special"]]}
    to = {r["id"]: ids[r["to"]] for r in rules["rules"]}
    for s in datasets.open_reader("coco_panoptic", look.root):
        out = remap_sample(s, cm)
        want = np.vectorize(to.__getitem__)(s.semantic.astype(int))
        np.testing.assert_array_equal(out.semantic, want, err_msg=s.sample_id)


# -- broken files ---------------------------------------------------------------------------------
def _fresh(tmp_path: Path):
    return datasets.synthesize("coco_panoptic", tmp_path / "cp", n=2, seed=1, size=SIZE)


def _edit(root: Path, fn) -> Path:
    p = root / "annotations" / "panoptic_train2017.json"
    doc = json.loads(p.read_text())
    fn(doc)
    p.write_text(json.dumps(doc))
    return p


def _error(root: Path) -> HarmonizeError:
    with pytest.raises(HarmonizeError) as info:
        for _ in datasets.open_reader("coco_panoptic", root):
            pass
    return info.value


def _first_png(root: Path) -> Path:
    doc = json.loads((root / "annotations" / "panoptic_train2017.json").read_text())
    return root / "annotations" / "panoptic_train2017" / doc["annotations"][0]["file_name"]


def test_png_segment_missing_from_segments_info(tmp_path: Path) -> None:
    r = _fresh(tmp_path)

    def drop(doc: dict) -> None:
        doc["annotations"][0]["segments_info"].pop(0)

    _edit(r.root, drop)
    err = _error(r.root)
    assert isinstance(err, CorruptFileError) and "not in its segments_info" in str(err)
    assert str(_first_png(r.root)) in str(err)


def test_segments_info_id_missing_from_png(tmp_path: Path) -> None:
    r = _fresh(tmp_path)

    def add(doc: dict) -> None:
        seg = dict(doc["annotations"][0]["segments_info"][0], id=(1 << 24) - 1)
        doc["annotations"][0]["segments_info"].append(seg)

    _edit(r.root, add)
    err = _error(r.root)
    assert isinstance(err, CorruptFileError) and "does not hold" in str(err)
    assert str(_first_png(r.root)) in str(err) and str((1 << 24) - 1) in str(err)


@pytest.mark.parametrize("where", ["segment", "categories"])
def test_unknown_category_id(tmp_path: Path, where: str) -> None:
    r = _fresh(tmp_path)

    def edit(doc: dict) -> None:
        if where == "segment":
            doc["annotations"][0]["segments_info"][0]["category_id"] = 12  # street sign: unused
        else:
            doc["categories"][0]["id"] = 201

    p = _edit(r.root, edit)
    err = _error(r.root)
    assert isinstance(err, ClassIdError) and str(p) in str(err)
    assert ("category_id 12" if where == "segment" else "id 201") in str(err)


def test_isthing_disagreeing_with_the_release(tmp_path: Path) -> None:
    r = _fresh(tmp_path)

    def edit(doc: dict) -> None:
        next(c for c in doc["categories"] if c["id"] == 184)["isthing"] = 1

    p = _edit(r.root, edit)
    err = _error(r.root)
    assert isinstance(err, ClassIdError) and str(p) in str(err) and "id 184" in str(err)


def test_png_size_mismatch(tmp_path: Path) -> None:
    r = _fresh(tmp_path)
    png = _first_png(r.root)
    img = np.array(Image.open(png))
    Image.fromarray(img[:-1]).save(png)
    err = _error(r.root)
    assert isinstance(err, SizeMismatchError) and str(png) in str(err)


def test_image_size_mismatch(tmp_path: Path) -> None:
    r = _fresh(tmp_path)
    png = _first_png(r.root)
    jpg = r.root / "train2017" / png.name.replace(".png", ".jpg")
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(jpg)
    err = _error(r.root)
    assert isinstance(err, SizeMismatchError) and str(png) in str(err)
    # without images the labels still read
    assert len(_read(r.root, images=False)) == len(r.samples)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda d: d["annotations"][0]["segments_info"][0].update(id=0), "0 is VOID"),
        (lambda d: d["annotations"][0]["segments_info"][0].update(iscrowd=2), "iscrowd"),
        (
            lambda d: d["annotations"][0]["segments_info"].append(
                d["annotations"][0]["segments_info"][0]
            ),
            "listed twice",
        ),
        (lambda d: d["annotations"][0].update(image_id=1), "no image of the file"),
        (lambda d: d["annotations"].append(d["annotations"][0]), "two annotations"),
        (lambda d: d.pop("annotations"), "missing list 'annotations'"),
    ],
)
def test_broken_json_is_refused_naming_it(tmp_path: Path, edit, needle: str) -> None:
    r = _fresh(tmp_path)
    p = _edit(r.root, edit)
    err = _error(r.root)
    assert needle in str(err) and str(p) in str(err)


def test_unsafe_file_name(tmp_path: Path) -> None:
    r = _fresh(tmp_path)
    p = _edit(r.root, lambda d: d["annotations"][0].update(file_name="../../x.png"))
    with pytest.raises(UnsafePathError) as info:
        datasets.open_reader("coco_panoptic", r.root).list_refs()
    assert str(p) in str(info.value)


def test_grey_png_is_refused(tmp_path: Path) -> None:
    # A grey PNG decodes to R = G = B: its ids are no segments of segments_info.
    r = _fresh(tmp_path)
    png = _first_png(r.root)
    Image.fromarray(np.array(Image.open(png))[..., 0]).save(png)
    err = _error(r.root)
    assert isinstance(err, CorruptFileError) and str(png) in str(err)
