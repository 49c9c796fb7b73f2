"""CoNSeP reader and look-alike generator: contract, HoVer-Net's own loading lines, the
zero-instance and legacy .npy cases, typed failures with real broken files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.io as sio
from PIL import Image

from harmonize import datasets
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    HarmonizeError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.testing.contract import ReaderContract


def _label(root: Path, stem: str) -> Path:
    return root / ("Train" if stem.startswith("train") else "Test") / "Labels" / f"{stem}.mat"


def _image(root: Path, stem: str) -> Path:
    return root / ("Train" if stem.startswith("train") else "Test") / "Images" / f"{stem}.png"


def _read_one(root: Path, sample_id: str):
    reader = datasets.open_reader("consep", root)
    ref = next(r for r in reader.list_refs() if r.sample_id == sample_id)
    return reader.read(ref)


def _save_mat(path: Path, **arrays: np.ndarray) -> None:
    sio.savemat(path, arrays)  # plain scipy writer, independent of the generator's


class TestConsep(ReaderContract):
    dataset = "consep"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 2, "seed": 0, "size": (64, 64)}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        path = _label(root, "train_2")
        mat = sio.loadmat(path)
        _save_mat(path, type_map=mat["type_map"], inst_type=mat["inst_type"])  # no inst_map
        return "train_2", MissingKeyError

    # -- HoVer-Net's own loading lines --------------------------------------------------------
    def test_agrees_with_hovernet_loading(self, synth_edge) -> None:
        reader = datasets.open_reader("consep", synth_edge.root)
        n_checked = 0
        for s in reader:
            path = Path(s.ref.paths[1])
            if path.suffix != ".mat":
                continue
            # hover_net dataset.py / extract_patches.py
            ann_inst = sio.loadmat(path)["inst_map"]
            ann_type = sio.loadmat(path)["type_map"]
            ann_inst = ann_inst.astype("int32")
            np.testing.assert_array_equal(s.instance, ann_inst)
            np.testing.assert_array_equal(s.semantic, ann_type)
            # hover_net compute_stats.py
            true_info = sio.loadmat(path)
            true_centroid = (true_info["inst_centroid"]).astype("float32")
            true_inst_type = (true_info["inst_type"]).astype("int32")
            if true_centroid.shape[0] != 0:
                true_inst_type = true_inst_type[:, 0]
            else:  # no instance at all
                true_centroid = np.array([[0, 0]])
                true_inst_type = np.array([0])
                assert s.instance_ids.size == 0 and s.instance_classes.size == 0
                continue
            for iid, cls, cent in zip(
                s.instance_ids, s.instance_classes, s.meta["inst_centroid"], strict=True
            ):
                assert cls == true_inst_type[iid - 1]  # "in order of inst_map id"
                np.testing.assert_allclose(cent, true_centroid[iid - 1], rtol=1e-6)
            n_checked += 1
        assert n_checked >= 3

    def test_centroids_are_x_then_y(self, synth) -> None:
        s = _read_one(synth.root, "train_1")
        assert s.instance_ids.size >= 2
        for iid, (x, y) in zip(s.instance_ids, s.meta["inst_centroid"], strict=True):
            rows, cols = np.nonzero(s.instance == iid)
            assert x == pytest.approx(cols.mean()) and y == pytest.approx(rows.mean())

    # -- quirks ---------------------------------------------------------------------------------
    def test_zero_instances(self, synth_edge) -> None:
        stem = next(
            sid for sid, t in synth_edge.samples.items() if "zero_instances" in t.meta["quirks"]
        )
        raw = sio.loadmat(_label(synth_edge.root, stem))
        assert raw["inst_type"].shape == (0, 1)
        s = _read_one(synth_edge.root, stem)
        assert not s.instance.any() and not s.semantic.any()
        assert s.instance_ids.shape == (0,) and s.meta["inst_centroid"].shape == (0, 2)

    def test_legacy_npy(self, synth_edge) -> None:
        stem = next(
            sid for sid, t in synth_edge.samples.items() if "legacy_npy" in t.meta["quirks"]
        )
        npy = _label(synth_edge.root, stem).with_suffix(".npy")
        assert npy.is_file() and not _label(synth_edge.root, stem).exists()
        ann = np.load(npy)
        s = _read_one(synth_edge.root, stem)
        assert s.meta["label_format"] == "npy_legacy"
        np.testing.assert_array_equal(s.instance, ann[..., 0])
        np.testing.assert_array_equal(s.semantic, ann[..., 1])
        assert s.instance_classes is None  # classes come from the type map (majority)

    def test_mat_preferred_over_legacy_npy(self, tmp_path) -> None:
        result = datasets.synthesize("consep", tmp_path, n=1, size=(48, 48))
        mat = _label(result.root, "train_1")
        np.save(mat.with_suffix(".npy"), np.zeros((48, 48, 2), np.int32))
        s = _read_one(result.root, "train_1")
        assert s.meta["label_format"] == "mat" and s.instance.any()

    def test_rgba_png_alpha_is_dropped(self, synth_edge) -> None:
        stem = next(sid for sid, t in synth_edge.samples.items() if "rgba" in t.meta["quirks"])
        with Image.open(_image(synth_edge.root, stem)) as im:
            assert im.mode == "RGBA"
            want = np.asarray(im)[..., :3]
        np.testing.assert_array_equal(_read_one(synth_edge.root, stem).image(), want)

    def test_gap_id_keeps_row_order(self, synth_edge) -> None:
        stem = next(sid for sid, t in synth_edge.samples.items() if "gap_id" in t.meta["quirks"])
        s = _read_one(synth_edge.root, stem)
        inst_type = sio.loadmat(_label(synth_edge.root, stem))["inst_type"][:, 0]
        assert 2 not in s.instance_ids.tolist() and len(inst_type) == s.instance_ids.max()
        for iid, cls in zip(s.instance_ids, s.instance_classes, strict=True):
            assert cls == inst_type[iid - 1]

    def test_inst_type_disagreement_is_reported_not_raised(self, tmp_path) -> None:
        result = datasets.synthesize("consep", tmp_path, n=1, size=(48, 48))
        path = _label(result.root, "train_1")
        mat = sio.loadmat(path)
        inst, tmap = mat["inst_map"].astype(np.int32), mat["type_map"].astype(np.int32)
        types = mat["inst_type"].copy()
        types[0, 0] = 3 if types[0, 0] != 3 else 5
        _save_mat(
            path, inst_map=inst, type_map=tmap, inst_type=types, inst_centroid=mat["inst_centroid"]
        )
        s = _read_one(result.root, "train_1")
        assert s.meta["inst_type_disagrees"] == [1]
        assert s.instance_classes[0] == types[0, 0]  # inst_type is the per-instance class
        np.testing.assert_array_equal(s.semantic, tmap)

    def test_any_numeric_dtype(self, tmp_path) -> None:
        result = datasets.synthesize("consep", tmp_path, n=1, size=(48, 48))
        path = _label(result.root, "train_1")
        mat = sio.loadmat(path)
        _save_mat(
            path,
            inst_map=mat["inst_map"].astype(np.float64),
            type_map=mat["type_map"].astype(np.uint16),
            inst_type=mat["inst_type"].astype(np.int32),
        )
        s = _read_one(result.root, "train_1")
        np.testing.assert_array_equal(s.instance, mat["inst_map"])
        assert s.instance.dtype == np.int32 and "inst_centroid" not in s.meta

    def test_natural_order_and_union_of_stems(self, tmp_path) -> None:
        root = tmp_path / "CoNSeP"
        for d in ("Images", "Labels"):
            (root / "Train" / d).mkdir(parents=True)
        for i in (1, 2, 10, 11, 3):
            (root / "Train" / "Images" / f"train_{i}.png").touch()
            (root / "Train" / "Labels" / f"train_{i}.mat").touch()
        (root / "Train" / "Labels" / "train_12.mat").touch()  # label without image
        ids = [r.sample_id for r in datasets.open_reader("consep", tmp_path).list_refs()]
        assert ids == ["train_1", "train_2", "train_3", "train_10", "train_11", "train_12"]

    # -- typed failures -------------------------------------------------------------------------
    def test_truncated_png(self, tmp_path) -> None:
        result = datasets.synthesize("consep", tmp_path, n=2, size=(48, 48))
        img = _image(result.root, "train_1")
        data = img.read_bytes()
        img.write_bytes(data[: len(data) // 2])  # header intact, pixel data cut
        s = _read_one(result.root, "train_1")
        with pytest.raises(CorruptFileError) as info:
            s.image()
        assert str(img) in str(info.value)
        img.write_bytes(data[:10])  # not even a header
        with pytest.raises(CorruptFileError) as info:
            _read_one(result.root, "train_1")
        assert str(img) in str(info.value)

    def test_undeclared_class_id_is_returned_as_stored(self, tmp_path) -> None:
        """Values 8..255 are not CoNSeP classes but reach the engine as stored, where the run's
        ``unknown_values`` decides (tests/pipeline/test_hostile_run.py); only values a uint8 map
        cannot hold are refused by the reader."""
        result = datasets.synthesize("consep", tmp_path, n=1, size=(48, 48))
        path = _label(result.root, "train_1")
        mat = sio.loadmat(path)
        tmap = mat["type_map"].copy()
        tmap[mat["inst_map"] == 1] = 9
        _save_mat(path, inst_map=mat["inst_map"], type_map=tmap, inst_type=mat["inst_type"])
        s = _read_one(result.root, "train_1")
        np.testing.assert_array_equal(s.semantic, tmap)
        types = mat["inst_type"].copy()
        types[0, 0] = 9
        _save_mat(path, inst_map=mat["inst_map"], type_map=mat["type_map"], inst_type=types)
        s = _read_one(result.root, "train_1")
        assert int(s.instance_classes[list(s.instance_ids).index(1)]) == 9
        tmap = mat["type_map"].astype(np.int32)
        tmap[0, 0] = 300
        _save_mat(path, inst_map=mat["inst_map"], type_map=tmap, inst_type=mat["inst_type"])
        with pytest.raises(ClassIdError) as info:
            _read_one(result.root, "train_1")
        assert str(path) in str(info.value) and "300" in str(info.value)

    def test_size_mismatch(self, tmp_path) -> None:
        result = datasets.synthesize("consep", tmp_path, n=1, size=(48, 48))
        img = _image(result.root, "train_1")
        Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(img)
        with pytest.raises(SizeMismatchError) as info:
            _read_one(result.root, "train_1")
        assert str(_label(result.root, "train_1")) in str(info.value)
        assert str(img) in str(info.value)

    def test_inst_type_length_must_match_ids(self, tmp_path) -> None:
        result = datasets.synthesize("consep", tmp_path, n=1, size=(48, 48))
        path = _label(result.root, "train_1")
        mat = sio.loadmat(path)
        _save_mat(
            path, inst_map=mat["inst_map"], type_map=mat["type_map"], inst_type=mat["inst_type"][1:]
        )
        with pytest.raises(ShapeError) as info:
            _read_one(result.root, "train_1")
        assert "inst_type" in str(info.value)

    def test_largest_id_without_pixels_is_accepted(self, tmp_path) -> None:
        # inst_type/inst_centroid list ids 1..N; the last id may have lost all its pixels (e.g. to
        # an overlapping nucleus), exactly like a gap in the middle
        result = datasets.synthesize("consep", tmp_path, n=1, size=(64, 64))
        path = _label(result.root, "train_1")
        mat = sio.loadmat(path)
        inst = mat["inst_map"].copy()
        top = int(inst.max())
        assert top >= 2
        inst[inst == top] = 0
        tmap = np.where(inst > 0, mat["type_map"], 0)
        _save_mat(
            path,
            inst_map=inst,
            type_map=tmap,
            inst_type=mat["inst_type"],
            inst_centroid=mat["inst_centroid"],
        )
        s = _read_one(result.root, "train_1")
        assert top not in s.instance_ids.tolist()
        want = mat["inst_type"][:, 0][s.instance_ids - 1]
        np.testing.assert_array_equal(s.instance_classes, want)

    def test_non_integer_ids_are_corrupt(self, tmp_path) -> None:
        result = datasets.synthesize("consep", tmp_path, n=1, size=(48, 48))
        path = _label(result.root, "train_1")
        mat = sio.loadmat(path)
        inst = mat["inst_map"].astype(np.float64)
        inst[0, 0] = 0.5
        _save_mat(path, inst_map=inst, type_map=mat["type_map"])
        with pytest.raises(CorruptFileError):
            _read_one(result.root, "train_1")

    def test_truncated_mat_is_corrupt(self, tmp_path) -> None:
        result = datasets.synthesize("consep", tmp_path, n=1, size=(48, 48))
        path = _label(result.root, "train_1")
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
        with pytest.raises(CorruptFileError) as info:
            _read_one(result.root, "train_1")
        assert str(path) in str(info.value)
