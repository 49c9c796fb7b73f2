"""PASCAL VOC 2012 (+ SBD) reader and generator.

Independent references used here (no constants shared with the reader):
* the devkit's ``VOClabelcolormap.m``, re-implemented with MATLAB's bitget/bitshift semantics, and
  the colours of the reference table (scene_datasets.md §2.2);
* ChainerCV's ``voc_instance_segmentation_dataset`` / ``image_wise_to_instance_wise`` (class of an
  instance from the class map under it);
* mmsegmentation's ``voc_aug.py`` (``SegmentationClassAug`` from ``cls/*.mat``; ``aug.txt`` and
  ``trainaug.txt`` set algebra) and torchvision's SBD loader (``GTinst`` fields).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.io
from PIL import Image
from scipy import ndimage

from harmonize import datasets
from harmonize.datasets.pascal_voc import voc_colormap
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    HarmonizeError,
    MissingFileError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.testing.contract import ReaderContract, assert_same_partition

SIZE = (64, 80)


class TestPascalVOC(ReaderContract):
    dataset = "pascal_voc"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": SIZE}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        voc = root / "VOCdevkit" / "VOC2012"
        vid = (voc / "ImageSets" / "Segmentation" / "train.txt").read_text().split()[0]
        p = voc / "SegmentationClass" / f"{vid}.png"
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        return vid, CorruptFileError


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("voc_edge")
    return datasets.synthesize("pascal_voc", out, n=2, seed=3, size=SIZE, edge_cases=True)


@pytest.fixture()
def fresh(tmp_path: Path):
    return datasets.synthesize("pascal_voc", tmp_path / "voc", n=2, seed=1, size=SIZE)


def _voc(root: Path) -> Path:
    return root / "VOCdevkit" / "VOC2012"


def _first(root: Path, split: str = "train") -> str:
    return (_voc(root) / "ImageSets" / "Segmentation" / f"{split}.txt").read_text().split()[0]


def _read_one(result, sample_id: str, **options):
    reader = datasets.open_reader("pascal_voc", result.root, **options)
    ref = next(r for r in reader.list_refs() if r.sample_id == sample_id)
    return reader.read(ref)


# -- colormap and palette -------------------------------------------------------------------------
def _matlab_colormap(n: int) -> list[tuple[int, int, int]]:
    """VOClabelcolormap.m, line by line (bitget is 1-based, bitshift(x, k) shifts left by k)."""

    def bitget(x: int, k: int) -> int:
        return (x >> (k - 1)) & 1

    def bitshift(x: int, k: int) -> int:
        return x << k if k >= 0 else x >> -k

    cmap = []
    for i in range(1, n + 1):
        ident, r, g, b = i - 1, 0, 0, 0
        for j in range(8):
            r |= bitshift(bitget(ident, 1), 7 - j)
            g |= bitshift(bitget(ident, 2), 7 - j)
            b |= bitshift(bitget(ident, 3), 7 - j)
            ident = bitshift(ident, -3)
        cmap.append((r, g, b))
    return cmap


def test_colormap_matches_devkit_algorithm_and_reference_colours() -> None:
    got = voc_colormap(256)
    assert got.shape == (256, 3) and got.dtype == np.uint8
    assert [tuple(map(int, c)) for c in got] == _matlab_colormap(256)
    # colours listed in the reference table (§2.2)
    table = {0: (0, 0, 0), 1: (128, 0, 0), 8: (64, 0, 0), 9: (192, 0, 0), 15: (192, 128, 128)}
    table |= {16: (0, 64, 0), 20: (0, 64, 128), 255: (224, 224, 192)}
    for idx, rgb in table.items():
        assert tuple(map(int, got[idx])) == rgb


def test_generated_pngs_are_palette_images_with_voc_palette(fresh) -> None:
    vid = _first(fresh.root)
    for folder in ("SegmentationClass", "SegmentationObject"):
        img = Image.open(_voc(fresh.root) / folder / f"{vid}.png")
        assert img.mode == "P"
        pal = np.array(img.getpalette()[: 256 * 3]).reshape(256, 3)
        assert [tuple(map(int, c)) for c in pal] == _matlab_colormap(256)


def test_palette_index_is_read_not_the_colour(fresh) -> None:
    """Permute the palette colours: indices (the labels) must come back unchanged."""
    vid = _first(fresh.root)
    p = _voc(fresh.root) / "SegmentationClass" / f"{vid}.png"
    img = Image.open(p)
    idx = np.asarray(img).copy()
    pal = np.array(img.getpalette()[: 256 * 3], np.uint8).reshape(256, 3)
    permuted = pal[np.random.default_rng(0).permutation(256)]
    out = Image.frombytes("P", (idx.shape[1], idx.shape[0]), idx.tobytes())
    out.putpalette(permuted.reshape(-1).tolist())
    out.save(p)
    assert (
        np.asarray(Image.open(p).convert("RGB")).tolist() != np.asarray(img.convert("RGB")).tolist()
    )
    s = _read_one(fresh, vid)
    np.testing.assert_array_equal(s.semantic, fresh.samples[vid].semantic)


def test_grey_L_label_png_with_indices_is_accepted(fresh) -> None:
    vid = _first(fresh.root)
    p = _voc(fresh.root) / "SegmentationClass" / f"{vid}.png"
    Image.fromarray(np.asarray(Image.open(p))).save(p)  # mode L, as SegmentationClassAug
    assert Image.open(p).mode == "L"
    np.testing.assert_array_equal(_read_one(fresh, vid).semantic, fresh.samples[vid].semantic)


# -- void band and instances ----------------------------------------------------------------------
def test_void_band_is_shared_by_class_and_object_pngs(edge) -> None:
    voc = _voc(edge.root)
    banded = 0
    for sid, truth in edge.samples.items():
        if sid.startswith("sbd_"):
            continue
        cls = np.asarray(Image.open(voc / "SegmentationClass" / f"{sid}.png"))
        obj = np.asarray(Image.open(voc / "SegmentationObject" / f"{sid}.png"))
        np.testing.assert_array_equal(cls == 255, obj == 255)
        s = _read_one(edge, sid)
        assert not (s.instance[cls == 255]).any(), "void pixels must carry no instance"
        assert (s.semantic[cls == 255] == 255).all(), "void stays 255 in the semantic map"
        if truth.instance_classes:
            # every object is ringed by void: its outer neighbours are void or the same group
            fg = s.instance > 0
            ring = ndimage.binary_dilation(fg) & ~fg
            assert (s.semantic[ring] == 255).all()
            banded += 1
    assert banded >= 2


def test_background_only_image(edge) -> None:
    (path,) = edge.quirks["background_only"]
    sid = Path(path).stem
    s = _read_one(edge, sid)
    assert (s.semantic == 0).all() and (s.instance == 0).all()
    assert len(s.instance_ids) == 0


def test_touching_objects_of_one_class_stay_two_instances(edge) -> None:
    (path,) = edge.quirks["touching_same_class"]
    sid = Path(path).stem
    s = _read_one(edge, sid)
    ids = [int(i) for i in np.unique(s.instance) if i]
    assert len(ids) == 2
    a, b = (s.instance == ids[0]), (s.instance == ids[1])
    assert (ndimage.binary_dilation(a) & b).any(), "the two objects touch"
    # one connected class region: connected components could not separate them
    _, ncomp = ndimage.label(s.semantic == 15)
    assert ncomp == 1
    assert s.instance_classes.tolist() == [15, 15]


def test_object_that_is_void_but_for_one_pixel(edge) -> None:
    (path,) = edge.quirks["almost_all_void_object"]
    sid = Path(path).stem
    s = _read_one(edge, sid)
    sizes = {int(i): int((s.instance == i).sum()) for i in s.instance_ids}
    assert min(sizes.values()) == 1
    k = min(sizes, key=sizes.get)
    assert dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True))[k] == 5


def _chainercv_instances(cls_png: Path, obj_png: Path) -> tuple[np.ndarray, dict[int, int]]:
    """ChainerCV: void/bg -> -1, label = np.unique(label_img[msk])[0] - 1 (0-based, no bg)."""
    label_img = np.asarray(Image.open(cls_png)).astype(np.int32)
    inst_img = np.asarray(Image.open(obj_png)).astype(np.int32)
    inst_img[inst_img == 0] = -1
    inst_img[inst_img == 255] = -1
    label_img[label_img == 255] = -1
    labels = {}
    for inst_id in np.unique(inst_img):
        if inst_id == -1:
            continue
        msk = inst_img == inst_id
        labels[int(inst_id)] = int(np.unique(label_img[msk])[0] - 1)
    return np.where(inst_img < 0, 0, inst_img), labels


def test_instances_match_chainercv_loader(edge) -> None:
    voc = _voc(edge.root)
    for sid in edge.samples:
        if sid.startswith("sbd_"):
            continue
        want, labels = _chainercv_instances(
            voc / "SegmentationClass" / f"{sid}.png", voc / "SegmentationObject" / f"{sid}.png"
        )
        s = _read_one(edge, sid)
        bij = assert_same_partition(s.instance, want, sid)
        got = dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True))
        for cv_id, cv_label in labels.items():
            assert got[bij[cv_id]] == cv_label + 1


def test_vote_mode_gives_no_instance_table(fresh) -> None:
    vid = _first(fresh.root)
    s = _read_one(fresh, vid, object_classes="vote")
    assert s.instance_classes is None and s.instance_ids is None
    assert s.instance is not None


# -- layout variants ------------------------------------------------------------------------------
@pytest.mark.parametrize("sub", ["VOCdevkit", "VOCdevkit/VOC2012"])
def test_root_may_be_vocdevkit_or_voc2012(fresh, sub: str) -> None:
    reader = datasets.open_reader("pascal_voc", fresh.root / sub)
    voc_ids = {k for k in fresh.samples if not k.startswith("sbd_")}
    assert {r.sample_id for r in reader.list_refs()} == voc_ids  # SBD is not under this root
    reader = datasets.open_reader("pascal_voc", fresh.root / sub, sbd_root=fresh.root)
    assert {r.sample_id for r in reader.list_refs()} == set(fresh.samples)


def test_sbd_can_be_switched_off_or_read_alone(fresh) -> None:
    off = datasets.open_reader("pascal_voc", fresh.root, sbd_root=False)
    assert {r.split for r in off.list_refs()} == {"train", "val"}
    alone = datasets.open_reader("pascal_voc", fresh.root / "benchmark_RELEASE")
    assert {r.split for r in alone.list_refs()} <= {"sbd_train", "sbd_val"}
    assert {r.sample_id for r in alone.list_refs()} == {
        k for k in fresh.samples if k.startswith("sbd_")
    }
    with pytest.raises(MissingFileError):
        datasets.open_reader("pascal_voc", fresh.root, sbd_root=fresh.root / "nope")


def test_trainval_is_the_union_and_not_a_split(fresh) -> None:
    sets = _voc(fresh.root) / "ImageSets" / "Segmentation"
    tv = set((sets / "trainval.txt").read_text().split())
    reader = datasets.open_reader("pascal_voc", fresh.root, splits=["train", "val"])
    assert {r.sample_id for r in reader.list_refs()} == tv
    with pytest.raises(ValueError):
        datasets.open_reader("pascal_voc", fresh.root, splits=["trainval"])


# -- SBD against mmsegmentation voc_aug.py and torchvision ----------------------------------------
def test_sbd_semantic_matches_mmseg_voc_aug_conversion(edge) -> None:
    cls_dir = edge.root / "benchmark_RELEASE" / "dataset" / "cls"
    reader = datasets.open_reader("pascal_voc", edge.root, sbd_exclude_voc=False)
    got = {s.sample_id: s for s in reader if s.sample_id.startswith("sbd_")}
    mats = sorted(cls_dir.glob("*.mat"))
    assert len(mats) == len(got)
    for mat in mats:
        # voc_aug.py: convert_mat -> SegmentationClassAug/{id}.png (mode L)
        seg = scipy.io.loadmat(mat)["GTcls"][0]["Segmentation"][0].astype(np.uint8)
        np.testing.assert_array_equal(got[f"sbd_{mat.stem}"].semantic, seg)


def test_sbd_instances_match_torchvision_style_loading(edge) -> None:
    inst_dir = edge.root / "benchmark_RELEASE" / "dataset" / "inst"
    reader = datasets.open_reader("pascal_voc", edge.root, splits=["sbd_train", "sbd_val"])
    for s in reader:
        ann = scipy.io.loadmat(inst_dir / f"{s.sample_id.removeprefix('sbd_')}.mat")
        seg = ann["GTinst"][0]["Segmentation"][0]
        cats = ann["GTinst"][0]["Categories"][0].reshape(-1)
        assert_same_partition(s.instance, seg, s.sample_id)
        got = dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True))
        for k in np.unique(seg):
            if k:
                assert got[int(s.instance[seg == k][0])] == int(cats[k - 1])


def test_sbd_splits_follow_mmseg_aug_and_trainaug_lists(edge) -> None:
    voc_sets = _voc(edge.root) / "ImageSets" / "Segmentation"
    sbd = edge.root / "benchmark_RELEASE" / "dataset"

    def lines(p: Path) -> list[str]:
        return [x.strip() for x in p.read_text().splitlines() if x.strip()]

    voc_train, voc_val = lines(voc_sets / "train.txt"), lines(voc_sets / "val.txt")
    sbd_train, sbd_val = lines(sbd / "train.txt"), lines(sbd / "val.txt")
    aug = set(sbd_train + sbd_val) - set(voc_train + voc_val)  # voc_aug.py aug.txt
    trainaug = set(voc_train + sbd_train + sbd_val) - set(voc_val)  # voc_aug.py trainaug.txt
    assert set(sbd_train) & set(voc_val), "edge cases should overlap SBD train with VOC val"

    reader = datasets.open_reader("pascal_voc", edge.root)
    refs = reader.list_refs()
    got_aug = {r.sample_id.removeprefix("sbd_") for r in refs if r.split.startswith("sbd_")}
    assert got_aug == aug
    train_like = {r.sample_id.removeprefix("sbd_") for r in refs if r.split != "val"}
    assert train_like == trainaug
    # without the exclusion the overlapping image is read under its own, non-colliding id
    full = datasets.open_reader("pascal_voc", edge.root, sbd_exclude_voc=False)
    ids = [r.sample_id for r in full.list_refs()]
    overlap = (set(sbd_train) & set(voc_val)).pop()
    assert overlap in ids and f"sbd_{overlap}" in ids


# -- typed failures with real broken files --------------------------------------------------------
def _rewrite_palette_png(p: Path, arr: np.ndarray) -> None:
    img = Image.frombytes("P", (arr.shape[1], arr.shape[0]), arr.astype(np.uint8).tobytes())
    img.putpalette(voc_colormap(256).reshape(-1).tolist())
    img.save(p)


def test_truncated_object_png_is_corrupt(fresh) -> None:
    vid = _first(fresh.root)
    p = _voc(fresh.root) / "SegmentationObject" / f"{vid}.png"
    p.write_bytes(p.read_bytes()[:60])
    with pytest.raises(CorruptFileError, match="SegmentationObject"):
        _read_one(fresh, vid)


def test_rgb_png_where_palette_expected_is_shape_error(fresh) -> None:
    vid = _first(fresh.root)
    p = _voc(fresh.root) / "SegmentationClass" / f"{vid}.png"
    Image.open(p).convert("RGB").save(p)
    with pytest.raises(ShapeError) as info:
        _read_one(fresh, vid)
    assert str(p) in str(info.value)


@pytest.mark.parametrize("value", [21, 128, 254])
def test_class_value_outside_voc_is_returned_as_stored(fresh, value: int) -> None:
    """Not a VOC class, but the reader passes it on: the run's ``unknown_values`` decides
    (tests/pipeline/test_hostile_run.py checks both policies end to end)."""
    vid = _first(fresh.root)
    p = _voc(fresh.root) / "SegmentationClass" / f"{vid}.png"
    arr = np.asarray(Image.open(p)).copy()
    arr[0, 0] = value
    _rewrite_palette_png(p, arr)
    s = _read_one(fresh, vid, object_classes="vote")
    assert int(s.semantic[0, 0]) == value
    np.testing.assert_array_equal(s.semantic, arr)


def test_jpeg_of_other_size_is_size_mismatch(fresh) -> None:
    vid = _first(fresh.root)
    p = _voc(fresh.root) / "JPEGImages" / f"{vid}.jpg"
    Image.new("RGB", (SIZE[1] + 3, SIZE[0]), (10, 20, 30)).save(p)
    with pytest.raises(SizeMismatchError) as info:
        _read_one(fresh, vid)
    assert str(_voc(fresh.root)) in str(info.value)


def test_object_png_of_other_size_is_size_mismatch(fresh) -> None:
    vid = _first(fresh.root)
    p = _voc(fresh.root) / "SegmentationObject" / f"{vid}.png"
    _rewrite_palette_png(p, np.zeros((SIZE[0] - 1, SIZE[1]), np.uint8))
    with pytest.raises(SizeMismatchError, match="SegmentationObject"):
        _read_one(fresh, vid)


def test_object_spanning_two_classes_is_corrupt_in_strict_mode(fresh) -> None:
    vid = next(k for k, t in fresh.samples.items() if t.instance_classes and k[0].isdigit())
    cls_p = _voc(fresh.root) / "SegmentationClass" / f"{vid}.png"
    obj_p = _voc(fresh.root) / "SegmentationObject" / f"{vid}.png"
    cls = np.asarray(Image.open(cls_p))
    obj = np.asarray(Image.open(obj_p)).copy()
    # paint object 1 onto a background pixel: object 1 now covers class 0 as well
    bg = tuple(np.argwhere(cls == 0)[0])
    obj[bg] = 1
    _rewrite_palette_png(obj_p, obj)
    with pytest.raises(CorruptFileError, match="object 1") as info:
        _read_one(fresh, vid)
    assert str(obj_p) in str(info.value)
    s = _read_one(fresh, vid, object_classes="vote")  # the escape hatch reads it
    assert s.instance[bg] == 1


def test_missing_object_png_is_missing_file(fresh) -> None:
    vid = _first(fresh.root)
    (_voc(fresh.root) / "SegmentationObject" / f"{vid}.png").unlink()
    with pytest.raises(MissingFileError):
        _read_one(fresh, vid)


def _sbd_id(result) -> str:
    return next(k for k in result.samples if k.startswith("sbd_")).removeprefix("sbd_")


def test_sbd_mat_without_struct_is_missing_key(fresh) -> None:
    sid = _sbd_id(fresh)
    p = fresh.root / "benchmark_RELEASE" / "dataset" / "inst" / f"{sid}.mat"
    scipy.io.savemat(p, {"Segmentation": np.zeros(SIZE, np.uint8)})
    with pytest.raises(MissingKeyError, match="GTinst"):
        _read_one(fresh, f"sbd_{sid}")


def test_sbd_struct_without_categories_is_missing_key(fresh) -> None:
    sid = _sbd_id(fresh)
    p = fresh.root / "benchmark_RELEASE" / "dataset" / "inst" / f"{sid}.mat"
    seg = scipy.io.loadmat(p)["GTinst"][0]["Segmentation"][0]
    scipy.io.savemat(p, {"GTinst": {"Segmentation": seg}})
    with pytest.raises(MissingKeyError, match="Categories"):
        _read_one(fresh, f"sbd_{sid}")


def test_sbd_category_outside_voc_is_class_id_error(fresh) -> None:
    sid = next(
        k.removeprefix("sbd_")
        for k, t in fresh.samples.items()
        if k.startswith("sbd_") and t.instance_classes
    )
    p = fresh.root / "benchmark_RELEASE" / "dataset" / "inst" / f"{sid}.mat"
    g = scipy.io.loadmat(p)["GTinst"][0]
    cats = g["Categories"][0].copy()
    cats[0, 0] = 33
    scipy.io.savemat(p, {"GTinst": {"Segmentation": g["Segmentation"][0], "Categories": cats}})
    with pytest.raises(ClassIdError, match="33"):
        _read_one(fresh, f"sbd_{sid}")


def test_sbd_truncated_mat_is_corrupt(fresh) -> None:
    sid = _sbd_id(fresh)
    p = fresh.root / "benchmark_RELEASE" / "dataset" / "cls" / f"{sid}.mat"
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(CorruptFileError):
        _read_one(fresh, f"sbd_{sid}")


def test_unknown_option_and_bad_option_value(fresh) -> None:
    with pytest.raises(TypeError):
        datasets.open_reader("pascal_voc", fresh.root, colour=True)
    with pytest.raises(ValueError):
        datasets.open_reader("pascal_voc", fresh.root, object_classes="maybe")


def test_generator_quirk_files_exist_and_sbd_optional(tmp_path: Path) -> None:
    r = datasets.synthesize("pascal_voc", tmp_path / "x", n=2, size=SIZE, sbd=False)
    assert not (r.root / "benchmark_RELEASE").exists()
    assert all(not k.startswith("sbd_") for k in r.samples)
    shutil.rmtree(r.root)


def test_cli_synth_writes_a_readable_look_alike(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harmonize.cli import app

    out = tmp_path / "cli"
    args = ["synth", "pascal_voc", str(out), "--n", "2", "--size", "48x64", "--edge-cases"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    reader = datasets.open_reader("pascal_voc", out)
    assert len(list(reader)) == len(reader.list_refs()) > 0
