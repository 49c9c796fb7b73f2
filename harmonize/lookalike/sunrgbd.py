"""SUN RGB-D look-alikes: the 37-class PNG release (``sun_rgbd.tgz``, default) and the official
``.mat`` release (``release="mat"``).

PNG: ``image/{train,test}/img-%06d.jpg`` and ``label37/{train,test}/%08d.png``, both splits
numbered from 1, plus ``depth/`` and ``label13/`` folders the reader does not read (the release
has them). Official: ``SUNRGBD/<sensor>/<set>/<scene>/image/<name>.jpg`` and
``SUNRGBDtoolbox/{Metadata/SUNRGBD2Dseg.mat, Metadata/SUNRGBDMeta.mat,
traintestSUNRGBD/allsplit.mat}``: SUNRGBD2Dseg.mat a MATLAB v7.3 file (HDF5 with the 512-byte
MATLAB header, one object reference per image in ``SUNRGBD2Dseg/seglabel`` to a column-major
float64 array under ``#refs#``), the other two v5 files (scipy) whose paths carry the authors'
``/n/fs/sun3d/data/`` prefix.

The formats and their reader: :mod:`harmonize.datasets.sunrgbd`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.datasets import _io
from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.sunrgbd import (
    META_MAT,
    PATH_PREFIX,
    SEG_MAT,
    SPLIT_MAT,
    SPLITS,
    image_stem,
    label_stem,
    mat_sample_id,
    sample_id,
)
from harmonize.lookalike._draw import paint_blobs, scene_image, write_mat, write_rgb

__all__ = ["synthesize"]

#: Class ids the rooms are drawn from (seg37list: 1 wall, 22 ceiling, 2 floor, 20 floor_mat; then
#: furniture and objects); every id 0..37 appears in the edge-case sample.
_WALL, _CEILING, _FLOOR = 1, 22, (2, 20)
_OBJECTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 18, 25, 31, 33, 35, 37)


def _room(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Ceiling, wall and floor bands, a few objects, and some unlabeled (0) pixels."""
    lab = np.full((h, w), _WALL, np.uint8)
    top, bottom = int(h * rng.uniform(0.05, 0.2)), int(h * rng.uniform(0.6, 0.8))
    lab[:top] = _CEILING
    lab[bottom:] = rng.choice(_FLOOR)
    paint_blobs(rng, lab, _OBJECTS)
    y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
    lab[y0 : y0 + 4, x0 : x0 + 5] = 0  # pixels nobody labelled
    return lab


