"""The generic layout reader (harmonize.datasets.layout).

* The ported layouts (PASCAL VOC 2012 PNGs, COCO-Stuff 164k) against an independent decoding of
  the look-alike files with Pillow and numpy (edge cases included).
* Each label encoding, split mode and check on small toy datasets declared in a temporary
  taxonomy folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harmonize import datasets
from harmonize.datasets import _io
from harmonize.errors import (
    CorruptFileError,
    DuplicateSampleError,
    ShapeError,
    SizeMismatchError,
    TaxonomyError,
    TooLargeError,
    UnsafePathError,
)
from harmonize.taxonomy import catalog


# -- the ported layouts against Pillow ------------------------------------------------------------
def test_voc_pngs_match_an_independent_decoding(tmp_path: Path) -> None:
    res = datasets.synthesize("pascal_voc", tmp_path, n=4, seed=1, edge_cases=True, sbd=False)
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    want_ids = []
    for split in ("train", "val"):
        lines = (voc / "ImageSets" / "Segmentation" / f"{split}.txt").read_text().split()
        want_ids += [(split, x) for x in lines]
    reader = datasets.open_reader("pascal_voc", tmp_path)
    got = {s.sample_id: s for s in reader}
    assert [(r.split, r.sample_id) for r in reader.list_refs()] == want_ids
    for split, sid in want_ids:
        s = got[sid]
        assert s.split == split
        cls = np.asarray(Image.open(voc / "SegmentationClass" / f"{sid}.png"))  # palette index
        obj = np.asarray(Image.open(voc / "SegmentationObject" / f"{sid}.png"))
        assert Image.open(voc / "SegmentationClass" / f"{sid}.png").mode == "P"
        np.testing.assert_array_equal(s.semantic, cls)
        np.testing.assert_array_equal(s.instance, np.where((obj == 0) | (obj == 255), 0, obj))
        for k, c in zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True):
            under = set(np.unique(cls[(obj == k) & (cls != 255)]).tolist())
            assert under == {c}, (sid, k)
        assert set(s.instance_ids.tolist()) == set(np.unique(obj).tolist()) - {0, 255}
        assert s.meta["source"] == "voc2012" and s.meta["year"] == int(sid[:4])
        jpg = np.asarray(Image.open(voc / "JPEGImages" / f"{sid}.jpg").convert("RGB"))
        np.testing.assert_array_equal(s.image(), jpg)
    assert set(got) == set(res.samples)


def test_coco_stuff_164k_pngs_match_an_independent_decoding(tmp_path: Path) -> None:
    datasets.synthesize("coco_stuff", tmp_path, n=4, seed=2, edge_cases=True)
    reader = datasets.open_reader("coco_stuff", tmp_path)
    got = {s.sample_id: s for s in reader}
    pngs = sorted(
        p
        for p in (tmp_path / "annotations").glob("*/*.png")
        if not p.stem.endswith("_labelTrainIds")
    )
    assert sorted(got) == sorted(p.stem for p in pngs)
    assert any(Image.open(p).mode == "P" for p in pngs)  # the edge case's palette PNG
    for p in pngs:
        s = got[p.stem]
        assert s.split == p.parent.name
        np.testing.assert_array_equal(s.semantic, np.asarray(Image.open(p)))
        assert s.semantic.dtype == np.uint8 and s.instance is None
        assert s.meta == {"release": "164k", "image_id": int(p.stem)}
    assert reader.encoding == "stuffthingmaps_png"


def test_coco_stuff_164k_under_dataset_and_stuffthingmaps_folder(tmp_path: Path) -> None:
    datasets.synthesize("coco_stuff", tmp_path / "dataset", n=2, seed=0)
    (tmp_path / "dataset" / "annotations").rename(tmp_path / "dataset" / "stuffthingmaps")
    reader = datasets.open_reader("coco_stuff", tmp_path)
    assert len(list(reader)) == 2
    assert all("/dataset/stuffthingmaps/" in r.paths[1] for r in reader.list_refs())


# -- toy datasets ---------------------------------------------------------------------------------
CLASSES = """\
classes:
  - {id: 0, name: background, color: [0, 0, 0], role: background}
  - {id: 1, name: car, color: [200, 0, 0], instances: true}
  - {id: 2, name: road, color: [0, 200, 0]}
  - {id: 255, name: void, color: [255, 255, 255], role: void}
