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

from collections.abc import Mapping
from typing import Any, ClassVar

from harmonize.datasets import register
from harmonize.datasets._hovernet import HoverNetReader

__all__ = ["SPLIT_STEMS", "KumarReader"]

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


register(
    "kumar",
    reader=KumarReader,
    synthesize="harmonize.lookalike.kumar:synthesize",
    description="Kumar nuclei (HoVer-Net layout: {train,test_same,test_diff}/Images/*.tif, "
    "Labels/*.mat inst_map)",
)
