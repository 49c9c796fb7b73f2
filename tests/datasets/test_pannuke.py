"""PanNuke reader and look-alike generator: contract, the official conversion, memory mapping,
void vs background, typed failures."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from harmonize import datasets
from harmonize.errors import CorruptFileError, HarmonizeError, MissingFileError, ShapeError
from harmonize.testing.contract import ReaderContract, assert_same_partition


def _paths(root: Path, fold: int) -> tuple[Path, Path, Path]:
    d = root / f"Fold {fold}"  # written out here, not taken from the reader module
    return (
        d / "images" / f"fold{fold}" / "images.npy",
        d / "images" / f"fold{fold}" / "types.npy",
        d / "masks" / f"fold{fold}" / "masks.npy",
    )


# -- PanNuke-metrics `utils.remap_label` and CellViT `prepare_pannuke.py`, re-implemented -------
def remap_label(pred: np.ndarray) -> np.ndarray:
    pred_id = list(np.unique(pred))
    if 0 in pred_id:
        pred_id.remove(0)
    new_pred = np.zeros(pred.shape, np.int32)
    for idx, inst_id in enumerate(pred_id):
        new_pred[pred == inst_id] = idx + 1
    return new_pred


def cellvit_inst_type(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CellViT's per-patch conversion: per channel remap, offset by the running max, later
    channels overwrite; type map from clip(channel, 0, 1) * (j + 1), later overwrite."""
    h, w = mask.shape[:2]
    inst_map = np.zeros((h, w))
    num_nuc = 0
    for j in range(mask.shape[-1] - 1):
        layer_res = remap_label(mask[:, :, j])
        inst_map = np.where(layer_res != 0, layer_res + num_nuc, inst_map)
        num_nuc = num_nuc + np.max(layer_res)
    inst_map = remap_label(inst_map)
    type_map = np.zeros((h, w)).astype(np.int32)
    for j in range(mask.shape[-1] - 1):
        layer_res = ((j + 1) * np.clip(mask[:, :, j], 0, 1)).astype(np.int32)
        type_map = np.where(layer_res != 0, layer_res, type_map)
    return inst_map, type_map


