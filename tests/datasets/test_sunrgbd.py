"""SUN RGB-D, 37-class PNG release (sun_rgbd.tgz), read by the layout reader plus its naming quirk.

Independent reference: a miniature release written here with PIL (not the look-alike generator),
named and placed as chrischoy/SUN_RGBD's train37.txt / test37.txt give it (image/{split}/
img-%06d.jpg, label37/{split}/%08d.png), whose pixels are decoded again with PIL/numpy and
compared with what the reader returns; plus the reader contract on the look-alike, and broken
files that must give a typed error naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from harmonize import datasets
from harmonize.errors import (
    CorruptFileError,
    HarmonizeError,
    LossyLabelError,
    MissingFileError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.testing.contract import ReaderContract


class TestSunrgbd(ReaderContract):
    dataset = "sunrgbd"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": (30, 40)}
    has_instances = False

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        png = root / "label37" / "train" / "00000002.png"
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png, format="JPEG")  # lossy
        return "train_img-000002", LossyLabelError


#: (split, number, height, width, bit depth) of the miniature release.
_FILES = (("train", 1, 12, 17, 8), ("train", 2, 9, 11, 16), ("test", 1, 10, 13, 8))


def _release(root: Path, labels: str = "label37") -> dict[str, Path]:
    """A two-split miniature of sun_rgbd.tgz: each label a distinct pattern over 0..37."""
    written = {}
    for split, i, h, w, bits in _FILES:
        lab = (np.arange(h * w).reshape(h, w) * (i + 2) + len(split)) % 38
        (root / labels / split).mkdir(parents=True, exist_ok=True)
        (root / "image" / split).mkdir(parents=True, exist_ok=True)
        png = root / labels / split / f"{i:08d}.png"
        if bits == 8:
            Image.fromarray(lab.astype(np.uint8), mode="L").save(png)
        else:
            Image.fromarray(lab.astype(np.uint16)).save(png)  # 16-bit grey ("I;16")
        Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(
            root / "image" / split / f"img-{i:06d}.jpg"
        )
        written[f"{split}_img-{i:06d}"] = png
    return written


@pytest.mark.parametrize("labels", ["label37", "label38"])
def test_reads_the_release_layout(tmp_path: Path, labels: str) -> None:
    written = _release(tmp_path, labels)
    samples = {s.sample_id: s for s in datasets.open_reader("sunrgbd", tmp_path)}
    assert set(samples) == set(written)
    for sid, png in written.items():
        s = samples[sid]
        want = np.asarray(Image.open(png)).astype(np.int64)  # independent decode
        assert s.split == sid.split("_")[0]
        assert s.semantic.dtype == np.uint8
        np.testing.assert_array_equal(s.semantic.astype(np.int64), want)
        assert s.instance is None
        assert s.meta["index"] == int(png.stem)
        assert s.image().shape == (*want.shape, 3)
        assert Path(s.ref.paths[0]).name == f"img-{int(png.stem):06d}.jpg"
    test = datasets.open_reader("sunrgbd", tmp_path, splits=["test"])
    assert [r.sample_id for r in test.list_refs()] == ["test_img-000001"]


def test_classes_map_to_scene_and_mseg(tmp_path: Path) -> None:
    import yaml

    from harmonize.engine.sample import remap_sample
    from harmonize.taxonomy import compile_mapping, load_mapping, load_ontology, load_taxonomy

    _release(tmp_path)
    root = Path(__file__).resolve().parents[2] / "taxonomies"
    for onto_name in ("scene", "mseg-194"):
        cm = compile_mapping(
            load_taxonomy("sunrgbd"), load_ontology(onto_name), load_mapping("sunrgbd", onto_name)
        )
        onto = yaml.safe_load((root / f"ontologies/{onto_name}.yaml").read_text())
        rules = yaml.safe_load((root / f"mappings/sunrgbd__{onto_name}.yaml").read_text())
        ids = {n["name"]: n["id"] for n in [*onto["nodes"], *onto["special"]]}
        to = {r["id"]: ids[r["to"]] for r in rules["rules"]}
        if onto_name == "scene":
            assert to[0] == 0 and len(set(to.values())) == 38  # lossless: 38 distinct targets
        else:
            assert to[0] == 255
        for s in datasets.open_reader("sunrgbd", tmp_path):
            want = np.vectorize(to.__getitem__)(s.semantic.astype(int))
            np.testing.assert_array_equal(remap_sample(s, cm).semantic, want)


def _first(root: Path) -> None:
    for _ in datasets.open_reader("sunrgbd", root):
        pass


def test_label_name_that_is_no_sample_number_names_the_file(tmp_path: Path) -> None:
    _release(tmp_path)
    bad = tmp_path / "label37" / "train" / "img-000003.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(bad)
    with pytest.raises(CorruptFileError) as info:
        _first(tmp_path)
    assert "img-000003.png" in str(info.value) and "8 digits" in str(info.value)


def test_missing_image_names_the_image(tmp_path: Path) -> None:
    _release(tmp_path)
    (tmp_path / "image" / "test" / "img-000001.jpg").unlink()
    with pytest.raises(MissingFileError) as info:
        _first(tmp_path)
    assert "img-000001.jpg" in str(info.value)


def test_image_label_size_mismatch_names_the_file(tmp_path: Path) -> None:
    _release(tmp_path)
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / "image/train/img-000001.jpg")
    with pytest.raises(SizeMismatchError) as info:
        _first(tmp_path)
    assert "00000001.png" in str(info.value)


def test_sixteen_bit_value_above_255_is_refused(tmp_path: Path) -> None:
    _release(tmp_path)
    png = tmp_path / "label37" / "train" / "00000002.png"
    Image.fromarray(np.full((9, 11), 300, np.uint16)).save(png)
    with pytest.raises(ShapeError) as info:
        _first(tmp_path)
    assert "00000002.png" in str(info.value) and "300" in str(info.value)


def test_rgb_label_is_refused(tmp_path: Path) -> None:
    _release(tmp_path)
    png = tmp_path / "label37" / "test" / "00000001.png"
    Image.fromarray(np.zeros((10, 13, 3), np.uint8)).save(png)
    with pytest.raises(ShapeError) as info:
        _first(tmp_path)
    assert "00000001.png" in str(info.value)


def test_undeclared_value_is_an_error_naming_the_file(tmp_path: Path) -> None:
    from harmonize.engine.sample import remap_sample
    from harmonize.errors import UnmappedValueError
    from harmonize.taxonomy import compile_mapping, load_mapping, load_ontology, load_taxonomy

    _release(tmp_path)
    png = tmp_path / "label37" / "test" / "00000001.png"
    Image.fromarray(np.full((10, 13), 38, np.uint8), mode="L").save(png)  # no class 38
    cm = compile_mapping(
        load_taxonomy("sunrgbd"), load_ontology("scene"), load_mapping("sunrgbd", "scene")
    )
    reader = datasets.open_reader("sunrgbd", tmp_path, splits=["test"])
    with pytest.raises(UnmappedValueError) as info:
        for s in reader:
            remap_sample(s, cm)
    assert "38" in str(info.value)


# -- the official .mat release ---------------------------------------------------------------------
class TestSunrgbdMat(ReaderContract):
    dataset = "sunrgbd"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 1, "size": (30, 40), "release": "mat"}
    has_instances = False

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        import h5py
        import scipy.io

        with h5py.File(root / "SUNRGBDtoolbox/Metadata/SUNRGBD2Dseg.mat", "r+") as f:
            ds = f[f["SUNRGBD2Dseg"]["seglabel"][0, 0]]
            ds[...] = 0.5  # no class id
        meta = scipy.io.loadmat(root / "SUNRGBDtoolbox/Metadata/SUNRGBDMeta.mat")["SUNRGBDMeta"]
        scene = str(meta[0, 0]["sequenceName"][0])
        return scene.removeprefix("SUNRGBD/").replace("/", "_"), ShapeError


#: The miniature official release: (scene, image name, split, height, width), in SUNRGBDMeta order.
_MAT_IMAGES = (
    ("SUNRGBD/kv1/NYUdata/NYU0001", "NYU0001.jpg", "test", 7, 9),
    ("SUNRGBD/kv2/kinect2data/000002_2014-05-26", "0000103.jpg", "train", 6, 11),
    ("SUNRGBD/realsense/lg/2014_10_24-15_59_40", "0000001.jpg", "train", 8, 5),
)


def _mat_release(root: Path) -> dict[str, np.ndarray]:
    """SUNRGBD.zip + SUNRGBDtoolbox.zip in miniature, written here with h5py and scipy as
    MATLAB writes them: seglabel column-major (W, H) under object references, paths with the
    authors' /n/fs/sun3d/data/ prefix."""
    import h5py
    import scipy.io

    want = {}
    meta = np.zeros((1, len(_MAT_IMAGES)), dtype=[("sequenceName", object), ("rgbpath", object)])
    (root / "SUNRGBDtoolbox/Metadata").mkdir(parents=True)
    (root / "SUNRGBDtoolbox/traintestSUNRGBD").mkdir(parents=True)
    with h5py.File(root / "SUNRGBDtoolbox/Metadata/SUNRGBD2Dseg.mat", "w") as f:
        seg = f.create_group("SUNRGBD2Dseg").create_dataset(
            "seglabel", (len(_MAT_IMAGES), 1), dtype=h5py.ref_dtype
        )
        for i, (scene, name, _, h, w) in enumerate(_MAT_IMAGES):
            lab = (np.arange(h * w).reshape(h, w) * (i + 5)) % 38
            ref = f.create_dataset(f"#refs#/{i}", data=lab.T.astype(np.float64))
            seg[i, 0] = ref.ref
            (root / scene / "image").mkdir(parents=True)
            Image.fromarray(np.full((h, w, 3), 70, np.uint8)).save(root / scene / "image" / name)
            meta[0, i] = (scene, f"/n/fs/sun3d/data/{scene}/image/{name}")
            want[scene.removeprefix("SUNRGBD/").replace("/", "_")] = lab
    scipy.io.savemat(root / "SUNRGBDtoolbox/Metadata/SUNRGBDMeta.mat", {"SUNRGBDMeta": meta})
    cells = {}
    for split in ("train", "test"):
        scenes = [f"/n/fs/sun3d/data/{s}/" for s, _, sp, _, _ in _MAT_IMAGES if sp == split]
        cell = np.empty((1, len(scenes)), dtype=object)
        cell[0, :] = scenes
        cells[f"all{split}"] = cell
    scipy.io.savemat(root / "SUNRGBDtoolbox/traintestSUNRGBD/allsplit.mat", cells)
    return want


