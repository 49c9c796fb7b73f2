"""SUN RGB-D, 37-class PNG release (``sun_rgbd.tgz``): the generic layout reader, and two quirks.

Layout (chrischoy/SUN_RGBD README.md and train37.txt / test37.txt; what MSeg's
``download_scripts/mseg_download_sunrgbd.sh`` downloads and extracts in place)::

    image/train/img-000001.jpg ... img-005285.jpg      label37/train/00000001.png ... 00005285.png
    image/test/img-000001.jpg  ... img-005050.jpg      label37/test/00000001.png  ... 00005050.png

MSeg's script then renames ``label37/`` to ``label38/`` (the same files); either folder is read.
A label PNG is single-channel, value = class id: 0 unlabeled, 1..37 as ``seg37list.mat``
(``taxonomies/datasets/sunrgbd.yaml``). The taxonomy's ``layout:`` block declares the folders and
the encoding, read by :class:`~harmonize.datasets.layout.LayoutReader`; this module adds what a
path template cannot say:

* a sample's image is named by its number with another width and a prefix: label ``%08d.png``
  goes with image ``img-%06d.jpg`` (the number, not the file stem, is shared);
* both splits number from 1, so the sample id is ``<split>_img-%06d`` (unique over the splits);
* the label PNGs' bit depth is stated by no source [U]: 8- and 16-bit files are both read, a
  16-bit file holding a value above 255 is refused.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from harmonize.datasets import _io, register
from harmonize.datasets.layout import LayoutReader
from harmonize.errors import CorruptFileError, ShapeError
from harmonize.types import SampleRef

__all__ = ["SPLITS", "SunrgbdReader", "image_stem", "label_stem", "sample_id"]

SPLITS: tuple[str, ...] = ("train", "test")
#: A label file's stem: the sample number, 8 digits (train37.txt: label37/train/00000001.png).
_LABEL_STEM = re.compile(r"^[0-9]{8}$")


def label_stem(index: int) -> str:
    """The label file stem of sample ``index`` (1-based): ``%08d``."""
    return f"{index:08d}"


def image_stem(index: int) -> str:
    """The image file stem of sample ``index`` (1-based): ``img-%06d``."""
    return f"img-{index:06d}"


def sample_id(split: str, index: int) -> str:
    """harmonize's sample id of sample ``index`` of ``split`` (both splits number from 1)."""
    return f"{split}_{image_stem(index)}"


class SunrgbdReader(LayoutReader):
    """sun_rgbd.tgz's ``image/`` and ``label37/`` folders (see the module docstring)."""

    name = "sunrgbd"

    def _list(self) -> Iterator[SampleRef]:
        for ref in super()._list():
            label = Path(ref.paths[1])
            if not _LABEL_STEM.match(label.stem):
                raise CorruptFileError(
                    "label file name is not the sample number in 8 digits (%08d.png, as "
                    "label37/train/00000001.png); cannot tell which image it labels",
                    path=label,
                )
            index = int(label.stem)
            img = Path(ref.paths[0])
            img = img.with_name(img.name.replace(label.stem, image_stem(index), 1))
            yield dataclasses.replace(
                ref,
                sample_id=sample_id(ref.split, index),
                paths=(str(img), *ref.paths[1:]),
                meta={**ref.meta, "index": index},
            )

    def _read_semantic(self, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
        raw = _io.read_label_png(path, dtypes=(np.uint8, np.uint16))
        if raw.dtype == np.uint16:
            top = int(raw.max(initial=0))
            if top > 255:
                raise ShapeError(
                    f"16-bit label PNG holds value {top}; SUN RGB-D's 37-class labels are 0..37",
                    path=path,
                )
            raw = raw.astype(np.uint8)
        return raw, None


register(
    "sunrgbd",
    reader=SunrgbdReader,
    synthesize="harmonize.lookalike.sunrgbd:synthesize",
    description="SUN RGB-D 37-class PNG release (sun_rgbd.tgz: image/, label37/; 0 unlabeled)",
)