class TestPanNuke(ReaderContract):
    dataset = "pannuke"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 2, "seed": 0}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        _, _, masks_p = _paths(root, 2)
        mm = np.load(masks_p, mmap_mode="r+")
        mm[1, 5, 5, 0] = 0.5  # a non-integer instance id in one patch
        mm.flush()
        del mm
        return "fold2_00001", CorruptFileError

    # -- the format's conventions -------------------------------------------------------------
    def test_layout_has_space_and_capital_fold(self, synth_edge) -> None:
        for k in (1, 2, 3):
            for p in _paths(synth_edge.root, k):
                assert p.is_file(), p
            assert (synth_edge.root / f"Fold {k}" / "masks" / "by-nc-sa.md").is_file()
        images = np.load(_paths(synth_edge.root, 1)[0], mmap_mode="r")
        masks = np.load(_paths(synth_edge.root, 1)[2], mmap_mode="r")
        types = np.load(_paths(synth_edge.root, 1)[1])
        assert images.dtype == np.float64 and masks.dtype == np.float64
        assert masks.shape[-1] == 6 and types.dtype.kind == "U"

    def test_agrees_with_cellvit_conversion(self, synth_edge) -> None:
        reader = datasets.open_reader("pannuke", synth_edge.root)
        for s in reader:
            fold, index = s.meta["fold"], s.meta["index"]
            mask = np.load(_paths(synth_edge.root, fold)[2])[index]
            inst_ref, type_ref = cellvit_inst_type(mask)
            assert_same_partition(s.instance, inst_ref, s.sample_id)
            void = mask.sum(axis=-1) == 0
            # CellViT calls all-zero pixels background; the official foreground rule agrees
            np.testing.assert_array_equal(s.semantic[~void], type_ref[~void], err_msg=s.sample_id)
            assert np.all(s.semantic[void] == 255)
            # the instance's class is the channel it came from (+1)
            cls = dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True))
            for iid, c in cls.items():
                assert np.all(type_ref[s.instance == iid] == c)

    def test_void_is_not_background(self, synth_edge) -> None:
        reader = datasets.open_reader("pannuke", synth_edge.root, splits=["fold1"])
        by_quirk = {synth_edge.samples[s.sample_id].meta["quirk"]: s for s in reader}
        void_patch = by_quirk["void_patch"]
        assert np.all(void_patch.semantic == 255) and not void_patch.instance.any()
        empty = by_quirk["empty"]
        assert np.all(empty.semantic == 0) and not empty.instance.any()
        mixed = by_quirk["void_pixels"]
        vals = set(np.unique(mixed.semantic).tolist())
        assert {0, 255} <= vals
        # pathml's `1 - mask[..., 5]` would call void pixels nuclei; the reader must not
        mask = np.load(_paths(synth_edge.root, 1)[2])[mixed.meta["index"]]
        assert np.all(mixed.instance[mask.sum(-1) == 0] == 0)

    def test_overlap_later_channel_wins_and_ids_repeat_across_channels(self, synth_edge) -> None:
        reader = datasets.open_reader("pannuke", synth_edge.root, splits=["fold1"])
        s = next(x for x in reader if synth_edge.samples[x.sample_id].meta["quirk"] == "overlap")
        mask = np.load(_paths(synth_edge.root, 1)[2])[s.meta["index"]]
        nz = mask[..., :5] > 0
        both = nz.sum(-1) >= 2
        assert both.any(), "look-alike has no cross-channel overlap"
        last = 4 - np.argmax(nz[..., ::-1], axis=-1)  # index of the last nonzero channel
        np.testing.assert_array_equal(s.semantic[both], last[both] + 1)
        # the same file id in two channels is two instances
        ids = [set(np.unique(mask[..., c]).tolist()) - {0} for c in range(5)]
        assert any(ids[a] & ids[b] for a in range(5) for b in range(a + 1, 5))
        assert len(s.instance_ids) == len(np.unique(s.instance[s.instance > 0]))

    def test_disconnected_id_is_one_instance(self, synth_edge) -> None:
        from scipy import ndimage

        reader = datasets.open_reader("pannuke", synth_edge.root, splits=["fold1"])
        s = next(
            x for x in reader if synth_edge.samples[x.sample_id].meta["quirk"] == "disconnected"
        )
        n_blobs = [ndimage.label(s.instance == i)[1] for i in s.instance_ids.tolist()]
        assert max(n_blobs) >= 2

    def test_meta_ids_and_image(self, synth) -> None:
        reader = datasets.open_reader("pannuke", synth.root)
        refs = reader.list_refs()
        assert [r.sample_id for r in refs][:2] == ["fold1_00000", "fold1_00001"]
        parent = datasets.open_reader("pannuke", synth.root.parent)  # holds PanNuke/Fold 1 ...
        assert [r.sample_id for r in parent.list_refs()] == [r.sample_id for r in refs]
        types = np.load(_paths(synth.root, 3)[1])
        images = np.load(_paths(synth.root, 3)[0])
        for s in reader:
            if s.split != "fold3":
                continue
            assert s.meta["tissue"] == str(types[s.meta["index"]])
            assert s.meta["magnification"] == "40x"
            img = s.image()
            assert img.dtype == np.uint8
            np.testing.assert_array_equal(img, images[s.meta["index"]].astype(np.uint8))
            assert s.semantic.dtype == np.uint8

    # -- memory ---------------------------------------------------------------------------------
    def test_arrays_are_memory_mapped(self, synth, monkeypatch) -> None:
        calls: list[tuple[str, object]] = []
        real_load = np.load

        def spy(file, *args, **kwargs):
            calls.append((Path(file).name, kwargs.get("mmap_mode")))
            return real_load(file, *args, **kwargs)

        monkeypatch.setattr(np, "load", spy)
        reader = datasets.open_reader("pannuke", synth.root)
        for s in reader:
            s.image()
        big = [(name, mode) for name, mode in calls if name in ("images.npy", "masks.npy")]
        assert big and all(mode == "r" for _, mode in big), big

    def test_reading_one_patch_of_a_large_fold_stays_small(self, tmp_path) -> None:
        result = datasets.synthesize("pannuke", tmp_path / "big", n=1, seed=1)
        images_p, types_p, masks_p = _paths(result.root, 1)
        n, h, w = 96, 64, 64
        masks = np.lib.format.open_memmap(masks_p, "w+", np.float64, (n, h, w, 6))
        masks[..., 5] = 1.0
        masks[:, 10:20, 10:20, 0] = 1234.0
        masks.flush()
        del masks
        images = np.lib.format.open_memmap(images_p, "w+", np.float64, (n, h, w, 3))
        images[:] = 200.0
        images.flush()
        del images
        np.save(types_p, np.array(["Breast"] * n, dtype="<U13"))
        whole = masks_p.stat().st_size  # ~19 MB
        reader = datasets.open_reader("pannuke", result.root, splits=["fold1"])
        refs = reader.list_refs()
        assert len(refs) == n
        reader.read(refs[0])  # compile / warm the kernel outside the measurement
        tracemalloc.start()
        s = reader.read(refs[70])
        s.image()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        one = h * w * 6 * 8
        assert peak < 4 * one < whole / 10, (peak, one, whole)
        assert s.instance_ids.tolist() and set(s.instance_classes.tolist()) == {1}

    # -- typed failures ------------------------------------------------------------------------
    def test_masks_with_five_channels_is_a_shape_error(self, tmp_path) -> None:
        result = datasets.synthesize("pannuke", tmp_path, n=1)
        masks_p = _paths(result.root, 2)[2]
        np.save(masks_p, np.load(masks_p)[..., :5])
        with pytest.raises(ShapeError) as info:
            datasets.open_reader("pannuke", result.root).list_refs()
        assert str(masks_p) in str(info.value)

    def test_count_mismatch_names_the_file(self, tmp_path) -> None:
        result = datasets.synthesize("pannuke", tmp_path, n=2)
        types_p = _paths(result.root, 1)[1]
        np.save(types_p, np.load(types_p)[:1])
        with pytest.raises(ShapeError) as info:
            datasets.open_reader("pannuke", result.root).list_refs()
        assert str(types_p) in str(info.value)
        result2 = datasets.synthesize("pannuke", tmp_path / "b", n=2)
        _, _, masks_p = _paths(result2.root, 3)
        np.save(masks_p, np.load(masks_p)[:1])
        with pytest.raises(ShapeError) as info:
            datasets.open_reader("pannuke", result2.root).list_refs()
        assert str(masks_p) in str(info.value)

    def test_truncated_npy_is_corrupt(self, tmp_path) -> None:
        result = datasets.synthesize("pannuke", tmp_path, n=1)
        images_p = _paths(result.root, 1)[0]
        data = images_p.read_bytes()
        images_p.write_bytes(data[: len(data) // 2])
        with pytest.raises(CorruptFileError) as info:
            datasets.open_reader("pannuke", result.root).list_refs()
        assert str(images_p) in str(info.value)

    def test_missing_fold(self, tmp_path) -> None:
        result = datasets.synthesize("pannuke", tmp_path, n=1)
        import shutil

        shutil.rmtree(result.root / "Fold 2")
        reader = datasets.open_reader("pannuke", result.root)  # folds present are read
        assert {r.split for r in reader.list_refs()} == {"fold1", "fold3"}
        with pytest.raises(MissingFileError) as info:
            datasets.open_reader("pannuke", result.root, splits=["fold2"]).list_refs()
        assert "Fold 2" in str(info.value)
        (result.root / "Fold 3" / "masks" / "fold3" / "masks.npy").unlink()
        with pytest.raises(MissingFileError) as info:
            datasets.open_reader("pannuke", result.root).list_refs()
        assert "masks.npy" in str(info.value)

    def test_pickled_types_need_opt_in(self, tmp_path) -> None:
        result = datasets.synthesize("pannuke", tmp_path, n=2)
        types_p = _paths(result.root, 1)[1]
        names = np.load(types_p).tolist()
        np.save(types_p, np.array(names, dtype=object), allow_pickle=True)
        with pytest.raises(ShapeError) as info:
            datasets.open_reader("pannuke", result.root).list_refs()
        assert "allow_pickle_types" in str(info.value) and str(types_p) in str(info.value)
        reader = datasets.open_reader("pannuke", result.root, allow_pickle_types=True)
        got = [r.meta["tissue"] for r in reader.list_refs() if r.split == "fold1"]
        assert got == names
        with pytest.raises(TypeError):
            datasets.open_reader("pannuke", result.root, bogus=1)