def test_reads_the_official_mat_release(tmp_path: Path) -> None:
    want = _mat_release(tmp_path)
    samples = {s.sample_id: s for s in datasets.open_reader("sunrgbd", tmp_path)}
    assert set(samples) == set(want)
    splits = {s.removeprefix("SUNRGBD/").replace("/", "_"): sp for s, _, sp, _, _ in _MAT_IMAGES}
    for sid, lab in want.items():
        s = samples[sid]
        assert s.split == splits[sid]
        assert s.semantic.dtype == np.uint8
        np.testing.assert_array_equal(s.semantic, lab)
        assert s.image().shape == (*lab.shape, 3)
    assert samples["kv1_NYUdata_NYU0001"].meta["sensor"] == "kv1"
    test = datasets.open_reader("sunrgbd", tmp_path, splits=["test"])
    assert [r.sample_id for r in test.list_refs()] == ["kv1_NYUdata_NYU0001"]


def test_both_releases_need_a_choice(tmp_path: Path) -> None:
    want_mat = _mat_release(tmp_path)
    want_png = _release(tmp_path)
    with pytest.raises(ValueError, match="release='png' or release='mat'"):
        datasets.open_reader("sunrgbd", tmp_path)
    png = datasets.open_reader("sunrgbd", tmp_path, release="png")
    assert {r.sample_id for r in png.list_refs()} == set(want_png)
    mat = datasets.open_reader("sunrgbd", tmp_path, release="mat")
    assert {r.sample_id for r in mat.list_refs()} == set(want_mat)


