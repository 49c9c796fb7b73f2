"""CityPersons: pedestrian boxes attached to Cityscapes frames (scene_datasets.md §1.8).

Layout: a Cityscapes root (see :mod:`harmonize.datasets.cityscapes`) plus::

    {root}/gtBboxCityPersons/{split}/{city}/{stem}_gtBboxCityPersons.json

    {"imgHeight": 1024, "imgWidth": 2048,
     "objects": [{"label": "pedestrian", "bbox": [x, y, w, h], "bboxVis": [x, y, w, h],
                  "instanceId": 24000}, ...]}

Boxes are ``(x, y, w, h)`` with ``(x, y)`` the top-left corner; ``bbox`` is the full-body box and
``bboxVis`` the visible part (derived from the segmentation masks). Labels
(``cityscapesscripts/helpers/labels_cityPersons.py``): ignore 0, pedestrian 1, rider 2, sitting
person 3, person (other) 4, person group 5.

The reader yields the frames that have a box file, with the Cityscapes semantic / instance maps of
that frame (read by :class:`~harmonize.datasets.cityscapes.CityscapesReader`, so ``semantic`` is in
Cityscapes label ids) and the boxes as a :data:`~harmonize.types.BOX_DTYPE` table: ``label`` is the
CityPersons label id and ``instance_id`` the file's ``instanceId``.

Unverified [U]: that ``instanceId`` is the Cityscapes instanceIds value of the person (inferred
from its values, e.g. 24000); what ``instanceId`` ignore regions and person groups carry (the
generator writes 0); the key order of the released JSON files.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._io import read_json
from harmonize.datasets.cityscapes import CityscapesReader
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.types import BOX_DTYPE, RawSample, SampleRef

__all__ = ["BOX_LABELS", "CityPersonsReader", "read_boxes"]

#: ``labels_cityPersons.py``: name -> id (a copy; a test checks it against cityscapesscripts).
BOX_LABELS: dict[str, int] = {
    "ignore": 0,
    "pedestrian": 1,
    "rider": 2,
    "sitting person": 3,
    "person (other)": 4,
    "person group": 5,
}
BOX_FOLDER = "gtBboxCityPersons"


def _xywh(value: Any, key: str, i: int, path: Path) -> tuple[float, float, float, float]:
    ok = (
        isinstance(value, (list, tuple))
        and len(value) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )
    if not ok:
        raise ShapeError(
            f"object #{i}: {key!r} must be 4 numbers [x, y, w, h], got {value!r}", path=path
        )
    x, y, w, h = (float(v) for v in value)
    return x, y, w, h


def read_boxes(path: str | os.PathLike[str], shape: tuple[int, int] | None = None) -> np.ndarray:
    """Parse a ``*_gtBboxCityPersons.json`` file into a box table.

    Parameters
    ----------
    path : path-like
        The JSON file.
    shape : (int, int), optional
        ``(H, W)`` of the frame; ``imgHeight`` / ``imgWidth`` must match it.

    Returns
    -------
    ndarray of :data:`~harmonize.types.BOX_DTYPE`, shape (N,)
        One row per object in file order: ``instance_id`` = ``instanceId`` (0 when absent),
        ``label`` = CityPersons label id, ``x, y, w, h`` = ``bbox`` and ``vis_*`` = ``bboxVis``
        (equal to ``bbox`` when absent), in pixels.
    """
    p = Path(path)
    doc = read_json(p)
    if not isinstance(doc, Mapping):
        raise CorruptFileError("top level of a CityPersons file must be a JSON object", path=p)
    for key in ("imgHeight", "imgWidth", "objects"):
        if key not in doc:
            raise MissingKeyError(f"missing key {key!r} (keys present: {sorted(doc)})", path=p)
    try:
        hw = (int(doc["imgHeight"]), int(doc["imgWidth"]))
    except (TypeError, ValueError) as exc:
        raise CorruptFileError(f"imgHeight/imgWidth are not integers ({exc})", path=p) from exc
    if shape is not None and hw != tuple(shape):
        raise SizeMismatchError(
            f"imgHeight x imgWidth is {hw[0]}x{hw[1]} but the frame is {shape[0]}x{shape[1]}",
            path=p,
        )
    objects = doc["objects"]
    if not isinstance(objects, list):
        raise CorruptFileError("'objects' must be a JSON list", path=p)
    out = np.zeros(len(objects), dtype=BOX_DTYPE)
    for i, obj in enumerate(objects):
        if not isinstance(obj, Mapping):
            raise CorruptFileError(f"object #{i} is not a JSON object", path=p)
        for key in ("label", "bbox"):
            if key not in obj:
                raise MissingKeyError(f"object #{i} has no {key!r} key", path=p)
        label = str(obj["label"])
        if label not in BOX_LABELS:
            raise ClassIdError(
                f"object #{i}: label {label!r} is not a CityPersons label ({sorted(BOX_LABELS)})",
                path=p,
            )
        box = _xywh(obj["bbox"], "bbox", i, p)
        vis = _xywh(obj.get("bboxVis", obj["bbox"]), "bboxVis", i, p)
        iid = obj.get("instanceId", 0)
        if not isinstance(iid, int) or isinstance(iid, bool):
            raise CorruptFileError(f"object #{i}: instanceId {iid!r} is not an integer", path=p)
        out[i] = (iid, BOX_LABELS[label], *box, *vis)
    return out


class CityPersonsReader(CityscapesReader):
    """Cityscapes frames that have a CityPersons box file, with their box table.

    Takes the options of :class:`~harmonize.datasets.cityscapes.CityscapesReader`
    (``annotations``, ``source``). A box file whose Cityscapes frame is missing is listed anyway,
    so that reading it fails (or is skipped and counted) rather than vanishing.
    """

    name = "citypersons"
    split_names = ("train", "val")
    layout_hint = (
        "expected a Cityscapes root (leftImg8bit/, gtFine/) with "
        "gtBboxCityPersons/{split}/{city}/{stem}_gtBboxCityPersons.json"
    )

    def box_path(self, split: str, city: str, stem: str) -> Path:
        """``{root}/gtBboxCityPersons/{split}/{city}/{stem}_gtBboxCityPersons.json``."""
        return self.root / BOX_FOLDER / split / city / f"{stem}_{BOX_FOLDER}.json"

    def _box_keys(self) -> list[tuple[str, str, str]]:
        suffix = f"_{BOX_FOLDER}.json"
        keys: list[tuple[str, str, str]] = []
        for split in self._scan_splits():
            split_dir = self.root / BOX_FOLDER / split
            if not split_dir.is_dir():
                continue
            for city in sorted(e.name for e in os.scandir(split_dir) if e.is_dir()):
                stems = sorted(
                    e.name[: -len(suffix)]
                    for e in os.scandir(split_dir / city)
                    if e.name.endswith(suffix)
                )
                keys.extend((split, city, s) for s in stems)
        return keys

    def _list(self) -> Iterator[SampleRef]:
        keys = self._box_keys()
        if not keys:
            return
        frames = {ref.key[:3]: ref for ref in super()._list()}
        for split, city, stem in keys:
            box = str(self.box_path(split, city, stem))
            ref = frames.get((split, city, stem))
            if ref is None:  # no Cityscapes labels: listed so that reading reports what is missing
                seq, frame = stem.split("_")[-2:] if stem.count("_") >= 2 else ("", "")
                ref = SampleRef(
                    dataset=self.name,
                    sample_id=stem,
                    split=split,
                    paths=(
                        str(self.image_path(split, city, stem)),
                        str(self.label_path(split, city, stem, "labelIds.png")),
                    ),
                    key=(split, city, stem, "png"),
                    meta={"city": city, "seq": seq, "frame": frame, "source": "png"},
                )
            yield dataclasses.replace(ref, paths=(*ref.paths, box))

    def read(self, ref: SampleRef) -> RawSample:
        sample = super().read(ref)
        split, city, stem, _ = ref.key
        boxes = read_boxes(self.box_path(split, city, stem), sample.shape)
        return dataclasses.replace(sample, boxes=boxes)


register(
    "citypersons",
    reader=CityPersonsReader,
    synthesize="harmonize.lookalike.citypersons:synthesize",
    description="CityPersons gtBboxCityPersons boxes on Cityscapes frames (semantic in Cityscapes ids)",
    taxonomy="cityscapes",
)
