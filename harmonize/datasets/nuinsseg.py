"""NuInsSeg (H&E nuclei instance segmentation, 31 human and mouse organs), class-less.

Layout (masih4/NuInsSeg ``code/manual_masks_generator/masks_generator.m`` @554543d for the folder
names and dtypes; torch-em ``histopathology/nuinsseg.py`` for ``tissue images/*.png`` with
``label masks modify/*.tif`` as the instance labels)::

    <organ>/tissue images/<stem>.png              RGB (RGBA in some copies [U]; alpha dropped)
    <organ>/label masks modify/<stem>.tif         uint16 instance map, 0 = background (read)
    <organ>/vague areas/mask binary/<stem>.png    ambiguous regions, 0 / 255 (read) [U]
    <organ>/label masks/, mask binary/, mask binary without border[ erode]/, distance maps/,
    weighted_maps[_erode]/, stacked mask/, overlay_save_path/, Imagj_zips/   (not read)

``<organ>`` is a folder per organ and species ("human bladder", "mouse kidney", ... [U] exact
names), directly under the root (the Kaggle archive's top level). Images are 512x512.

Instance map: ``label masks modify`` is the one the authors say to evaluate on ("the overlapped
region is assigned to one of the instances"; ``masks_generator.m`` keeps ``max(n_num * mask,
...)``, so the later ROI wins an overlap, and writes ``imwrite(uint16(...))``). ``label masks``
sums overlapping ROIs into new values and is not an instance map; it is not read.

Ambiguous ("vague") areas: regions where the annotators could not segment nuclei reliably
(README, "Manual ambiguous area annotation"). The masks are not written by ``masks_generator.m``;
their folder is ``vague areas/mask binary/`` in third-party loaders, ``vague areas/mask
binary_vague/`` in one [U]; both are looked for, in that order. Nonzero = vague. A sample without
its vague-area mask is a :class:`~harmonize.errors.MissingFileError` naming the path looked for
(every image has one in the release [U]); values other than 0, 1 and 255 are a
:class:`~harmonize.errors.CorruptFileError`.

Native values (semantic): 0 background, 1 nucleus (instance pixels), 255 vague area (pixels of the
vague mask outside every instance: an outlined nucleus keeps its pixels, the vague mask only marks
what was left unannotated). No classes: every instance is class 1.

Samples are listed from ``label masks modify/*.tif`` (so a label-only copy reads without the
images); an image without a label mask is not a sample. Sample id ``<organ>_<stem>`` with the
organ folder's whitespace replaced by ``_`` (stems are not known to be unique across organs [U]).
Split: none official (the README recommends a 5-fold ``KFold(random_state=19, shuffle=True)`` over
the image list, whose order it does not fix); every sample is in split ``train``. Metadata:
``organ`` (folder name as written), ``species`` (its first word, ``human`` or ``mouse`` [U]).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._hovernet import label_array
from harmonize.datasets._io import check_same_size, read_label_png, read_label_tiff
from harmonize.datasets.base import Reader
from harmonize.errors import CorruptFileError, MissingFileError
from harmonize.types import RawSample, SampleRef

__all__ = ["IMAGE_DIR", "LABEL_DIR", "NUCLEUS", "VAGUE", "VAGUE_DIRS", "NuInsSegReader"]

IMAGE_DIR = "tissue images"
LABEL_DIR = "label masks modify"
#: Vague-area mask folders, first found wins ([U] which one the release uses).
VAGUE_DIRS = ("vague areas/mask binary", "vague areas/mask binary_vague")
BACKGROUND, NUCLEUS, VAGUE = 0, 1, 255
SPLIT = "train"


def sample_id(organ: str, stem: str) -> str:
    """``<organ>_<stem>``, whitespace in the organ folder name replaced by ``_``."""
    return f"{re.sub(r'\s+', '_', organ.strip())}_{stem}"


class NuInsSegReader(Reader):
    """Reader of the NuInsSeg release (see the module docstring)."""

    name = "nuinsseg"
    split_names = (SPLIT,)
    layout_hint = (
        "expected <organ>/tissue images/*.png, <organ>/label masks modify/*.tif and "
        "<organ>/vague areas/mask binary/*.png"
    )

    def _list(self) -> Iterator[SampleRef]:
        organs = sorted(d for d in self.root.iterdir() if (d / LABEL_DIR).is_dir())
        for organ in organs:
            for label in sorted((organ / LABEL_DIR).glob("*.tif")):
                stem = label.stem
                image = organ / IMAGE_DIR / f"{stem}.png"
                vague = next(
                    (organ / d / f"{stem}.png" for d in VAGUE_DIRS if (organ / d).is_dir()),
                    organ / VAGUE_DIRS[0] / f"{stem}.png",
                )
                paths = [image] if image.is_file() else []
                paths += [label, *([vague] if vague.is_file() else [])]
                yield SampleRef(
                    dataset=self.name,
                    sample_id=sample_id(organ.name, stem),
                    split=SPLIT,
                    paths=tuple(str(p) for p in paths),
                    key=(str(image), str(label), str(vague)),
                    meta={"organ": organ.name, "species": organ.name.split()[0].lower()},
                )

    def read(self, ref: SampleRef) -> RawSample:
        image, label, vague = (Path(p) for p in ref.key)
        inst = label_array(read_label_tiff(label, "instance mask"), label, "instance mask")
        if not vague.is_file():
            raise MissingFileError(
                f"vague-area mask of {ref.sample_id} not found (looked in "
                f"{' and '.join(repr(d) for d in VAGUE_DIRS)})",
                path=vague,
            )
        amb = read_label_png(vague, dtypes=(np.uint8,))
        check_same_size(inst.shape, amb.shape, vague, "instance mask and vague-area mask")
        bad = sorted(set(np.unique(amb).tolist()) - {0, 1, 255})
        if bad:
            raise CorruptFileError(
                f"vague-area mask holds {bad[:10]}; a binary mask holds 0 and 255 (or 1)",
                path=vague,
            )
        semantic = np.where(inst > 0, NUCLEUS, np.where(amb > 0, VAGUE, BACKGROUND))
        ids = np.unique(inst)
        ids = ids[ids != 0].astype(np.int32)
        load_image = self.image_loader(image, inst.shape, label) if self.images else None
        return RawSample(
            ref=ref,
            semantic=semantic.astype(np.uint8),
            instance=inst,
            instance_ids=ids,
            instance_classes=np.full(len(ids), NUCLEUS, np.int32),
            meta=dict(ref.meta),
            load_image=load_image,
        )


register(
    "nuinsseg",
    reader=NuInsSegReader,
    synthesize="harmonize.lookalike.nuinsseg:synthesize",
    description="NuInsSeg: per-organ 'tissue images/*.png', 'label masks modify/*.tif' "
    "(uint16 instances), vague areas as ambiguous; class-less",
)
