"""ADE20K SceneParsing look-alike: ``ADEChallengeData2016/images/{training,validation}/*.jpg`` and
``annotations/{training,validation}/*.png`` with the release's names (``ADE_train_00000001`` ...).

The format and its reader: :mod:`harmonize.datasets.ade20k` (the taxonomy's ``layout:``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.datasets import _io
from harmonize.datasets.ade20k import SPLITS, stem
from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.lookalike._draw import paint_blobs, scene_image, write_rgb

__all__ = ["synthesize"]

#: Class ids the scenes are drawn from (objectInfo150: 3 sky, 7 road, 10 grass, 2 building, 5 tree,
#: 13 person, 21 car, 20 chair, 16 table, 1 wall, 4 floor); every id 0..150 appears in the
#: edge-case sample.
_SKY, _GROUND, _OBJECTS = (3,), (7, 10, 4, 12), (1, 2, 5, 13, 21, 20, 16, 18, 44, 94)


def _scene(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Sky over ground, a few objects, and some 'other' (0) pixels."""
    lab = np.zeros((h, w), np.uint8)
    horizon = int(h * rng.uniform(0.3, 0.5))
    lab[:horizon] = rng.choice(_SKY)
    lab[horizon:] = rng.choice(_GROUND)
    paint_blobs(rng, lab, _OBJECTS)
    y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
    lab[y0 : y0 + 3, x0 : x0 + 4] = 0  # an object of no benchmark class
    return lab


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (48, 64),
    edge_cases: bool = False,
) -> SynthResult:
    """Write an ADEChallengeData2016 look-alike under ``out`` (the folder holding it).

    Parameters
    ----------
    out : path-like
        Folder to create ``ADEChallengeData2016/`` in.
    n : int
        Images in ``training`` (``validation`` gets ``ceil(n / 2)``).
    seed : int
        Output bytes are identical for a seed.
    size : (int, int)
        Typical ``(H, W)``; sizes vary per image (ADE20K images do).
    edge_cases : bool
        Add an all-"other" sample (every pixel 0), a 3x5 sample, one with odd height and width, and
        one holding every value 0..150.

    Returns
    -------
    SynthResult
        Truth ``semantic`` in native values (0..150).
    """
    base = Path(out)
    root = base / "ADEChallengeData2016"
    rng = np.random.default_rng(seed)
    counts = {"training": n, "validation": -(-n // 2)}
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    colours = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    for split in SPLITS:
        kinds = ["plain"] * counts[split]
        if edge_cases and split == "training":
            kinds += ["other_only", "tiny_image", "odd", "every_value"]
        for i, kind in enumerate(kinds, start=1):
            h = int(size[0] + rng.integers(-size[0] // 4, size[0] // 4 + 1))
            w = int(size[1] + rng.integers(-size[1] // 4, size[1] // 4 + 1))
            if kind == "odd":
                h, w = h | 1, w | 1
            if kind == "tiny_image":
                h, w = 3, 5
            if kind == "other_only":
                lab = np.zeros((h, w), np.uint8)
            elif kind == "every_value":
                h, w = max(h, 16), max(w, 16)
                lab = ((np.arange(h * w) * 151) // (h * w)).astype(np.uint8).reshape(h, w)
            else:
                lab = _scene(rng, h, w)
            s = stem(split, i)
            png = root / "annotations" / split / f"{s}.png"
            _io.write_png(png, lab)
            write_rgb(root / "images" / split / f"{s}.jpg", scene_image(rng, lab, colours))
            samples[s] = SynthTruth(sample_id=s, split=split, semantic=lab, image_shape=(h, w))
            if kind != "plain":
                quirks.setdefault(kind, []).append(str(png))
    return SynthResult("ade20k", base, samples, quirks=quirks)
