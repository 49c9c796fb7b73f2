"""IDD (India Driving Dataset, segmentation part; AutoNUE/public-code): reader of the native layout.

The look-alike generator is :mod:`harmonize.lookalike.idd`.

Layout as released (Cityscapes-style folders, city folders named by number)::

    {root}/leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png     RGB (train, val, test)
    {root}/gtFine/{split}/{city}/{stem}_gtFine_polygons.json     polygons (train, val)

The label PNGs are not shipped: users write them with AutoNUE's ``preperation/createLabels.py``
(``_label{id_type}s.png``, ``--id-type level3Id`` by default). Those PNGs hold one level of the
label hierarchy (level1Ids .. level4Ids are many-to-one merges of the label ``id``), so the reader
reads what they are made from: the polygons, rasterized as AutoNUE's ``json2instanceImg.py`` /
``json2labelImg.py`` do (the Cityscapes rules of :func:`harmonize.datasets.cityscapes.draw_plan`
over ``helpers/anue_labels.py``): PIL ``ImageDraw.polygon`` in file order, later objects on top,
background 35 (``unlabeled``), deleted objects skipped, an unknown label ending in ``group``
stripped of the suffix and drawn with the plain id, polygons of fewer than 3 points not drawn, and
``id*1000+k`` for individual objects of labels with instances, ``k`` counted per **level3Id** (so
caravan, trailer, train and vehicle fallback share one counter), as ``json2instanceImg`` does.
An unknown label is a :class:`~harmonize.errors.ClassIdError` naming the file (AutoNUE prints
and goes on in ``json2labelImg``, then fails on an undefined ``tqdm``).

Per frame: ``semantic`` = the label ids 0..39 (uint8); ``instance`` = the ``id*1000+k`` values
(uint16) where an object was drawn, 0 elsewhere; ``instance_classes`` = ``value // 1000``. The
level ids are attributes of each class in ``taxonomies/datasets/idd.yaml``.

Deviation: ``json2instanceImg`` also draws 2-point polygons (as lines) into the instance image,
``json2labelImg`` does not; the reader follows the label image (both counters advance).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._io import read_json
from harmonize.datasets.base import Reader
from harmonize.datasets.cityscapes import Label, rasterize_instance_ids
from harmonize.errors import MissingFileError
from harmonize.types import RawSample, SampleRef

__all__ = ["BACKGROUND", "LABELS", "LEVEL3", "IddReader", "rasterize"]

#: ``helpers/anue_labels.py`` (AutoNUE/public-code, commit 5d9a93b): name, id, hasInstances,
#: colour, in file order; level3Id per label in :data:`LEVEL3`. A copy: readers never import the
#: taxonomy package; ``tests/datasets/test_idd.py`` checks it against ``taxonomies/datasets/idd.yaml``.
LABELS: tuple[Label, ...] = (
    Label("road", 0, False, (128, 64, 128)),
    Label("parking", 1, False, (250, 170, 160)),
    Label("drivable fallback", 2, False, (81, 0, 81)),
    Label("sidewalk", 3, False, (244, 35, 232)),
    Label("rail track", 4, False, (230, 150, 140)),
    Label("non-drivable fallback", 5, False, (152, 251, 152)),
    Label("person", 6, True, (220, 20, 60)),
    Label("animal", 7, True, (246, 198, 145)),
    Label("rider", 8, True, (255, 0, 0)),
    Label("motorcycle", 9, True, (0, 0, 230)),
    Label("bicycle", 10, True, (119, 11, 32)),
    Label("autorickshaw", 11, True, (255, 204, 54)),
    Label("car", 12, True, (0, 0, 142)),
    Label("truck", 13, True, (0, 0, 70)),
    Label("bus", 14, True, (0, 60, 100)),
    Label("caravan", 15, True, (0, 0, 90)),
    Label("trailer", 16, True, (0, 0, 110)),
    Label("train", 17, True, (0, 80, 100)),
    Label("vehicle fallback", 18, True, (136, 143, 153)),
    Label("curb", 19, False, (220, 190, 40)),
    Label("wall", 20, False, (102, 102, 156)),
    Label("fence", 21, False, (190, 153, 153)),
    Label("guard rail", 22, False, (180, 165, 180)),
    Label("billboard", 23, False, (174, 64, 67)),
    Label("traffic sign", 24, False, (220, 220, 0)),
    Label("traffic light", 25, False, (250, 170, 30)),
    Label("pole", 26, False, (153, 153, 153)),
    Label("polegroup", 27, False, (153, 153, 153)),
    Label("obs-str-bar-fallback", 28, False, (169, 187, 214)),
    Label("building", 29, False, (70, 70, 70)),
    Label("bridge", 30, False, (150, 100, 100)),
    Label("tunnel", 31, False, (150, 120, 90)),
    Label("vegetation", 32, False, (107, 142, 35)),
    Label("sky", 33, False, (70, 130, 180)),
    Label("fallback background", 34, False, (169, 187, 214)),
    Label("unlabeled", 35, False, (0, 0, 0)),
    Label("ego vehicle", 36, False, (0, 0, 0)),
    Label("rectification border", 37, False, (0, 0, 0)),
    Label("out of roi", 38, False, (0, 0, 0)),
    Label("license plate", 39, False, (0, 0, 142)),
)
#: level3Id of each label (the instance counter key of ``json2instanceImg``).
LEVEL3: dict[str, int] = dict(
    zip(
        (lab.name for lab in LABELS),
        (0, 1, 1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19,
         20, 20, 21, 22, 23, 23, 24, 25, 25, 255, 255, 255, 255, 255),
        strict=True,
    )
)  # fmt: skip
NAME2LABEL: dict[str, Label] = {lab.name: lab for lab in LABELS}
#: ``unlabeled``'s id: the value of every pixel no polygon covers.
BACKGROUND = NAME2LABEL["unlabeled"].id
_TABLE = "an IDD label (AutoNUE helpers/anue_labels.py)"
_LABEL_FILE = re.compile(r"^(?P<stem>.+)_gtFine_polygons\.json$")


def rasterize(doc: Any, path: str | os.PathLike[str]) -> np.ndarray:
    """The instance-encoded map (uint16, ``id*1000+k`` or the plain id) of a parsed IDD polygon
    file, drawn as AutoNUE does (see the module docstring)."""
    return rasterize_instance_ids(
        doc,
        path,
        background=BACKGROUND,
        labels=NAME2LABEL,
        counter_key=LEVEL3,
        min_points=3,
        table=_TABLE,
    )


class IddReader(Reader):
    """Read IDD's ``gtFine`` polygons (splits train, val) with their ``leftImg8bit`` images.

    Sample ids are ``{city}_{stem}`` (a frame stem such as ``005506`` is only unique within its
    numbered city folder [U: whether stems repeat across folders]); ``meta`` holds ``city`` and
    ``frame``.
    """

    name = "idd"
    split_names = ("train", "val")
    layout_hint = (
        "expected {root}/gtFine/{split}/{city}/{stem}_gtFine_polygons.json and "
        "{root}/leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png"
    )

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        if options:
            raise TypeError(f"{self.name} reader: unknown option(s) {sorted(options)}; known: none")
        return {}

    def _list(self) -> Iterator[SampleRef]:
        ann = self.root / "gtFine"
        if not ann.is_dir():
            raise MissingFileError(
                f"no gtFine/ folder under the {self.name} root ({self.layout_hint})", path=ann
            )
        wanted = self.splits if self.splits is not None else self.split_names
        for split in (s for s in self.split_names if s in wanted):
            d = ann / split
            if not d.is_dir():
                continue
            for city in sorted(e.name for e in os.scandir(d) if e.is_dir()):
                for name in sorted(os.listdir(d / city)):
                    m = _LABEL_FILE.match(name)
                    if m is None:
                        continue
                    stem = m["stem"]
                    img = self.root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
                    yield SampleRef(
                        dataset=self.name,
                        sample_id=f"{city}_{stem}",
                        split=split,
                        paths=(str(img), str(d / city / name)),
                        key=(split, city, stem),
                        meta={"city": city, "frame": stem},
                    )

    def read(self, ref: SampleRef) -> RawSample:
        from harmonize.engine.kernels import split_encoded

        img_p, json_p = Path(ref.paths[0]), Path(ref.paths[1])
        encoded = rasterize(read_json(json_p), json_p)
        semantic, instance, counts = split_encoded(encoded, 1000)
        values = np.flatnonzero(counts)
        ids = values[values >= 1000].astype(np.int64)
        return RawSample(
            ref=ref,
            semantic=semantic,
            instance=instance,
            instance_ids=ids,
            instance_classes=(ids // 1000).astype(np.int32),
            meta=dict(ref.meta),
            load_image=self.image_loader(img_p, semantic.shape, json_p),
        )


register(
    "idd",
    reader=IddReader,
    synthesize="harmonize.lookalike.idd:synthesize",
    description="IDD segmentation: gtFine polygons rasterized as AutoNUE's createLabels.py does",
)
