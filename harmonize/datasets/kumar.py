"""Kumar (Kumar et al. 2017; the 30-image MoNuSeg training set) as redistributed by HoVer-Net.

Layout (reference ``nuclei_datasets.md`` §4.2; hover_net ``dataset.py`` ``__Kumar`` and its
directory convention at commit 6ed22e1)::

    Kumar/train/Images/TCGA-18-5592-01Z-00-DX1.tif   Kumar/train/Labels/TCGA-18-5592-01Z-00-DX1.mat
    Kumar/test_same/Images/*.tif                     Kumar/test_same/Labels/*.mat
    Kumar/test_diff/Images/*.tif                     Kumar/test_diff/Labels/*.mat

Each ``.mat`` holds ``inst_map`` (H, W): 0 = background, 1..N = nucleus (HoVer-Net:
``sio.loadmat(path)["inst_map"]``). No classes: semantic = 1 (nucleus) where ``inst_map > 0``.
Split sizes 16 / 8 / 6 (hover_net ``data/README.md`` @233902b), 1000x1000 px at 40x (~0.25 um/px).
Sample ids are the TCGA file stems, unique across the three splits.

Overlapping annotation polygons were already resolved when HoVer-Net made ``inst_map`` (its
converter ``proc_kumar_ann.py`` paints instances sorted by area, larger on top); this reader sees
one id per pixel. The older ``Labels/*.npy`` layout of hover_net branch ``1.0`` is not read.

Unverified ([U]): the on-disk dtype of ``inst_map`` (any numeric dtype with integer values is
accepted); that the test_same stems end in ``-01Z-00-DX1`` like the training stems.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from harmonize.datasets import register
from harmonize.datasets._hovernet import (
    HoverNetReader,
    InstanceOnlyPlan,
    synthesize_instance_only,
)
from harmonize.datasets.base import SynthResult

__all__ = ["SPLIT_STEMS", "KumarReader", "synthesize"]

#: The HoVer-Net Kumar split (hover_net ``data/README.md`` @233902b), as file stems.
SPLIT_STEMS: dict[str, tuple[str, ...]] = {
    "train": tuple(
        f"TCGA-{s}-01Z-00-DX1"
        for s in (
            "18-5592",
            "21-5784",
            "38-6178",
            "50-5931",
            "A7-A13E",
            "AR-A1AK",
            "AR-A1AS",
            "B0-5711",
            "E2-A14V",
            "G9-6348",
            "G9-6356",
            "G9-6362",
            "G9-6363",
            "HE-7128",
            "HE-7129",
            "HE-7130",
        )
    ),
    # [U] suffix assumed the same as the training stems
    "test_same": tuple(
        f"TCGA-{s}-01Z-00-DX1"
        for s in (
            "21-5786",
            "49-4488",
            "A7-A13F",
            "CH-5767",
            "E2-A1B5",
            "G9-6336",
            "B0-5698",
            "B0-5710",
        )
    ),
    "test_diff": (
        "TCGA-AY-A8YK-01A-01-TS1",
        "TCGA-DK-A2I6-01A-01-TS1",
        "TCGA-KB-A93J-01A-01-TS1",
        "TCGA-NH-A8F7-01A-01-TS1",
        "TCGA-RD-A8N9-01A-01-TS1",
        "TCGA-G2-A2EK-01A-02-TSB",
    ),
}


class KumarReader(HoverNetReader):
    """Read Kumar in HoVer-Net's layout (``Kumar/{train,test_same,test_diff}/{Images,Labels}``).

    Samples: ids = TCGA stems; ``semantic`` uint8 (1 nucleus, 0 background); ``instance`` int32
    (the file's ids, unchanged); ``load_image`` gives RGB uint8 from the TIFF (alpha dropped);
    meta ``magnification="40x"``, ``microns_per_pixel=0.25``.
    """

    name = "kumar"
    split_names = ("train", "test_same", "test_diff")
    layout_hint = "expected Kumar/{train,test_same,test_diff}/Images/*.tif and Labels/*.mat"
    dataset_dir = "Kumar"
    split_dirs: ClassVar[Mapping[str, str]] = {
        "train": "train",
        "test_same": "test_same",
        "test_diff": "test_diff",
    }
    image_suffixes = (".tif", ".tiff", ".png")
    sample_meta: ClassVar[Mapping[str, Any]] = {"magnification": "40x", "microns_per_pixel": 0.25}


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


register(
    "kumar",
    reader=KumarReader,
    synthesize=synthesize,
    description="Kumar nuclei (HoVer-Net layout: {train,test_same,test_diff}/Images/*.tif, "
    "Labels/*.mat inst_map)",
)