"""


@pytest.fixture
def declare(tmp_path: Path):
    """Declare a toy dataset ``toy`` with the given ``layout:`` text; returns its YAML path."""
    saved = list(catalog._extra_dirs)
    folder = tmp_path / "taxonomies"

    def _declare(layout: str) -> Path:
        (folder / "datasets").mkdir(parents=True, exist_ok=True)
        p = folder / "datasets" / "toy.yaml"
        p.write_text("kind: dataset\nname: toy\ntitle: Toy\nlayout:\n" + layout + CLASSES)
        catalog.add_taxonomy_dirs([folder])
        return p

    yield _declare
    catalog._extra_dirs[:] = saved


LIST_LAYOUT = """\
  splits: {names: [train, val], list: "lists/{split}.txt"}
  image: "img/{stem}.png"
  semantic: {path: "cls/{stem}.png", encoding: palette}
  instance: {path: "obj/{stem}.png", none: [0, 255]}
  stem_meta: '^(?P<seq>[0-9]+)_'
  meta: {source: toy}
"""


@pytest.mark.parametrize(
    "layout",
    [
        LIST_LAYOUT,
        '  splits: {names: [a, b]}\n  image: "{split}/{stem}.jpg"\n'
        '  semantic: {path: "{split}/{stem}_id.png", encoding: instance16, dtype: uint16, '
        "divisor: 1000}\n",
        '  splits: {names: [a]}\n  image: "i/{split}/{stem}.png"\n'
        '  semantic: {path: "l/{split}/{stem}.png", encoding: index, dtype: uint16}\n'
        '  instance: {path: "o/{split}/{stem}.png", dtype: uint16}\n',
        '  splits: {names: [a, b]}\n  image: "{split}/images/{stem}.jpg"\n'
        '  semantic: {path: "{split}/instances/{stem}.png", encoding: packed16, dtype: uint16, '
        "divisor: 256}\n",
    ],
    ids=["palette+list+instances", "instance16+folders", "uint16-index", "packed16+folders"],
)
def test_generator_and_reader_agree(declare, tmp_path: Path, layout: str) -> None:
    declare(layout)
    res = datasets.synthesize("toy", tmp_path / "d", n=4, seed=5, edge_cases=True)
    reader = datasets.open_reader("toy", res.root)
    got = {s.sample_id: s for s in reader}
    assert set(got) == set(res.samples)
    for sid, truth in res.samples.items():
        s = got[sid]
        np.testing.assert_array_equal(s.semantic, truth.semantic)
        assert s.semantic.dtype == truth.semantic.dtype
        if truth.instance is not None:
            np.testing.assert_array_equal(s.instance, truth.instance)
            table = dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True))
            assert table == truth.instance_classes
    assert any(t.instance_classes for t in res.samples.values())


def test_packed16_matches_a_hand_made_map(declare, tmp_path: Path) -> None:
    # Mapillary Vistas' instances PNGs: class * 256 + i on every pixel; every value of a class
    # with instances is one object (i from 0), i is not read elsewhere.
    declare(
        '  splits: {names: [a]}\n  image: "{split}/images/{stem}.png"\n'
        '  semantic: {path: "{split}/instances/{stem}.png", encoding: packed16, dtype: uint16, '
        "divisor: 256}\n"
    )
    raw = np.array([[1 * 256 + 0, 1 * 256 + 0, 1 * 256 + 7], [2 * 256, 2 * 256 + 3, 0]], np.uint16)
    (tmp_path / "d" / "a" / "images").mkdir(parents=True)
    _io.write_png(tmp_path / "d" / "a" / "instances" / "x.png", raw)
    Image.new("RGB", (3, 2)).save(tmp_path / "d" / "a" / "images" / "x.png")
    s = datasets.open_reader("toy", tmp_path / "d").read(
        datasets.open_reader("toy", tmp_path / "d").list_refs()[0]
    )
    np.testing.assert_array_equal(s.semantic, [[1, 1, 1], [2, 2, 0]])
    # car (1) has instances: objects 257 and 264 (value + 1); road (2) and background: none
    np.testing.assert_array_equal(s.instance, [[257, 257, 264], [0, 0, 0]])
    assert s.instance_ids.tolist() == [257, 264] and s.instance_classes.tolist() == [1, 1]


def test_list_ids_with_a_path_are_refused(declare, tmp_path: Path) -> None:
    declare(LIST_LAYOUT)
    res = datasets.synthesize("toy", tmp_path / "d", n=2)
    (res.root / "lists" / "train.txt").write_text("../../etc/passwd\n")
    with pytest.raises(UnsafePathError) as info:
        datasets.open_reader("toy", res.root).list_refs()
    assert "train.txt:1" in str(info.value)


def test_size_mismatch_and_palette_required(declare, tmp_path: Path) -> None:
    declare(LIST_LAYOUT)
    res = datasets.synthesize("toy", tmp_path / "d", n=2)
    reader = datasets.open_reader("toy", res.root)
    ref = reader.list_refs()[0]
    sem = np.asarray(Image.open(ref.paths[1]))
    _io.write_png(ref.paths[1], sem[:-1])  # grey, one row short
    with pytest.raises(ShapeError, match="palette"):
        reader.read(ref)
    _io.write_png(ref.paths[1], sem[:-1], palette=np.zeros((256, 3), np.uint8))
    with pytest.raises(
        SizeMismatchError, match=r"label map is \(63, 96\).*but its image .* is \(64, 96\)"
    ) as info:
        reader.read(ref)
    assert ref.paths[1] in str(info.value)


def test_object_on_two_classes_strict_and_vote(declare, tmp_path: Path) -> None:
    declare(LIST_LAYOUT)
    res = datasets.synthesize("toy", tmp_path / "d", n=3, seed=1, edge_cases=True)
    sid = res.quirks["touching_same_class"][0].rsplit("/", 1)[1][: -len(".png")]
    reader = datasets.open_reader("toy", res.root)
    ref = next(r for r in reader.list_refs() if r.sample_id == sid)
    sem = np.asarray(Image.open(ref.paths[1])).copy()
    obj = np.asarray(Image.open(ref.paths[2]))
    sem[np.argwhere(obj == 1)[0][0], np.argwhere(obj == 1)[0][1]] = 2  # one road pixel on car 1
    _io.write_png(ref.paths[1], sem, palette=np.zeros((256, 3), np.uint8))
    with pytest.raises(CorruptFileError, match="object 1 covers class values"):
        reader.read(ref)
    vote = datasets.open_reader("toy", res.root, object_classes="vote").read(ref)
    assert vote.instance_classes is None and vote.instance is not None


def test_duplicate_stems_across_split_folders(declare, tmp_path: Path) -> None:
    declare('  splits: {names: [a, b]}\n  image: "{split}/{stem}.jpg"\n'
            '  semantic: {path: "{split}/{stem}.png"}\n')  # fmt: skip
    res = datasets.synthesize("toy", tmp_path / "d", n=2)
    a = next(iter(res.samples.values()))
    other = "b" if a.split == "a" else "a"
    for suffix in (".jpg", ".png"):
        src = res.root / a.split / f"{a.sample_id}{suffix}"
        (res.root / other / f"{a.sample_id}{suffix}").write_bytes(src.read_bytes())
    with pytest.raises(DuplicateSampleError):
        datasets.open_reader("toy", res.root).list_refs()


def test_pixel_limit_and_exclude(declare, tmp_path: Path) -> None:
    declare('  splits: {names: [a]}\n  image: "{split}/{stem}.jpg"\n'
            '  semantic: {path: "{split}/{stem}.png"}\n  exclude: ["*_x.png"]\n')  # fmt: skip
    res = datasets.synthesize("toy", tmp_path / "d", n=2, size=(32, 48))
    _io.write_png(res.root / "a" / "junk_x.png", np.zeros((4, 4), np.uint8))
    reader = datasets.open_reader("toy", res.root)
    assert {r.sample_id for r in reader.list_refs()} == set(res.samples)
    _io.set_max_pixels(32 * 48 - 1)
    try:
        with pytest.raises(TooLargeError):
            reader.read(reader.list_refs()[0])
    finally:
        _io.set_max_pixels(None)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ('  splits: {names: [a]}\n  image: "/abs/{stem}.jpg"\n  semantic: {path: "{split}/{stem}.png"}\n',
         "relative path"),
        ('  splits: {names: [a]}\n  image: "{split}/x.jpg"\n  semantic: {path: "{split}/{stem}.png"}\n',
         "exactly once"),
        ('  splits: {names: [a]}\n  image: "{split}/{stem}.jpg"\n  semantic: {path: "{stem}.png"}\n',
         "{split} must be a folder"),
        ('  splits: {names: [a]}\n  image: "{split}/{stem}.jpg"\n  semantic: {path: "{split}/{stem}.png", encoding: instance16}\n',
         "divisor"),
        ('  splits: {names: [a]}\n  image: "{split}/{stem}.jpg"\n  semantic: {path: "{split}/{stem}.png"}\n  stem_meta: "(("\n',
         "regular expression"),
        ('  splits: {names: [a]}\n  image: "{split}/{stem}.jpg"\n  semantic: {path: "{split}/{stem}.png"}\n  encoding: nope\n',
         "not declared"),
        ('  splits: {names: [a]}\n  image: "{split}/{stem}.jpg"\n  semantic: {path: "{split}/{stem}.png"}\n  colour: 1\n',
         "colour"),
    ],
)  # fmt: skip
def test_bad_layout_blocks_name_file_and_line(declare, layout: str, message: str) -> None:
    p = declare(layout)
    with pytest.raises(TaxonomyError, match=message.replace("{", r"\{")) as info:
        datasets.get("toy")
    assert f"{p}:" in str(info.value)


def test_rgb_needs_a_colour_per_class(declare) -> None:
    p = declare('  splits: {names: [a]}\n  image: "{split}/{stem}.jpg"\n'
                '  semantic: {path: "{split}/{stem}.png", encoding: rgb}\n')  # fmt: skip
    p.write_text(p.read_text().replace("color: [0, 200, 0]", "color: [200, 0, 0]"))
    with pytest.raises(TaxonomyError, match="one colour per class") as info:
        datasets.get("toy")
    line = 1 + p.read_text().splitlines().index("  - {id: 2, name: road, color: [200, 0, 0]}")
    assert f"{p}:{line}" in str(info.value)


def test_file_name_must_be_the_dataset_name(declare) -> None:
    p = declare('  splits: {names: [a]}\n  image: "{split}/{stem}.jpg"\n'
                '  semantic: {path: "{split}/{stem}.png"}\n')  # fmt: skip
    p.rename(p.with_name("other.yaml"))
    with pytest.raises(TaxonomyError, match="must equal the file name") as info:
        datasets.names()
    assert f"{p.with_name('other.yaml')}:2" in str(info.value)


def test_a_layout_reader_class_needs_its_layout(tmp_path: Path) -> None:
    from harmonize.datasets.pascal_voc import PascalVOCReader

    with pytest.raises(TypeError, match="open_reader"):
        PascalVOCReader(tmp_path)