def _kinds(n: int, edge_cases: bool) -> dict[str, list[str]]:
    kinds = {"train": ["plain"] * n, "test": ["plain"] * -(-n // 2)}
    if edge_cases:
        kinds["train"] += ["unlabeled_only", "tiny_image", "odd", "every_value", "sixteen_bit"]
    return kinds


def _label(rng: np.random.Generator, kind: str, size: tuple[int, int]) -> np.ndarray:
    h = int(size[0] + rng.integers(-size[0] // 4, size[0] // 4 + 1))
    w = int(size[1] + rng.integers(-size[1] // 4, size[1] // 4 + 1))
    if kind == "odd":
        h, w = h | 1, w | 1
    if kind == "tiny_image":
        h, w = 3, 5
    if kind == "unlabeled_only":
        return np.zeros((h, w), np.uint8)
    if kind == "every_value":
        h, w = max(h, 16), max(w, 16)
        return ((np.arange(h * w) * 38) // (h * w)).astype(np.uint8).reshape(h, w)
    return _room(rng, h, w)


#: Sensor / set folders of the official release (SUNRGBD.zip), cycled through by the look-alike.
_SETS = ("kv1/NYUdata", "kv2/kinect2data", "realsense/lg", "xtion/xtion_align_data")

#: The MATLAB v7.3 header written into the HDF5 user block (116 bytes of text, then version and
#: endianness at 124..127).
_MAT73_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."


def _write_mat_release(
    base: Path, rng: np.random.Generator, kinds: dict[str, list[str]], size: tuple[int, int]
) -> tuple[dict[str, SynthTruth], dict[str, list[str]]]:
    import h5py

    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    colours = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    labels, scenes, rgbpaths, split_of = [], [], [], []
    k = 0
    for split in SPLITS:
        for kind in kinds[split]:
            if kind == "sixteen_bit":  # a PNG quirk: no counterpart in the .mat
                continue
            k += 1
            lab = _label(rng, kind, size)
            scene = f"SUNRGBD/{_SETS[k % len(_SETS)]}/{split}{k:04d}"
            name = f"{k:07d}.jpg"
            write_rgb(base / scene / "image" / name, scene_image(rng, lab, colours))
            labels.append(lab)
            scenes.append(scene)
            rgbpaths.append(f"{PATH_PREFIX}{scene}/image/{name}")
            split_of.append(split)
            sid = mat_sample_id(scene)
            samples[sid] = SynthTruth(
                sample_id=sid, split=split, semantic=lab, image_shape=lab.shape
            )
            if kind != "plain":
                quirks.setdefault(kind, []).append(str(base / SEG_MAT))
    # shuffle the image order against the split order: allsplit.mat, not position, gives the split
    order = rng.permutation(len(labels))
    seg = base / SEG_MAT
    seg.parent.mkdir(parents=True, exist_ok=True)
    # track_times=False: no modification times, so the bytes depend on the seed only
    with h5py.File(seg, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        group = f.create_group("SUNRGBD2Dseg")
        ds = group.create_dataset(
            "seglabel", (len(order), 1), dtype=h5py.ref_dtype, track_times=False
        )
        for row, j in enumerate(order):
            arr = refs.create_dataset(
                f"s{row}", data=labels[j].T.astype(np.float64), track_times=False
            )
            ds[row, 0] = arr.ref
    with open(seg, "r+b") as fh:  # MATLAB's header in the user block
        fh.write(_MAT73_HEADER.ljust(124, b" ") + b"\x00\x02IM")
    meta = np.zeros((1, len(order)), dtype=[("sequenceName", object), ("rgbpath", object)])
    for row, j in enumerate(order):
        meta[0, row] = (scenes[j], rgbpaths[j])
    write_mat(base / META_MAT, {"SUNRGBDMeta": meta})
    split_cells = {}
    for split, key in (("train", "alltrain"), ("test", "alltest")):
        cell = np.empty((1, split_of.count(split)), dtype=object)
        cell[0, :] = [
            f"{PATH_PREFIX}{s}/" for s, sp in zip(scenes, split_of, strict=True) if sp == split
        ]
        split_cells[key] = cell
    write_mat(base / SPLIT_MAT, split_cells)
    return samples, quirks


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (36, 48),
    edge_cases: bool = False,
    release: str = "png",
) -> SynthResult:
    """Write a sun_rgbd.tgz (or official ``.mat`` release) look-alike under ``out``.

    Parameters
    ----------
    out : path-like
        Folder to write ``image/``, ``label37/``, ``depth/`` and ``label13/`` into.
    n : int
        Images in ``train`` (``test`` gets ``ceil(n / 2)``).
    seed : int
        Output bytes are identical for a seed.
    size : (int, int)
        Typical ``(H, W)``; sizes vary per image (SUN RGB-D's four sensors give several sizes).
    edge_cases : bool
        Add an all-unlabeled sample (every pixel 0), a 3x5 sample, one with odd height and width,
        one holding every value 0..37, and one label written as a 16-bit PNG [U: the release's
        bit depth is documented nowhere; PNG release only).
    release : {"png", "mat"}
        ``png``: sun_rgbd.tgz (the folder it extracts into); ``mat``: SUNRGBD.zip and
        SUNRGBDtoolbox.zip unpacked under ``out``.

    Returns
    -------
    SynthResult
        Truth ``semantic`` in native values (0..37).
    """
    if release not in ("png", "mat"):
        raise ValueError(f"release must be 'png' or 'mat', not {release!r}")
    base = Path(out)
    rng = np.random.default_rng(seed)
    kinds = _kinds(n, edge_cases)
    if release == "mat":
        samples, quirks = _write_mat_release(base, rng, kinds, size)
        return SynthResult("sunrgbd", base, samples, quirks=quirks)
    samples = {}
    quirks = {}
    colours = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    for split in SPLITS:
        for i, kind in enumerate(kinds[split], start=1):
            lab = _label(rng, kind, size)
            h, w = lab.shape
            png = base / "label37" / split / f"{label_stem(i)}.png"
            _io.write_png(png, lab.astype(np.uint16) if kind == "sixteen_bit" else lab)
            write_rgb(
                base / "image" / split / f"{image_stem(i)}.jpg", scene_image(rng, lab, colours)
            )
            # depth (uint16 mm-like values) and 13-class labels: in the release, not read
            _io.write_png(
                base / "depth" / split / f"{label_stem(i)}.png",
                rng.integers(0, 60000, (h, w), dtype=np.uint16),
            )
            _io.write_png(
                base / "label13" / split / f"img13labels-{i:06d}.png", (lab % 14).astype(np.uint8)
            )
            sid = sample_id(split, i)
            samples[sid] = SynthTruth(sample_id=sid, split=split, semantic=lab, image_shape=(h, w))
            if kind != "plain":
                quirks.setdefault(kind, []).append(str(png))
    return SynthResult("sunrgbd", base, samples, quirks=quirks)
