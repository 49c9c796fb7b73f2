"""Kumar (HoVer-Net layout) reader and look-alike generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.io as sio
import tifffile

from harmonize import datasets
from harmonize.errors import (
    CorruptFileError,
    HarmonizeError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.testing.contract import ReaderContract

# hover_net data/README.md @233902b: the Kumar split, written out independently of the module
TRAIN_0 = "TCGA-18-5592-01Z-00-DX1"
TEST_SAME_0 = "TCGA-21-5786-01Z-00-DX1"
TEST_DIFF_0 = "TCGA-AY-A8YK-01A-01-TS1"


def _read_one(root: Path, sample_id: str):
    reader = datasets.open_reader("kumar", root)
    ref = next(r for r in reader.list_refs() if r.sample_id == sample_id)
    return reader.read(ref)


class TestKumar(ReaderContract):
    dataset = "kumar"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 2, "seed": 0, "size": (64, 64)}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        tif = root / "test_diff" / "Images" / f"{TEST_DIFF_0}.tif"
        tif.write_bytes(tif.read_bytes()[:6])  # TIFF cut inside its header
        return TEST_DIFF_0, CorruptFileError

    def test_layout_splits_and_ids(self, synth) -> None:
        for split, stem in (
            ("train", TRAIN_0),
            ("test_same", TEST_SAME_0),
            ("test_diff", TEST_DIFF_0),
        ):
            assert (synth.root / split / "Images" / f"{stem}.tif").is_file()
            assert (synth.root / split / "Labels" / f"{stem}.mat").is_file()
        refs = datasets.open_reader("kumar", synth.root.parent).list_refs()
        assert {r.split for r in refs} == {"train", "test_same", "test_diff"}
        assert TRAIN_0 in {r.sample_id for r in refs}
        assert all(r.meta["magnification"] == "40x" for r in refs)

    def test_agrees_with_hovernet_loading(self, synth_edge) -> None:
        for s in datasets.open_reader("kumar", synth_edge.root):
            img_path, lab_path = s.ref.paths
            ann = sio.loadmat(lab_path)["inst_map"]  # hover_net dataset.py __Kumar
            np.testing.assert_array_equal(s.instance, ann.astype("int32"))
            np.testing.assert_array_equal(s.semantic, (ann > 0).astype(np.uint8))
            np.testing.assert_array_equal(s.image(), tifffile.imread(img_path)[..., :3])

    def test_rgba_tiff_and_empty_tile(self, synth_edge) -> None:
        rgba = synth_edge.quirks["rgba"][0]
        assert tifffile.imread(rgba).shape[-1] == 4
        sid = Path(rgba).stem
        img = _read_one(synth_edge.root, sid).image()
        assert img.shape[-1] == 3 and img.dtype == np.uint8
        empty = Path(synth_edge.quirks["empty"][0]).stem
        s = _read_one(synth_edge.root, empty)
        assert not s.instance.any() and not s.semantic.any()

    def test_mat_without_inst_map(self, tmp_path) -> None:
        result = datasets.synthesize("kumar", tmp_path, n=1, size=(48, 48))
        lab = result.root / "train" / "Labels" / f"{TRAIN_0}.mat"
        sio.savemat(lab, {"inst": np.zeros((48, 48), np.int32)})
        with pytest.raises(MissingKeyError) as info:
            _read_one(result.root, TRAIN_0)
        assert str(lab) in str(info.value) and "inst_map" in str(info.value)

    def test_wrong_shape_and_size(self, tmp_path) -> None:
        result = datasets.synthesize("kumar", tmp_path, n=1, size=(48, 48))
        lab = result.root / "train" / "Labels" / f"{TRAIN_0}.mat"
        sio.savemat(lab, {"inst_map": np.zeros((48, 48, 2), np.int32)})
        with pytest.raises(ShapeError):
            _read_one(result.root, TRAIN_0)
        sio.savemat(lab, {"inst_map": np.zeros((40, 48), np.int32)})
        with pytest.raises(SizeMismatchError):
            _read_one(result.root, TRAIN_0)

    def test_generator_refuses_more_images_than_the_split_has(self, tmp_path) -> None:
        with pytest.raises(ValueError):
            datasets.synthesize("kumar", tmp_path, n=17)
