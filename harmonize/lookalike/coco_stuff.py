"""COCO-Stuff look-alike: the 164k ``stuffthingmaps`` PNGs or the 10k ``.mat`` release.

The format and its reader: :mod:`harmonize.datasets.coco_stuff`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.datasets import _io
from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.coco_stuff import (
    COCO_STUFF_NAMES,
    MAX_ID,
    PNG_UNLABELED,
    SPLITS_10K,
    SPLITS_164K,
)
from harmonize.lookalike._draw import scene_image, write_mat, write_rgb

__all__ = ["synthesize"]

_SKY = (157, 106)  # sky-other, clouds
_MIDDLE = (169, 96, 135, 128, 113, 172, 97)  # tree, building-other, mountain, house, fence, ...
_GROUND = (124, 149, 154, 159, 140, 145, 111, 155)  # grass, road, sand, snow, pavement, ...
_THINGS = (1, 2, 3, 4, 6, 10, 15, 16, 18, 19, 21, 28, 34, 38, 41, 62, 64, 67)


def _photo_colours() -> np.ndarray:
    """Plausible RGB per COCO-Stuff id 0..182 (fixed; a few natural colours, the rest spread)."""
    cols = np.random.default_rng(182).integers(40, 220, size=(MAX_ID + 1, 3)).astype(np.uint8)
    fixed = {0: (0, 0, 0), 157: (135, 190, 235), 106: (225, 230, 240), 124: (70, 150, 60),
             149: (90, 90, 95), 154: (210, 190, 140), 159: (245, 245, 250), 169: (40, 110, 40),
             155: (40, 90, 160), 1: (200, 150, 120)}  # fmt: skip
    for k, v in fixed.items():
        cols[k] = v
    return cols


_COLOURS = _photo_colours()


def _scene_ids(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A plausible outdoor scene in COCO-Stuff ids (uint8): sky, a middle band, ground, a few things
    and sometimes an unlabeled (0) patch."""
    from skimage.draw import ellipse, polygon

    h, w = shape
    cols = np.arange(w)
    horizon = h * rng.uniform(0.3, 0.5) + h * 0.06 * np.sin(cols / max(w, 1) * rng.uniform(3, 9))
    ground = horizon + h * rng.uniform(0.1, 0.25)
    rows = np.arange(h)[:, None]
    ids = np.full(shape, rng.choice(_SKY), np.uint8)
    ids[rows >= horizon[None, :]] = rng.choice(_MIDDLE)
    ids[rows >= ground[None, :]] = rng.choice(_GROUND)
    for _ in range(int(rng.integers(1, 5))):
        cls = int(rng.choice(_THINGS))
        r = rng.uniform(0.08, 0.22) * min(h, w)
        cy, cx = rng.uniform(h * 0.3, h - r * 0.5), rng.uniform(r * 0.5, w - r * 0.5)
        if rng.random() < 0.5:
            rr, cc = ellipse(cy, cx, r, r * rng.uniform(0.4, 1.0), shape=shape)
        else:
            k = int(rng.integers(3, 7))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            rr, cc = polygon(cy + r * np.sin(ang), cx + r * np.cos(ang), shape=shape)
        ids[rr, cc] = cls
    if rng.random() < 0.5:  # unlabeled pixels (annotators' leftovers)
        rr, cc = ellipse(
            rng.uniform(0, h), rng.uniform(0, w), 0.06 * h + 1, 0.1 * w + 1, shape=shape
        )
        ids[rr, cc] = 0
    return ids


