"""COCO-Stuff reader and generator, 164k (stuffthingmaps PNG) and 10k (``.mat``) releases.

Independent references (no constants shared with the reader): mmsegmentation's
``coco_stuff164k.py`` (``clsID_to_trID`` dict loop) and ``coco_stuff10k.py`` (1-based dict plus
``reduce_zero_label``), both re-implemented here as the converters do them, the spot values the
reference lists for them (scene_datasets.md §3.3, §5.2, §5.3), and the cocostuff README's value
conventions (PNG = id - 1, 255 unlabeled; ``S`` 1-based, 0 unlabeled).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.io
from PIL import Image

from harmonize import datasets
from harmonize.errors import (
    ClassIdError,
    ConfigError,
    CorruptFileError,
    HarmonizeError,
    MissingFileError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.testing.contract import ReaderContract

SIZE = (48, 64)
#: The 11 COCO thing ids without segmentations, as the cocostuff README lists them (1-based).
UNUSED_1BASED = (12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91)


class TestCocoStuff164k(ReaderContract):
    dataset = "coco_stuff"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": SIZE}
    has_instances = False

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        p = sorted((root / "annotations" / "train2017").glob("*.png"))[0]
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        return p.stem, CorruptFileError


class TestCocoStuff10k(ReaderContract):
    dataset = "coco_stuff"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": SIZE, "release": "10k"}
    has_instances = False

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        p = sorted((root / "annotations").glob("*.mat"))[0]
        scipy.io.savemat(p, {"names": np.array(["person"], dtype=object)})  # no S
        return p.stem, MissingKeyError


# -- mmsegmentation's converters, as written there ------------------------------------------------
def mmseg_164k_clsid_to_trid() -> dict[int, int]:
    """``coco_stuff164k.py``'s dict: the used PNG values 0..181 compacted in order, 255 -> 255."""
    unused_png = {v - 1 for v in UNUSED_1BASED}
    used = [v for v in range(182) if v not in unused_png]
    table = {v: i for i, v in enumerate(used)}
    table[255] = 255
    return table


def mmseg_10k_clsid_to_trid() -> dict[int, int]:
    """``coco_stuff10k.py``'s dict: 0 -> 0, then the used 1-based ids compacted to 1..171."""
    used = [v for v in range(1, 183) if v not in UNUSED_1BASED]
    table = {0: 0}
    table.update({v: i + 1 for i, v in enumerate(used)})
    return table


def mmseg_convert(mask: np.ndarray, table: dict[int, int]) -> np.ndarray:
    """The converters' per-image loop: ``mask_copy[mask == clsID] = trID`` for every entry."""
    mask_copy = mask.copy()
    for cls_id, tr_id in table.items():
        mask_copy[mask == cls_id] = tr_id
    return mask_copy


def reduce_zero_label(gt: np.ndarray) -> np.ndarray:
    """mmseg ``LoadAnnotations(reduce_zero_label=True)``."""
    gt = gt.astype(np.uint8).copy()
    gt[gt == 0] = 255
    gt = gt - 1
    gt[gt == 254] = 255
    return gt


def test_mmseg_tables_have_the_documented_spot_values() -> None:
    t = mmseg_164k_clsid_to_trid()
    assert len(t) == 172
    spots = {10: 10, 12: 11, 24: 23, 26: 24, 27: 25, 30: 26, 43: 39, 45: 40, 64: 59, 66: 60}
    spots |= {69: 61, 71: 62, 81: 72, 83: 73, 89: 79, 91: 80, 181: 170, 255: 255}
    assert {k: t[k] for k in spots} == spots
    t10 = mmseg_10k_clsid_to_trid()
    assert len(t10) == 172 and t10[11] == 11 and t10[13] == 12 and t10[182] == 171


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):
    """The same scenes written in both releases."""
    out = tmp_path_factory.mktemp("cocostuff_pair")
    kw = {"n": 4, "seed": 7, "size": SIZE, "edge_cases": True}
    a = datasets.synthesize("coco_stuff", out / "164k", release="164k", **kw)
    b = datasets.synthesize("coco_stuff", out / "10k", release="10k", **kw)
    return a, b


@pytest.fixture()
def fresh(tmp_path: Path):
    return datasets.synthesize("coco_stuff", tmp_path / "c", n=2, seed=1, size=SIZE)


@pytest.fixture()
def fresh10k(tmp_path: Path):
    return datasets.synthesize(
        "coco_stuff", tmp_path / "c10k", n=2, seed=1, size=SIZE, release="10k"
    )


