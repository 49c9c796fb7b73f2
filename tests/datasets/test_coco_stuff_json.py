"""COCO-Stuff stuff-only JSON reader (scene_datasets.md §3.5).

Independent reference: the JSON's compressed RLE strings are decoded here by a plain-Python
implementation of the COCO RLE string format (``rleFrString`` of the COCO API's ``maskApi.c``:
6-bit characters offset by 48, 5 value bits and a continuation bit per character, sign-extended,
counts after the second delta-coded against the count two before; runs alternate 0/1 in
column-major order, starting with 0), not by pycocotools, which the reader uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import yaml

from harmonize import datasets
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    HarmonizeError,
    SizeMismatchError,
    UnsafePathError,
)
from harmonize.testing.contract import ReaderContract

ROOT = Path(__file__).resolve().parents[2]
SIZE = (40, 56)


class TestCocoStuffJson(ReaderContract):
    dataset = "coco_stuff_json"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": SIZE}
    has_instances = False

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        p = root / "annotations" / "stuff_train2017.json"
        doc = json.loads(p.read_text())
        ann = doc["annotations"][0]
        ann["segmentation"]["counts"] = "\x7f\x7f"  # no valid RLE character
        p.write_text(json.dumps(doc))
        image = next(im for im in doc["images"] if im["id"] == ann["image_id"])
        return Path(image["file_name"]).stem, CorruptFileError


# -- the independent RLE decoder ------------------------------------------------------------------
def rle_counts(s: str) -> list[int]:
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_mask(counts: list[int], h: int, w: int) -> np.ndarray:
    flat = np.zeros(h * w, bool)
    pos, value = 0, False
    for n in counts:
        flat[pos : pos + n] = value
        pos += n
        value = not value
    assert pos == h * w, "RLE runs do not cover the image"
    return flat.reshape(w, h).T


def painted(json_path: Path) -> dict[str, np.ndarray]:
    """file stem -> category_id map, from the JSON alone (compressed RLE only)."""
    doc = json.loads(json_path.read_text())
    out, size = {}, {}
    for im in doc["images"]:
        out[im["id"]] = np.zeros((im["height"], im["width"]), np.int64)
        size[im["id"]] = im["file_name"].rsplit(".", 1)[0]
    for a in doc["annotations"]:
        seg = a["segmentation"]
        if not isinstance(seg, dict) or not isinstance(seg["counts"], str):
            continue  # the look-alike's uncompressed / polygon quirks: checked against truth
        h, w = seg["size"]
        m = rle_mask(rle_counts(seg["counts"]), h, w)
        target = out[a["image_id"]]
        assert not (target[m] != 0).any(), "annotations overlap"
        target[m] = a["category_id"]
    return {size[i]: v for i, v in out.items()}


@pytest.fixture(scope="module")
def look(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("coco_stuff_json")
    return datasets.synthesize("coco_stuff_json", out, n=4, seed=3, size=SIZE, edge_cases=True)


def _read(root: Path, **kw) -> dict:
    return {s.sample_id: s for s in datasets.open_reader("coco_stuff_json", root, **kw)}


def test_reader_equals_independent_rle_decoding(look) -> None:
    samples = _read(look.root)
    quirky = {Path(p).stem for k in ("uncompressed", "polygon") for p in look.quirks[k]}
    checked = 0
    for split in ("train2017", "val2017"):
        for stem, want in painted(look.root / "annotations" / f"stuff_{split}.json").items():
            s = samples[stem]
            assert s.split == split and s.semantic.dtype == np.uint8
            assert s.instance is None
            if stem in quirky:
                continue
            np.testing.assert_array_equal(s.semantic, want, err_msg=stem)
            checked += 1
    assert checked >= 5
    values = set(np.unique(np.concatenate([s.semantic.ravel() for s in samples.values()])))
    assert 183 in values and 0 in values and values <= {0, *range(92, 184)}


def test_file_format_is_the_stuff_json(look) -> None:
    doc = json.loads((look.root / "annotations" / "stuff_val2017.json").read_text())
    assert set(doc) == {"info", "licenses", "images", "categories", "annotations"}
    assert [c["id"] for c in doc["categories"]] == list(range(92, 184))
    assert doc["categories"][-1] == {"supercategory": "other", "id": 183, "name": "other"}
    assert min(a["id"] for a in doc["annotations"]) > 20_000_000
    for im in doc["images"]:
        assert {"id", "file_name", "height", "width"} <= set(im)
    for a in doc["annotations"]:
        assert set(a) == {
            "id",
            "image_id",
            "category_id",
            "segmentation",
            "area",
            "bbox",
            "iscrowd",
        }
        assert a["iscrowd"] == 0 and len(a["bbox"]) == 4
        m = rle_mask(rle_counts(a["segmentation"]["counts"]), *a["segmentation"]["size"])
        assert a["area"] == m.sum()
        ys, xs = np.nonzero(m)
        assert a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


def test_other_reads_as_unlabeled_through_the_taxonomy(look) -> None:
    """183 'other' (things merged) is no class of the coco_stuff taxonomy: its encoding
    ``stuff_json`` reads it as unlabeled; stuff ids go where the YAML mapping sends them."""
    from harmonize.engine.sample import remap_sample
    from harmonize.taxonomy import compile_mapping, load_mapping, load_ontology, load_taxonomy

    reader = datasets.open_reader("coco_stuff_json", look.root)
    cm = compile_mapping(
        load_taxonomy("coco_stuff"),
        load_ontology("scene"),
        load_mapping("coco_stuff", "scene"),
        encoding=reader.encoding,
    )
    tax = yaml.safe_load((ROOT / "taxonomies/datasets/coco_stuff.yaml").read_text())
    onto = yaml.safe_load((ROOT / "taxonomies/ontologies/scene.yaml").read_text())
    rules = yaml.safe_load((ROOT / "taxonomies/mappings/coco_stuff__scene.yaml").read_text())
    enc = next(e for e in tax["encodings"] if e["name"] == "stuff_json")
    ids = {n["name"]: n["id"] for n in [*onto["nodes"], *onto["special"]]}
    to = {r["id"]: ids[r["to"]] for r in rules["rules"]}
    for s in reader:
        out = remap_sample(s, cm).semantic
        native = s.semantic.astype(int)
        want = np.vectorize(lambda v: to[enc["special"].get(v, v)])(native)
        np.testing.assert_array_equal(out, want, err_msg=s.sample_id)
    assert enc["special"] == {0: 0, 183: 0} and to[0] == ids["unlabeled"]


# -- broken files ---------------------------------------------------------------------------------
def _fresh(tmp_path: Path):
    return datasets.synthesize("coco_stuff_json", tmp_path / "cs", n=2, seed=1, size=SIZE)


def _edit(root: Path, fn) -> Path:
    p = root / "annotations" / "stuff_train2017.json"
    doc = json.loads(p.read_text())
    fn(doc)
    p.write_text(json.dumps(doc))
    return p


def _error(root: Path) -> HarmonizeError:
    with pytest.raises(HarmonizeError) as info:
        for _ in datasets.open_reader("coco_stuff_json", root):
            pass
    return info.value


def test_overlapping_annotations_are_refused(tmp_path: Path) -> None:
    r = _fresh(tmp_path)

    def dup(doc):
        a = dict(doc["annotations"][0], id=1, category_id=doc["annotations"][1]["category_id"])
        doc["annotations"].append(a)

    p = _edit(r.root, dup)
    err = _error(r.root)
    assert isinstance(err, CorruptFileError) and str(p) in str(err) and "overlap" in str(err)


def test_unknown_category_and_image_are_named(tmp_path: Path) -> None:
    r = _fresh(tmp_path)
    p = _edit(r.root, lambda d: d["annotations"][0].update(category_id=12))
    err = _error(r.root)
    assert isinstance(err, ClassIdError) and str(p) in str(err) and "category_id 12" in str(err)
    r = _fresh(tmp_path / "b")
    p = _edit(r.root, lambda d: d["annotations"][0].update(image_id=-5))
    err = _error(r.root)
    assert isinstance(err, CorruptFileError) and "image_id -5" in str(err)


def test_rle_size_must_be_the_image_size(tmp_path: Path) -> None:
    r = _fresh(tmp_path)
    p = _edit(r.root, lambda d: d["images"][0].update(height=d["images"][0]["height"] + 2))
    err = _error(r.root)
    assert isinstance(err, SizeMismatchError) and str(p) in str(err)


def test_unsafe_file_name_is_refused(tmp_path: Path) -> None:
    r = _fresh(tmp_path)
    p = _edit(r.root, lambda d: d["images"][0].update(file_name="../../etc/passwd.jpg"))
    err = _error(r.root)
    assert isinstance(err, UnsafePathError) and str(p) in str(err)


def test_json_directly_under_the_root_and_coco_image_folders(tmp_path: Path) -> None:
    r = _fresh(tmp_path)
    for p in (r.root / "annotations").iterdir():
        p.rename(r.root / p.name)
    (r.root / "images" / "train2017").rename(r.root / "train2017")
    (r.root / "images" / "val2017").rename(r.root / "val2017")
    samples = _read(r.root)
    assert set(samples) == set(r.samples)
    for sid, s in samples.items():
        np.testing.assert_array_equal(s.semantic, r.samples[sid].semantic)
        assert s.image().shape[:2] == s.shape


def test_rle_runs_short_of_the_image_are_refused(tmp_path: Path) -> None:
    """pycocotools would decode such runs into a partly uninitialised mask; the reader refuses."""
    r = _fresh(tmp_path)
    p = _edit(r.root, lambda d: d["annotations"][0]["segmentation"].update(counts="\x7f\x7f"))
    err = _error(r.root)
    assert isinstance(err, CorruptFileError) and str(p) in str(err) and "cover" in str(err)


def test_rle_runs_match_the_masks_own_runs() -> None:
    """``rle_runs`` against the run lengths of the column-major mask (independent reference)."""
    from pycocotools import mask as cocomask

    from harmonize.datasets.coco_stuff_json import rle_runs

    rng = np.random.default_rng(5)
    for t in range(100):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        m = (rng.random((h, w)) < (0.02 if t % 2 else 0.6)).astype(np.uint8)
        flat = m.flatten(order="F")
        edges = np.flatnonzero(np.diff(flat)) + 1
        bounds = np.concatenate([[0], edges, [flat.size]])
        want = np.diff(bounds).tolist()
        if flat[0] == 1:
            want = [0, *want]  # COCO RLE starts with a run of zeros
        got = rle_runs(cocomask.encode(np.asfortranarray(m))["counts"])
        assert got == want and sum(got) == h * w
