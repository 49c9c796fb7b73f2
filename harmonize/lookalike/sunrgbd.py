"""SUN RGB-D 37-class PNG release look-alike (``sun_rgbd.tgz``): ``image/{train,test}/img-%06d.jpg``
and ``label37/{train,test}/%08d.png``, both splits numbered from 1, plus ``depth/`` and
``label13/`` folders the reader does not read (the release has them).

The format and its reader: :mod:`harmonize.datasets.sunrgbd` (the taxonomy's ``layout:``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.datasets import _io
from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.sunrgbd import SPLITS, image_stem, label_stem, sample_id
from harmonize.lookalike._draw import scene_image, write_rgb

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
    yy, xx = np.mgrid[:h, :w]
    for _ in range(int(rng.integers(2, 6))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.05, 0.25) * h, rng.uniform(0.05, 0.25) * w
        lab[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1] = rng.choice(_OBJECTS)
    y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
    lab[y0 : y0 + 4, x0 : x0 + 5] = 0  # pixels nobody labelled
    return lab


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (36, 48),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a sun_rgbd.tgz look-alike under ``out`` (the folder it extracts into).

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
        bit depth is documented nowhere].

    Returns
    -------
    SynthResult
        Truth ``semantic`` in native values (0..37).
    """
    base = Path(out)
    rng = np.random.default_rng(seed)
    counts = {"train": n, "test": -(-n // 2)}
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    colours = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    for split in SPLITS:
        kinds = ["plain"] * counts[split]
        if edge_cases and split == "train":
            kinds += ["unlabeled_only", "tiny_image", "odd", "every_value", "sixteen_bit"]
        for i, kind in enumerate(kinds, start=1):
            h = int(size[0] + rng.integers(-size[0] // 4, size[0] // 4 + 1))
            w = int(size[1] + rng.integers(-size[1] // 4, size[1] // 4 + 1))
            if kind == "odd":
                h, w = h | 1, w | 1
            if kind == "tiny_image":
                h, w = 3, 5
            if kind == "unlabeled_only":
                lab = np.zeros((h, w), np.uint8)
            elif kind == "every_value":
                h, w = max(h, 16), max(w, 16)
                lab = ((np.arange(h * w) * 38) // (h * w)).astype(np.uint8).reshape(h, w)
            else:
                lab = _room(rng, h, w)
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
