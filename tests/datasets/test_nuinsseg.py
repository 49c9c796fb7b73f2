"""NuInsSeg reader and look-alike generator (masih4/NuInsSeg masks_generator.m layout)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import tifffile
from PIL import Image

from harmonize import datasets
from harmonize.datasets.base import SynthResult
from harmonize.errors import (
    CorruptFileError,
    HarmonizeError,
    LossyLabelError,
    MissingFileError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.taxonomy import compile_mapping, load_mapping, load_ontology, load_taxonomy
from harmonize.testing.contract import ReaderContract


class TestNuInsSeg(ReaderContract):
    dataset = "nuinsseg"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": (48, 48)}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        label = root / "mouse kidney" / "label masks modify" / "01.tif"
        label.write_bytes(label.read_bytes()[:60])  # truncated TIFF
        return "mouse_kidney_01", CorruptFileError


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    out = tmp_path_factory.mktemp("nuinsseg_edge_mod")
    return datasets.synthesize("nuinsseg", out, n=3, seed=5, size=(56, 56), edge_cases=True)


def _fresh(tmp_path: Path) -> SynthResult:
    return datasets.synthesize("nuinsseg", tmp_path / "d", n=3, seed=2, size=(40, 40))


def _read(root: Path, sid: str = "human_bladder_01"):
    reader = datasets.open_reader("nuinsseg", root)
    return reader.read(next(r for r in reader.list_refs() if r.sample_id == sid))


def test_reads_the_modify_masks_and_vague_areas(edge: SynthResult) -> None:
    reader = datasets.open_reader("nuinsseg", edge.root)
    checked = 0
    for s in reader:
        organ = edge.root / s.meta["organ"]
        stem = Path(s.ref.key[1]).stem
        modify = tifffile.imread(organ / "label masks modify" / f"{stem}.tif")
        assert modify.dtype == np.uint16
        vague_dir = next(
            organ / d
            for d in ("vague areas/mask binary", "vague areas/mask binary_vague")
            if (organ / d).is_dir()
        )
        vague = np.asarray(Image.open(vague_dir / f"{stem}.png")) > 0
        np.testing.assert_array_equal(s.instance, modify)
        want = np.where(modify > 0, 1, np.where(vague, 255, 0))
        np.testing.assert_array_equal(s.semantic, want)
        assert s.instance_classes is not None and set(s.instance_classes.tolist()) <= {1}
        assert s.meta["species"] in ("human", "mouse")
        checked += 1
    assert checked == len(edge.samples) == 6


def test_overlaps_come_from_modify_not_the_summed_masks(edge: SynthResult) -> None:
    label = Path(edge.quirks["overlapping_nuclei"][0])
    summed = tifffile.imread(label.parent.parent / "label masks" / label.name)
    modify = tifffile.imread(label)
    assert np.any(summed != modify), "look-alike wrote no overlap"
    organ = label.parent.parent.name
    s = _read(edge.root, f"{organ.replace(' ', '_')}_{label.stem}")
    np.testing.assert_array_equal(s.instance, modify)
    assert not np.array_equal(s.instance, summed)


def test_rgba_image_and_alternative_vague_folder(edge: SynthResult) -> None:
    rgba = Path(edge.quirks["rgba"][0])
    image = rgba.parent.parent / "tissue images" / f"{rgba.stem}.png"
    assert Image.open(image).mode == "RGBA"
    s = _read(edge.root, f"human_bladder_{rgba.stem}")
    np.testing.assert_array_equal(s.image(), np.asarray(Image.open(image))[..., :3])
    alt = Path(edge.quirks["alt_vague"][0]).parent.parent
    assert (alt / "vague areas" / "mask binary_vague").is_dir()
    assert not (alt / "vague areas" / "mask binary").exists()


def test_stems_repeat_across_organs_ids_do_not(edge: SynthResult) -> None:
    reader = datasets.open_reader("nuinsseg", edge.root)
    stems = [Path(r.key[1]).stem for r in reader.list_refs()]
    assert len(set(stems)) < len(stems)
    assert len({r.sample_id for r in reader.list_refs()}) == len(stems)


def test_mapping_sends_vague_areas_to_ambiguous() -> None:
    cm = compile_mapping(
        load_taxonomy("nuinsseg"), load_ontology("nuclei"), load_mapping("nuinsseg", "nuclei")
    )
    names = {v: cm.class_names[int(cm.lut[v - cm.offset])] for v in (0, 1, 255)}
    assert names == {0: "background", 1: "nucleus", 255: "ambiguous"}


# -- refusals ---------------------------------------------------------------------------------
def test_missing_vague_mask_names_the_path(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    vague = result.root / "human bladder" / "vague areas" / "mask binary" / "01.png"
    vague.unlink()
    with pytest.raises(MissingFileError) as info:
        _read(result.root)
    assert str(vague) in str(info.value)


def test_vague_mask_not_binary(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    vague = result.root / "human bladder" / "vague areas" / "mask binary" / "01.png"
    arr = np.asarray(Image.open(vague)).copy()
    arr[0, 0] = 128
    Image.fromarray(arr).save(vague)
    with pytest.raises(CorruptFileError, match="128"):
        _read(result.root)


def test_vague_mask_of_another_size(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    vague = result.root / "human bladder" / "vague areas" / "mask binary" / "01.png"
    Image.fromarray(np.zeros((40, 41), np.uint8)).save(vague)
    with pytest.raises(SizeMismatchError) as info:
        _read(result.root)
    assert str(vague) in str(info.value)


def test_label_tiff_must_be_a_single_channel_integer_tiff(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    label = result.root / "human bladder" / "label masks modify" / "01.tif"
    modify = tifffile.imread(label)
    tifffile.imwrite(label, np.stack([modify] * 3, axis=-1).astype(np.uint8), photometric="rgb")
    with pytest.raises(ShapeError, match="single-channel"):
        _read(result.root)
    tifffile.imwrite(label, modify.astype(np.float32))
    with pytest.raises(ShapeError, match="integers"):
        _read(result.root)
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(label, format="JPEG")
    with pytest.raises(LossyLabelError):
        _read(result.root)


def test_image_of_another_size(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    image = result.root / "human bladder" / "tissue images" / "01.png"
    Image.fromarray(np.zeros((40, 44, 3), np.uint8)).save(image)
    with pytest.raises(SizeMismatchError):
        _read(result.root)