def test_mat_entry_count_differs_from_meta(tmp_path: Path) -> None:
    import scipy.io

    _mat_release(tmp_path)
    p = tmp_path / "SUNRGBDtoolbox/Metadata/SUNRGBDMeta.mat"
    meta = scipy.io.loadmat(p)["SUNRGBDMeta"][:, :2]
    scipy.io.savemat(p, {"SUNRGBDMeta": meta})
    with pytest.raises(CorruptFileError) as info:
        _first(tmp_path)
    assert "SUNRGBD2Dseg.mat" in str(info.value) and "3 entries" in str(info.value)


def test_mat_scene_in_no_split(tmp_path: Path) -> None:
    import scipy.io

    _mat_release(tmp_path)
    p = tmp_path / "SUNRGBDtoolbox/traintestSUNRGBD/allsplit.mat"
    cells = scipy.io.loadmat(p)
    scipy.io.savemat(p, {"alltrain": cells["alltrain"], "alltest": np.empty((1, 0), object)})
    with pytest.raises(CorruptFileError) as info:
        _first(tmp_path)
    assert "allsplit.mat" in str(info.value) and "NYU0001" in str(info.value)


def test_mat_meta_without_rgbpath(tmp_path: Path) -> None:
    import scipy.io

    from harmonize.errors import MissingKeyError

    _mat_release(tmp_path)
    p = tmp_path / "SUNRGBDtoolbox/Metadata/SUNRGBDMeta.mat"
    meta = np.zeros((1, 3), dtype=[("sequenceName", object)])
    for i, (scene, *_) in enumerate(_MAT_IMAGES):
        meta[0, i] = (scene,)
    scipy.io.savemat(p, {"SUNRGBDMeta": meta})
    with pytest.raises(MissingKeyError) as info:
        _first(tmp_path)
    assert "SUNRGBDMeta.mat" in str(info.value) and "rgbpath" in str(info.value)