def _read(result, sample_id: str | None = None, **options):
    reader = datasets.open_reader("coco_stuff", result.root, **options)
    refs = reader.list_refs()
    ref = refs[0] if sample_id is None else next(r for r in refs if r.sample_id == sample_id)
    return reader.read(ref)


def _by_image_id(result) -> dict[int, Any]:
    reader = datasets.open_reader("coco_stuff", result.root)
    return {s.meta["image_id"]: s for s in reader}


# -- conventions ----------------------------------------------------------------------------------
def test_encoding_follows_release(pair) -> None:
    a, b = pair
    ra = datasets.open_reader("coco_stuff", a.root)
    rb = datasets.open_reader("coco_stuff", b.root)
    assert (ra.encoding, ra.release) == ("stuffthingmaps_png", "164k")
    assert (rb.encoding, rb.release) == ("cocostuff10k_mat", "10k")
    assert datasets.open_reader("coco_stuff", b.root, release="10k").encoding == "cocostuff10k_mat"


def test_10k_S_is_164k_png_value_plus_one(pair) -> None:
    a, b = pair
    png, mat = _by_image_id(a), _by_image_id(b)
    assert png.keys() == mat.keys() and len(png) >= 4
    for image_id, s164 in png.items():
        p = s164.semantic.astype(np.int64)
        want = np.where(p == 255, 0, p + 1)
        np.testing.assert_array_equal(mat[image_id].semantic, want, err_msg=str(image_id))


def test_mmseg_164k_and_10k_converters_agree_on_reader_output(pair) -> None:
    """The two mmseg pipelines must give the same 171-class train ids (§5.3)."""
    a, b = pair
    png, mat = _by_image_id(a), _by_image_id(b)
    t164, t10 = mmseg_164k_clsid_to_trid(), mmseg_10k_clsid_to_trid()
    for image_id, s in png.items():
        tr164 = mmseg_convert(s.semantic, t164)
        tr10 = reduce_zero_label(mmseg_convert(mat[image_id].semantic, t10))
        np.testing.assert_array_equal(tr164, tr10, err_msg=str(image_id))
        assert set(np.unique(tr164).tolist()) <= set(range(171)) | {255}


