"""CPM-17 (HoVer-Net layout) reader and look-alike generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.io as sio
from PIL import Image

from harmonize import datasets
from harmonize.errors import (
    CorruptFileError,
    HarmonizeError,
    MissingFileError,
    MissingKeyError,
    SizeMismatchError,
)
from harmonize.testing.contract import ReaderContract


def _read_one(root: Path, sample_id: str):
    reader = datasets.open_reader("cpm17", root)
    ref = next(r for r in reader.list_refs() if r.sample_id == sample_id)
    return reader.read(ref)


class TestCPM17(ReaderContract):
    dataset = "cpm17"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 2, "seed": 0, "size": (64, 64)}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        path = root / "test" / "Labels" / "image_01.mat"
        sio.savemat(path, {"type_map": np.zeros((4, 4), np.int32)})  # no inst_map
        return "test_image_01", MissingKeyError

    def test_layout_and_ids(self, synth) -> None:
        for split in ("train", "test"):
            assert (synth.root / split / "Images" / "image_00.png").is_file()
            assert (synth.root / split / "Labels" / "image_00.mat").is_file()
        assert synth.root.name == "cpm17"
        ids = [r.sample_id for r in datasets.open_reader("cpm17", synth.root.parent).list_refs()]
        assert ids == ["train_image_00", "train_image_01", "test_image_00", "test_image_01"]

    def test_agrees_with_hovernet_loading(self, synth_edge) -> None:
        for s in datasets.open_reader("cpm17", synth_edge.root):
            img_path, lab_path = s.ref.paths
            # hover_net dataset.py (CPM17): cv2.imread + BGR2RGB; loadmat(...)["inst_map"]
            ann_inst = sio.loadmat(lab_path)["inst_map"].astype("int32")
            np.testing.assert_array_equal(s.instance, ann_inst)
            np.testing.assert_array_equal(s.semantic, (ann_inst > 0).astype(np.uint8))
            with Image.open(img_path) as im:
                np.testing.assert_array_equal(s.image(), np.asarray(im.convert("RGB")))

    def test_float_noncontiguous_ids_kept(self, synth_edge) -> None:
        sid = next(k for k, t in synth_edge.samples.items() if "noncontiguous" in t.meta["quirks"])
        path = synth_edge.root / "train" / "Labels" / f"{sid.removeprefix('train_')}.mat"
        raw = sio.loadmat(path)["inst_map"]
        assert raw.dtype == np.float64 and raw.max() > 1000
        s = _read_one(synth_edge.root, sid)
        assert s.instance.dtype == np.int32
        np.testing.assert_array_equal(s.instance, raw)

    def test_truncated_png(self, tmp_path) -> None:
        result = datasets.synthesize("cpm17", tmp_path, n=1, size=(48, 48))
        img = result.root / "train" / "Images" / "image_00.png"
        img.write_bytes(img.read_bytes()[:12])
        with pytest.raises(CorruptFileError) as info:
            _read_one(result.root, "train_image_00")
        assert str(img) in str(info.value)

    def test_missing_label(self, tmp_path) -> None:
        result = datasets.synthesize("cpm17", tmp_path, n=1, size=(48, 48))
        lab = result.root / "test" / "Labels" / "image_00.mat"
        lab.unlink()
        with pytest.raises(MissingFileError) as info:
            _read_one(result.root, "test_image_00")
        assert str(lab) in str(info.value)

    def test_size_mismatch(self, tmp_path) -> None:
        result = datasets.synthesize("cpm17", tmp_path, n=1, size=(48, 48))
        lab = result.root / "train" / "Labels" / "image_00.mat"
        sio.savemat(lab, {"inst_map": np.zeros((48, 50), np.int32)})
        with pytest.raises(SizeMismatchError) as info:
            _read_one(result.root, "train_image_00")
        assert str(lab) in str(info.value)

    def test_negative_ids_are_corrupt(self, tmp_path) -> None:
        result = datasets.synthesize("cpm17", tmp_path, n=1, size=(48, 48))
        lab = result.root / "train" / "Labels" / "image_00.mat"
        inst = np.zeros((48, 48), np.int32)
        inst[3, 3] = -4
        sio.savemat(lab, {"inst_map": inst})
        with pytest.raises(CorruptFileError):
            _read_one(result.root, "train_image_00")