def _edge_scenes(shape: tuple[int, int]) -> list[tuple[str, np.ndarray]]:
    h, w = shape
    boundary = np.zeros(shape, np.uint8)
    boundary[:, : w // 4] = 1  # person: PNG value 0
    boundary[:, w // 4 : w // 2] = 90  # toothbrush, last used thing: PNG 89
    boundary[:, w // 2 : 3 * w // 4] = 92  # banner, first stuff: PNG 91
    boundary[:, 3 * w // 4 :] = 182  # wood, the largest id: PNG 181
    boundary[: h // 8, :] = 0  # unlabeled row band
    tiny = np.array([[157, 157, 157, 157, 157], [157, 1, 1, 124, 124], [124, 124, 124, 124, 0]])
    return [
        ("all_unlabeled", np.zeros(shape, np.uint8)),
        ("tiny_image", tiny.astype(np.uint8)),
        ("boundary_ids", boundary),
    ]


def _names_cell() -> np.ndarray:
    cell = np.empty((MAX_ID, 1), dtype=object)
    for i, name in enumerate(COCO_STUFF_NAMES[1:]):
        cell[i, 0] = name
    return cell


def _captions(ids: np.ndarray) -> np.ndarray:
    present = [COCO_STUFF_NAMES[int(v)] for v in np.unique(ids) if v != 0]
    cell = np.empty((5, 1), dtype=object)
    for i in range(5):
        words = present[i % max(len(present), 1) :] + present[: i % max(len(present), 1)]
        cell[i, 0] = "a photo of " + (" and ".join(words[:3]) if words else "nothing")
    return cell


def _region_maps(ids: np.ndarray, block: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Grid "superpixels" and their stuff label (majority of stuff ids, 0 if none), 1-based."""
    h, w = ids.shape
    nr, nc = -(-h // block), -(-w // block)
    region = (np.arange(h)[:, None] // block) * nc + (np.arange(w)[None, :] // block) + 1
    labels = np.zeros((nr * nc, 1), np.uint8)
    for r in range(1, nr * nc + 1):
        v = ids[region == r]
        v = v[v > 91]
        if v.size:
            vals, counts = np.unique(v, return_counts=True)
            labels[r - 1, 0] = vals[np.argmax(counts)]
    return region.astype(np.uint16), labels


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (96, 128),
    edge_cases: bool = False,
    release: str = "164k",
) -> SynthResult:
    """Write a miniature COCO-Stuff look-alike (164k PNG or 10k ``.mat`` release) under ``out``.

    Parameters
    ----------
    out : path-like
        Root folder (the reader's root).
    n : int
        Number of images, alternately train and val (164k) / train and test (10k).
    seed : int
        Random seed. The drawn scenes depend on ``seed``, ``n``, ``size`` and ``edge_cases`` only, so
        the two releases written with the same arguments hold the same scenes.
    size : (H, W)
        Image size in pixels.
    edge_cases : bool
        Add an all-unlabeled image, a 3x5 image, an image with the boundary ids (1, 90, 92, 182);
        164k: a mode ``P`` label PNG and a leftover mmsegmentation ``_labelTrainIds.png``; 10k: an
        ``S`` stored as double.
    release : {"164k", "10k"}

    Returns
    -------
    SynthResult
        Truth in the release's raw file values (PNG values, or ``S``).
    """
    if release not in ("164k", "10k"):
        raise ValueError(f"release must be '164k' or '10k', not {release!r}")
    rng = np.random.default_rng(seed)
    shape = (int(size[0]), int(size[1]))
    root = Path(out)
    scenes: list[tuple[str, np.ndarray]] = [("", _scene_ids(rng, shape)) for _ in range(n)]
    if edge_cases:
        scenes += _edge_scenes(shape)
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    lists: dict[str, list[str]] = {"train": [], "test": []}
    for i, (quirk, ids) in enumerate(scenes):
        image_id = 139 + 1000 * i + int(seed) % 997
        rgb = scene_image(rng, ids, _COLOURS)
        if release == "164k":
            split = SPLITS_164K[i % 2]
            stem = f"{image_id:012d}"
            png = np.where(ids == 0, PNG_UNLABELED, ids.astype(np.int64) - 1).astype(np.uint8)
            write_rgb(root / "images" / split / f"{stem}.jpg", rgb)
            lab_p = root / "annotations" / split / f"{stem}.png"
            if quirk == "boundary_ids":  # [U] real mode unknown: exercise mode P (grey palette)
                grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
                _io.write_png(lab_p, png, palette=grey)
                quirks.setdefault("palette_png", []).append(str(lab_p))
            else:
                _io.write_png(lab_p, png)
            truth = png
        else:
            split = SPLITS_10K[i % 2]
            stem = f"COCO_train2014_{image_id:012d}"
            write_rgb(root / "images" / f"{stem}.jpg", rgb)
            lab_p = root / "annotations" / f"{stem}.mat"
            region, region_labels = _region_maps(ids)
            s = ids.astype(np.float64) if quirk == "boundary_ids" else ids
            if quirk == "boundary_ids":
                quirks.setdefault("S_double", []).append(str(lab_p))
            write_mat(
                lab_p,
                {
                    "S": s,
                    "names": _names_cell(),
                    "captions": _captions(ids),
                    "regionMapStuff": region,
                    "regionLabelsStuff": region_labels,
                },
            )
            lists[split].append(stem)
            truth = ids
        if quirk:
            quirks.setdefault(quirk, []).append(str(lab_p))
        samples[stem] = SynthTruth(
            sample_id=stem,
            split=split,
            semantic=truth,
            instance=None,
            image_shape=ids.shape,
            meta={"release": release, "image_id": image_id},
        )
    if release == "164k" and edge_cases and samples:
        # mmsegmentation's coco_stuff164k.py writes converted copies next to the raw maps
        first = next(iter(samples.values()))
        left = root / "annotations" / first.split / f"{first.sample_id}_labelTrainIds.png"
        _io.write_png(left, np.full(first.semantic.shape, 200, np.uint8))
        quirks.setdefault("mmseg_leftover", []).append(str(left))
    if release == "10k":
        lst = root / "imageLists"
        lst.mkdir(parents=True, exist_ok=True)
        for split, stems in lists.items():
            (lst / f"{split}.txt").write_text("".join(f"{s}\n" for s in sorted(stems)))
        every = sorted(lists["train"] + lists["test"])
        (lst / "all.txt").write_text("".join(f"{s}\n" for s in every))
    return SynthResult("coco_stuff", root, samples, {}, quirks)
