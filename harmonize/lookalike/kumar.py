"""Kumar look-alike in HoVer-Net's layout: ``Kumar/{train,test_same,test_diff}/{Images,Labels}``.

The format and its reader: :mod:`harmonize.datasets.kumar` (whose :data:`SPLIT_STEMS` name the
files).
"""

from __future__ import annotations

import math
from pathlib import Path

from harmonize.datasets.base import SynthResult
from harmonize.datasets.kumar import SPLIT_STEMS
from harmonize.lookalike._hovernet import InstanceOnlyPlan, synthesize_instance_only

__all__ = ["synthesize"]


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (96, 96),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a miniature Kumar look-alike (HoVer-Net layout) under ``out/Kumar``.

    Parameters
    ----------
    out : path-like
        Folder to write into (``Kumar/`` is created inside it).
    n : int
        Images in ``train``; ``test_same`` and ``test_diff`` get ``ceil(n / 2)`` each. File stems
        are the real TCGA stems of each split (at most 16 / 8 / 6).
    seed : int
        Random seed; output bytes are identical for a seed.
    size : (int, int)
        ``(H, W)`` in px (real: 1000x1000; keep small for tests).
    edge_cases : bool
        Add quirks: a tile without nuclei, overlapping nuclei with non-contiguous ids, an RGBA
        TIFF, an ``inst_map`` stored as float64.
    """
    root = Path(out) / "Kumar"
    counts = {"train": n, "test_same": math.ceil(n / 2), "test_diff": math.ceil(n / 2)}
    extra = {"train": 2 if edge_cases else 0, "test_same": 0, "test_diff": 1 if edge_cases else 0}
    for split, k in counts.items():
        if k + extra[split] > len(SPLIT_STEMS[split]):
            raise ValueError(f"Kumar {split} has only {len(SPLIT_STEMS[split])} images")
    count = max(2, size[0] * size[1] // 800)
    plans = [
        InstanceOnlyPlan(split, split, stem, stem, size, count)
        for split, k in counts.items()
        for stem in SPLIT_STEMS[split][:k]
    ]
    if edge_cases:
        tr, td = SPLIT_STEMS["train"], SPLIT_STEMS["test_diff"]
        k, j = counts["train"], counts["test_diff"]
        plans += [
            InstanceOnlyPlan("train", "train", tr[k], tr[k], size, 0, ("empty",)),
            InstanceOnlyPlan(
                "train",
                "train",
                tr[k + 1],
                tr[k + 1],
                size,
                count * 2,
                ("overlap", "noncontiguous"),
            ),
            InstanceOnlyPlan(
                "test_diff", "test_diff", td[j], td[j], size, count, ("rgba", "float_inst_map")
            ),
        ]
    return synthesize_instance_only("kumar", root, plans, seed=seed, image_suffix=".tif")
