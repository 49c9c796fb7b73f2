"""CPM-17 look-alike in HoVer-Net's layout: ``cpm17/{train,test}/{Images/*.png, Labels/*.mat}``.

The format and its reader: :mod:`harmonize.datasets.cpm17`.
"""

from __future__ import annotations

import math
from pathlib import Path

from harmonize.datasets.base import SynthResult
from harmonize.lookalike._hovernet import InstanceOnlyPlan, synthesize_instance_only

__all__ = ["synthesize"]


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (80, 80),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a miniature CPM-17 look-alike under ``out/cpm17``.

    Parameters
    ----------
    out : path-like
        Folder to write into (``cpm17/`` is created inside it).
    n : int
        Images per split (``train`` and ``test``; the real dataset has 32 each).
    seed : int
        Random seed; output bytes are identical for a seed.
    size : (int, int)
        ``(H, W)`` of the images in px (real tiles: 500-600 px; keep small for tests). Test images
        are 1.25x larger, as real CPM-17 mixes tile sizes.
    edge_cases : bool
        Add quirks: an image without nuclei, overlapping nuclei, non-contiguous ids stored as
        float64, a non-square tile.
    """
    root = Path(out) / "cpm17"
    h, w = size
    shapes = {"train": (h, w), "test": (math.ceil(h * 1.25), math.ceil(w * 1.25))}
    count = max(2, h * w // 900)
    plans = [
        InstanceOnlyPlan(
            split, split, f"image_{i:02d}", f"{split}_image_{i:02d}", shapes[split], count
        )
        for split in ("train", "test")
        for i in range(n)
    ]
    if edge_cases:
        k = n
        plans += [
            InstanceOnlyPlan(
                "train", "train", f"image_{k:02d}", f"train_image_{k:02d}", (h, w), 0, ("empty",)
            ),
            InstanceOnlyPlan(
                "train",
                "train",
                f"image_{k + 1:02d}",
                f"train_image_{k + 1:02d}",
                (h, w),
                count * 2,
                ("overlap", "noncontiguous", "float_inst_map"),
            ),
            InstanceOnlyPlan(
                "test",
                "test",
                f"image_{k:02d}",
                f"test_image_{k:02d}",
                (h, w + 24),
                count,
                ("non_square",),
            ),
        ]
    return synthesize_instance_only("cpm17", root, plans, seed=seed, image_suffix=".png")