def test_boundary_ids_give_the_documented_train_ids(pair) -> None:
    """person (id 1), toothbrush (90), banner (92), wood (182) -> train ids 0, 79, 80, 170."""
    a, _ = pair
    (path,) = a.quirks["boundary_ids"]
    s = _read(a, Path(path).stem)
    h, w = s.shape
    tr = mmseg_convert(s.semantic, mmseg_164k_clsid_to_trid())
    rows = slice(h // 8, None)
    assert (tr[rows, : w // 4] == 0).all()
    assert (tr[rows, w // 4 : w // 2] == 79).all()
    assert (tr[rows, w // 2 : 3 * w // 4] == 80).all()
    assert (tr[rows, 3 * w // 4 :] == 170).all()
    assert (tr[: h // 8] == 255).all()
    assert 181 in s.semantic and 0 in s.semantic  # PNG values of the largest and smallest id


def test_generator_never_emits_unused_values(pair) -> None:
    a, b = pair
    for s in datasets.open_reader("coco_stuff", a.root):
        assert not np.isin(s.semantic, [v - 1 for v in UNUSED_1BASED]).any()
    for s in datasets.open_reader("coco_stuff", b.root):
        assert not np.isin(s.semantic, UNUSED_1BASED).any()


def test_scenes_mix_things_and_stuff(pair) -> None:
    a, _ = pair
    things = stuff = 0
    for s in datasets.open_reader("coco_stuff", a.root):
        v = s.semantic[s.semantic != 255]
        things += int((v <= 90).sum())
        stuff += int((v >= 91).sum())
    assert things > 0 and stuff > 0


def test_edge_cases(pair) -> None:
    a, b = pair
    for result, unlabeled in ((a, 255), (b, 0)):
        (p,) = result.quirks["all_unlabeled"]
        assert (_read(result, Path(p).stem).semantic == unlabeled).all()
        (p,) = result.quirks["tiny_image"]
        s = _read(result, Path(p).stem)
        assert s.shape == (3, 5) and s.image().shape == (3, 5, 3)
    # 164k: a mode P map reads the same; mmseg's leftover is not a sample
    (p,) = a.quirks["palette_png"]
    assert Image.open(p).mode == "P"
    (left,) = a.quirks["mmseg_leftover"]
    ids = {r.sample_id for r in datasets.open_reader("coco_stuff", a.root).list_refs()}
    assert Path(left).stem not in ids and ids == set(a.samples)
    # 10k: S stored as double reads as uint8 ids
    (p,) = b.quirks["S_double"]
    assert scipy.io.loadmat(p)["S"].dtype == np.float64
    assert _read(b, Path(p).stem).semantic.dtype == np.uint8


def test_10k_captions_and_names_are_in_the_mat(fresh10k) -> None:
    s = _read(fresh10k)
    assert len(s.meta["captions"]) == 5 and all(isinstance(c, str) for c in s.meta["captions"])
    mat = scipy.io.loadmat(fresh10k.root / "annotations" / f"{s.sample_id}.mat")
    names = [str(x[0]) for x in mat["names"].reshape(-1)]
    assert len(names) == 182 and names[0] == "person" and names[181] == "wood"
    # Tighe-format superpixel fields: one label per region of regionMapStuff
    region, labels = mat["regionMapStuff"], mat["regionLabelsStuff"].reshape(-1)
    assert region.shape == s.shape and labels.shape[0] == region.max()


def test_splits_are_release_names(pair) -> None:
    a, b = pair
    assert {r.split for r in datasets.open_reader("coco_stuff", a.root).list_refs()} == {
        "train2017",
        "val2017",
    }
    assert {r.split for r in datasets.open_reader("coco_stuff", b.root).list_refs()} == {
        "train",
        "test",
    }
    lists = b.root / "imageLists"
    all_ids = set((lists / "all.txt").read_text().split())
    assert all_ids == set(b.samples)


def test_unused_value_passes_through(fresh) -> None:
    p = sorted((fresh.root / "annotations" / "train2017").glob("*.png"))[0]
    arr = np.asarray(Image.open(p)).copy()
    arr[0, :3] = (11, 90, 181)  # street sign, hair brush (unused) and wood (largest)
    Image.fromarray(arr).save(p)
    s = _read(fresh, p.stem)
    assert s.semantic[0, :3].tolist() == [11, 90, 181]


# -- layout variants ------------------------------------------------------------------------------
def test_stuffthingmaps_folder_name_and_images_at_root(fresh) -> None:
    root = fresh.root
    (root / "annotations").rename(root / "stuffthingmaps_trainval2017")
    for split in ("train2017", "val2017"):
        (root / "images" / split).rename(root / split)
    (root / "images").rmdir()
    reader = datasets.open_reader("coco_stuff", root)
    assert {s.sample_id for s in reader} == set(fresh.samples)


def test_10k_under_its_release_folder(fresh10k, tmp_path: Path) -> None:
    top = tmp_path / "top"
    shutil.copytree(fresh10k.root, top / "cocostuff-10k-v1.1")
    reader = datasets.open_reader("coco_stuff", top)
    assert reader.release == "10k"
    assert {s.sample_id for s in reader} == set(fresh10k.samples)


def test_both_layouts_need_an_explicit_release(fresh, fresh10k, tmp_path: Path) -> None:
    both = tmp_path / "both"
    shutil.copytree(fresh.root, both)
    shutil.copytree(fresh10k.root / "imageLists", both / "imageLists")
    for f in (fresh10k.root / "annotations").glob("*.mat"):
        shutil.copy(f, both / "annotations" / f.name)
    with pytest.raises(ConfigError):
        datasets.open_reader("coco_stuff", both)
    assert datasets.open_reader("coco_stuff", both, release="164k").release == "164k"
    assert len(datasets.open_reader("coco_stuff", both, release="10k")) == 2


def test_wrong_release_finds_nothing(fresh) -> None:
    reader = datasets.open_reader("coco_stuff", fresh.root, release="10k")
    with pytest.raises(MissingFileError) as info:
        reader.list_refs()
    assert str(fresh.root) in str(info.value)
    with pytest.raises(ValueError):
        datasets.open_reader("coco_stuff", fresh.root, release="2017")


# -- typed failures with real broken files --------------------------------------------------------
def test_value_200_in_png_is_returned_as_stored(fresh) -> None:
    """Not a COCO-Stuff class, but the reader passes it on: the run's ``unknown_values`` decides
    (tests/pipeline/test_hostile_run.py checks both policies end to end)."""
    p = sorted((fresh.root / "annotations" / "val2017").glob("*.png"))[0]
    arr = np.asarray(Image.open(p)).copy()
    arr[5, 5] = 200
    Image.fromarray(arr).save(p)
    np.testing.assert_array_equal(_read(fresh, p.stem).semantic, arr)


def test_truncated_png_is_corrupt(fresh) -> None:
    p = sorted((fresh.root / "annotations" / "val2017").glob("*.png"))[0]
    p.write_bytes(p.read_bytes()[:70])
    with pytest.raises(CorruptFileError) as info:
        _read(fresh, p.stem)
    assert str(p) in str(info.value)


def test_rgb_or_16bit_png_is_shape_error(fresh) -> None:
    p = sorted((fresh.root / "annotations" / "train2017").glob("*.png"))[0]
    arr = np.asarray(Image.open(p))
    Image.fromarray(np.repeat(arr[..., None], 3, axis=2)).save(p)
    with pytest.raises(ShapeError):
        _read(fresh, p.stem)
    Image.fromarray(arr.astype(np.uint16) * 3).save(p)
    with pytest.raises(ShapeError):
        _read(fresh, p.stem)


def test_image_of_other_size_is_size_mismatch(fresh) -> None:
    p = sorted((fresh.root / "images" / "train2017").glob("*.jpg"))[0]
    Image.new("RGB", (SIZE[1], SIZE[0] + 2)).save(p)
    with pytest.raises(SizeMismatchError):
        _read(fresh, p.stem)


def test_missing_image_is_missing_file(fresh) -> None:
    p = sorted((fresh.root / "images" / "train2017").glob("*.jpg"))[0]
    p.unlink()
    with pytest.raises(MissingFileError) as info:
        _read(fresh, p.stem)
    assert str(p) in str(info.value)


def test_mat_without_S_is_missing_key(fresh10k) -> None:
    p = sorted((fresh10k.root / "annotations").glob("*.mat"))[0]
    scipy.io.savemat(p, {"captions": np.array(["a cat"], dtype=object)})
    with pytest.raises(MissingKeyError, match="'S'") as info:
        _read(fresh10k, p.stem)
    assert str(p) in str(info.value)


@pytest.mark.parametrize(
    ("s_value", "error"), [(256, ClassIdError), (-1, ClassIdError), (2.5, ShapeError)]
)
def test_bad_S_values(fresh10k, s_value: float, error: type[HarmonizeError]) -> None:
    p = sorted((fresh10k.root / "annotations").glob("*.mat"))[0]
    s = scipy.io.loadmat(p)["S"].astype(np.float64)
    s[0, 0] = s_value
    scipy.io.savemat(p, {"S": s})
    with pytest.raises(error):
        _read(fresh10k, p.stem)


def test_S_value_183_is_returned_as_stored(fresh10k) -> None:
    p = sorted((fresh10k.root / "annotations").glob("*.mat"))[0]
    s = scipy.io.loadmat(p)["S"].astype(np.float64)
    s[0, 0] = 183
    scipy.io.savemat(p, {"S": s})
    assert int(_read(fresh10k, p.stem).semantic[0, 0]) == 183


def test_S_of_wrong_rank_is_shape_error(fresh10k) -> None:
    p = sorted((fresh10k.root / "annotations").glob("*.mat"))[0]
    scipy.io.savemat(p, {"S": np.zeros((2, 3, 4), np.uint8)})
    with pytest.raises(ShapeError):
        _read(fresh10k, p.stem)


def test_load_image_is_picklable(fresh) -> None:
    import pickle

    s = _read(fresh)
    img = pickle.loads(pickle.dumps(s.load_image))()
    assert img.shape == (*SIZE, 3) and img.dtype == np.uint8


def test_cli_synth_writes_a_readable_look_alike(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harmonize.cli import app

    out = tmp_path / "cli"
    res = CliRunner().invoke(app, ["synth", "coco_stuff", str(out), "--n", "2", "--size", "32"])
    assert res.exit_code == 0, res.output
    reader = datasets.open_reader("coco_stuff", out)
    assert reader.release == "164k" and len(list(reader)) == 2


def test_10k_split_list_not_utf8_is_corrupt_and_named(fresh10k) -> None:
    lst = next(Path(fresh10k.root).rglob("imageLists/train.txt"))
    lst.write_bytes(lst.read_bytes() + b"\xff\xfe\n")
    with pytest.raises(CorruptFileError) as info:
        datasets.open_reader("coco_stuff", fresh10k.root).list_refs()
    assert str(lst) in str(info.value)
