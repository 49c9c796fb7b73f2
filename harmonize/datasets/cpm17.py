"""CPM-17 (MICCAI 2017 Computational Precision Medicine nuclei segmentation), HoVer-Net layout.

Layout (reference ``nuclei_datasets.md`` §4.3; hover_net issue #5, ``dataset.py`` @6ed22e1; torch-em
``cpm.py``)::

    cpm17/train/Images/image_00.png ... image_31.png     cpm17/train/Labels/image_00.mat ...
    cpm17/test/Images/image_00.png  ... image_31.png     cpm17/test/Labels/image_00.mat  ...

Each ``.mat`` holds ``inst_map`` (H, W): 0 = background, 1..N = nucleus (HoVer-Net reads it with
``sio.loadmat(path)["inst_map"].astype("int32")``). No classes: the semantic map is 1 (nucleus)
where ``inst_map > 0`` and 0 elsewhere. Tiles are 500x500 to 600x600 px at 20x or 40x; which
image has which magnification (and tumour type) is undocumented (hover_net issue #293), so no
per-sample magnification is given. Stems repeat across splits (``image_00`` in both), so sample
ids are ``<split>_<stem>`` (``train_image_00``).

Unverified ([U] in the reference): the on-disk dtype of ``inst_map`` (any numeric dtype with integer
values is accepted); the four tumour types (GBM, LGG, HNSCC, NSCLC).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from harmonize.datasets import register
from harmonize.datasets._hovernet import HoverNetReader

__all__ = ["CPM17Reader"]


class CPM17Reader(HoverNetReader):
    """Read CPM-17 as HoVer-Net redistributes it (``cpm17/{train,test}/{Images,Labels}``).

    Samples: ids ``train_image_00``; split ``train``/``test``; ``semantic`` uint8 (1 nucleus,
    0 background); ``instance`` int32 (the file's ids, unchanged); ``load_image`` gives RGB uint8
    (an alpha channel, if any, is dropped).
    """

    name = "cpm17"
    split_names = ("train", "test")
    layout_hint = "expected cpm17/{train,test}/Images/image_00.png and Labels/image_00.mat"
    dataset_dir = "cpm17"
    split_dirs: ClassVar[Mapping[str, str]] = {"train": "train", "test": "test"}
    image_suffixes = (".png", ".tif", ".tiff")

    def sample_id(self, split: str, stem: str) -> str:
        return f"{split}_{stem}"


register(
    "cpm17",
    reader=CPM17Reader,
    synthesize="harmonize.lookalike.cpm17:synthesize",
    description="CPM-17 nuclei (HoVer-Net layout: {train,test}/Images/*.png, "
    "Labels/*.mat inst_map)",
)