def test_mat_seg_file_that_is_no_hdf5(tmp_path: Path) -> None:
    _mat_release(tmp_path)
    p = tmp_path / "SUNRGBDtoolbox/Metadata/SUNRGBD2Dseg.mat"
    p.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(CorruptFileError) as info:
        _first(tmp_path)
    assert "SUNRGBD2Dseg.mat" in str(info.value) and "v7.3" in str(info.value)


def test_mat_label_out_of_range_names_the_entry(tmp_path: Path) -> None:
    import h5py

    _mat_release(tmp_path)
    with h5py.File(tmp_path / "SUNRGBDtoolbox/Metadata/SUNRGBD2Dseg.mat", "r+") as f:
        f[f["SUNRGBD2Dseg"]["seglabel"][1, 0]][0, 0] = 300.0
    with pytest.raises(ShapeError) as info:
        _first(tmp_path)
    assert "SUNRGBD2Dseg(2).seglabel" in str(info.value) and "SUNRGBD2Dseg.mat" in str(info.value)


def test_mat_image_size_mismatch(tmp_path: Path) -> None:
    _mat_release(tmp_path)
    img = tmp_path / "SUNRGBD/kv1/NYUdata/NYU0001/image/NYU0001.jpg"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(img)
    with pytest.raises(SizeMismatchError) as info:
        _first(tmp_path)
    assert "NYU0001.jpg" in str(info.value)
