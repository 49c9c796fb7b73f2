"""COCO panoptic 2017: reader of the released layout (panoptic_annotations_trainval2017.zip).

Layout (cocodataset/panopticapi README and converters; cocodataset.org/#format-data)::

    annotations/panoptic_train2017.json         COCO dict: images, annotations, categories
    annotations/panoptic_train2017/{012d}.png   one RGB PNG per image (the annotation's file_name)
    annotations/panoptic_val2017.json, annotations/panoptic_val2017/
    train2017/{012d}.jpg, val2017/{012d}.jpg    COCO 2017 images (or images/{split}/)

Each ``annotations`` entry is ``{"image_id", "file_name", "segments_info": [{"id", "category_id",
"iscrowd", "area", "bbox"}, ...]}``. A PNG pixel's segment id is ``R + 256 G + 256^2 B``
(panopticapi ``utils.rgb2id``); 0 is VOID (no segment). ``categories`` are the 133 of
``panoptic_coco_categories.json`` (``id``, ``name``, ``isthing``, ``color``, ``supercategory``).

The reader gives, per annotation (sample id = the PNG's stem, split ``train2017`` / ``val2017``),
in one decode of the PNG:

* ``semantic`` (uint8) = the ``category_id`` of each pixel's segment, 0 on VOID pixels -- as
  panopticapi's ``panoptic2semantic_segmentation`` converter, crowd segments included;
* ``instance`` (int32) = the segment id on the pixels of every thing segment with ``iscrowd = 0``,
  0 elsewhere: stuff segments and crowd regions are no instances (panopticapi's evaluation never
  matches a crowd segment); ``instance_ids`` / ``instance_classes`` = those segments' ids and
  ``category_id``\\ s, straight from ``segments_info``.

Checks, each a typed error naming the file (and the image): the JSON's structure (lists
``images`` / ``annotations`` / ``categories``; integer ids; safe file names); a category that is no
COCO panoptic 2017 category or whose ``isthing`` disagrees (:class:`ClassIdError`); a segment whose
``category_id`` is not in the file's ``categories`` (:class:`ClassIdError`); segment id 0 or a
repeated segment id in ``segments_info``; an annotation of no image, or two for one image; a PNG
that is not RGB, whose size is not the image entry's, holding a segment id that ``segments_info``
does not list, or missing a segment that ``segments_info`` lists (panopticapi's evaluation refuses
the same three); ``iscrowd`` other than 0 / 1.

The look-alike generator is :mod:`harmonize.lookalike.coco_panoptic`. The JSON is parsed once, when
listing; each :class:`~harmonize.types.SampleRef` carries its annotation's segments (``key``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets import _io, register
from harmonize.datasets._coco import coco_images, json_int, read_coco_json
from harmonize.datasets.base import Reader
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    DuplicateSampleError,
    MissingKeyError,
    SizeMismatchError,
)
from harmonize.types import RawSample, SampleRef

__all__ = [
    "SPLITS",
    "STUFF_IDS",
    "THING_IDS",
    "CocoPanopticReader",
    "decode_panoptic",
    "id2rgb",
    "rgb2id",
]

SPLITS: tuple[str, ...] = ("train2017", "val2017")
#: Category ids of the 80 things and 53 stuff classes (panopticapi panoptic_coco_categories.json).
THING_IDS: frozenset[int] = frozenset(
    {*range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70}
    | {*range(72, 83), *range(84, 91)}
)
STUFF_IDS: frozenset[int] = frozenset(
    {92, 93, 95, 100, 107, 109, 112, 118, 119, 122, 125, 128, 130, 133, 138, 141, 144, 145}
    | {147, 148, 149, 151, 154, 155, 156, 159, 161, 166, 168, 171, 175, 176, 177, 178, 180}
    | {181, *range(184, 201)}
)

#: A segment of ``segments_info``: (segment id, category_id, iscrowd).
Segment = tuple[int, int, int]


def rgb2id(rgb: np.ndarray) -> np.ndarray:
    """Segment ids of an ``(H, W, 3)`` uint8 panoptic PNG: ``R + 256 G + 256^2 B`` (uint32)."""
    c = rgb.astype(np.uint32)
    return c[..., 0] | (c[..., 1] << 8) | (c[..., 2] << 16)


def id2rgb(ids: np.ndarray) -> np.ndarray:
    """The inverse of :func:`rgb2id`: ``(H, W)`` ids below 2^24 -> ``(H, W, 3)`` uint8."""
    ids = np.asarray(ids, np.uint32)
    return np.stack([(ids >> s) & 0xFF for s in (0, 8, 16)], axis=-1).astype(np.uint8)


def decode_panoptic(
    rgb: np.ndarray, segments: tuple[Segment, ...], png: Path, json_path: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Semantic and instance maps of one panoptic PNG and its ``segments_info``.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), uint8
        The PNG's pixels.
    segments : tuple of (segment id, category_id, iscrowd)
        The annotation's ``segments_info``, checked for ids and categories when listing.
    png, json_path : Path
        Named in errors.

    Returns
    -------
    semantic : ndarray (H, W) uint8
        ``category_id`` per pixel, 0 on VOID.
    instance : ndarray (H, W) int32
        Segment id on non-crowd thing segments, 0 elsewhere.
    instance_ids, instance_classes : ndarray (K,) int32
        Those segments' ids and categories.
    """
    ids = rgb2id(rgb)
    # entry 0 is VOID; entries 1..K the listed segments, sorted by id (searchsorted: O(N log K))
    order = sorted(segments)
    table = np.array([0, *(sid for sid, _, _ in order)], np.uint32)
    pos = np.minimum(np.searchsorted(table, ids), len(table) - 1)
    bad = table[pos] != ids
    if bad.any():
        unlisted = np.unique(ids[bad])[:5].tolist()
        raise CorruptFileError(
            f"segment id(s) {unlisted} are in the PNG but not in its segments_info in {json_path}",
            path=png,
        )
    seen = np.bincount(pos.ravel(), minlength=len(table))
    missing = [int(table[k]) for k in np.flatnonzero(seen[1:] == 0) + 1]
    if missing:
        raise CorruptFileError(
            f"segments_info lists segment id(s) {missing[:5]} that the PNG does not hold",
            path=png,
        )
    sem_lut = np.array([0, *(cat for _, cat, _ in order)], np.uint8)
    inst_lut = np.array(
        [0, *(sid if cat in THING_IDS and not crowd else 0 for sid, cat, crowd in order)], np.int32
    )
    things = [(sid, cat) for sid, cat, crowd in segments if cat in THING_IDS and not crowd]
    inst_ids = np.array([s for s, _ in things], np.int32)
    inst_cls = np.array([c for _, c in things], np.int32)
    return sem_lut[pos], inst_lut[pos], inst_ids, inst_cls


def _json_path(root: Path, split: str) -> Path:
    return root / "annotations" / f"panoptic_{split}.json"


def _image_dir(root: Path, split: str) -> Path:
    for d in (root / split, root / "images" / split):
        if d.is_dir():
            return d
    return root / split


class CocoPanopticReader(Reader):
    """Read COCO panoptic 2017 (see the module docstring)."""

    name = "coco_panoptic"
    split_names = SPLITS
    layout_hint = (
        "expected annotations/panoptic_{train2017,val2017}.json, "
        "annotations/panoptic_{train2017,val2017}/*.png and {train2017,val2017}/*.jpg"
    )

    def _list(self) -> Iterator[SampleRef]:
        for split in self.split_names:
            if self.splits is not None and split not in self.splits:
                continue
            path = _json_path(self.root, split)
            if path.is_file():
                yield from self._list_file(split, path)

    @staticmethod
    def _categories(doc: Mapping[str, Any], path: Path) -> set[int]:
        cats: set[int] = set()
        for i, c in enumerate(doc["categories"]):
            if not isinstance(c, Mapping):
                raise CorruptFileError(f"categories[{i}] is not a JSON object", path=path)
            cid = json_int(c, "id", path, f"categories[{i}]")
            if cid not in THING_IDS and cid not in STUFF_IDS:
                raise ClassIdError(
                    f"categories[{i}]: id {cid} ({c.get('name')!r}) is no COCO panoptic 2017 "
                    "category",
                    path=path,
                )
            if "isthing" in c and bool(c["isthing"]) != (cid in THING_IDS):
                raise ClassIdError(
                    f"categories[{i}]: id {cid} ({c.get('name')!r}) has isthing {c['isthing']}, "
                    f"but it is a {'thing' if cid in THING_IDS else 'stuff'} category",
                    path=path,
                )
            cats.add(cid)
        return cats

    @staticmethod
    def _images(doc: Mapping[str, Any], path: Path) -> dict[int, tuple[str, int, int]]:
        return {iid: (name, h, w) for iid, name, h, w in coco_images(doc, path)}

    @staticmethod
    def _segments(ann: Mapping[str, Any], cats: set[int], path: Path, what: str) -> list[Segment]:
        infos = ann.get("segments_info")
        if not isinstance(infos, list):
            raise MissingKeyError(f"{what} has no list 'segments_info'", path=path)
        out: list[Segment] = []
        seen: set[int] = set()
        for j, s in enumerate(infos):
            if not isinstance(s, Mapping):
                raise CorruptFileError(f"{what}: segments_info[{j}] is not an object", path=path)
            sid = json_int(s, "id", path, f"{what} segments_info[{j}]")
            cat = json_int(s, "category_id", path, f"{what} segment {sid}")
            crowd = json_int(s, "iscrowd", path, f"{what} segment {sid}") if "iscrowd" in s else 0
            if not 0 < sid < 1 << 24:
                raise CorruptFileError(
                    f"{what}: segment id {sid} is not 1..2^24-1 (0 is VOID)", path=path
                )
            if sid in seen:
                raise CorruptFileError(f"{what}: segment id {sid} is listed twice", path=path)
            if cat not in cats:
                raise ClassIdError(
                    f"{what} segment {sid}: category_id {cat} is not in the file's categories",
                    path=path,
                )
            if crowd not in (0, 1):
                raise CorruptFileError(
                    f"{what} segment {sid}: iscrowd must be 0 or 1, not {crowd}", path=path
                )
            seen.add(sid)
            out.append((sid, cat, crowd))
        return out

    def _list_file(self, split: str, path: Path) -> Iterator[SampleRef]:
        doc = read_coco_json(path)
        cats = self._categories(doc, path)
        images = self._images(doc, path)
        png_dir = path.with_suffix("")  # annotations/panoptic_{split}/
        image_dir = _image_dir(self.root, split)
        refs: dict[str, SampleRef] = {}
        annotated: dict[int, str] = {}
        for i, a in enumerate(doc["annotations"]):
            if not isinstance(a, Mapping):
                raise CorruptFileError(f"annotations[{i}] is not a JSON object", path=path)
            iid = json_int(a, "image_id", path, f"annotations[{i}]")
            what = f"annotation of image {iid}"
            name = a.get("file_name")
            if not isinstance(name, str):
                raise MissingKeyError(f"{what} has no 'file_name'", path=path)
            _io.check_sample_id(name, path)
            if iid not in images:
                raise CorruptFileError(f"{what}: image_id {iid} is no image of the file", path=path)
            if iid in annotated:
                raise DuplicateSampleError(
                    f"image {iid} has two annotations ({annotated[iid]}, {name})", path=path
                )
            annotated[iid] = name
            segments = self._segments(a, cats, path, what)
            image, h, w = images[iid]
            stem = Path(name).stem
            refs[stem] = SampleRef(
                dataset=self.name,
                sample_id=stem,
                split=split,
                paths=(str(image_dir / image), str(png_dir / name), str(path)),
                key=(h, w, tuple(segments)),
                meta={"image_id": iid, "file_name": image},
            )
        for stem in sorted(refs):
            yield refs[stem]

    def peek_shape(self, ref: SampleRef) -> tuple[int, int]:
        """``(height, width)`` of the image entry (no decoding)."""
        return int(ref.key[0]), int(ref.key[1])

    def read(self, ref: SampleRef) -> RawSample:
        h, w, segments = ref.key
        image, png, json_path = (Path(p) for p in ref.paths)
        _io.check_label_file(png, "panoptic PNG")
        rgb = _io.read_image_rgb(png)
        if rgb.shape[:2] != (h, w):
            raise SizeMismatchError(
                f"panoptic PNG is {rgb.shape[:2]} (H, W) but its image entry in {json_path} "
                f"says {(h, w)}",
                path=png,
            )
        semantic, instance, inst_ids, inst_cls = decode_panoptic(rgb, segments, png, json_path)
        return RawSample(
            ref=ref,
            semantic=semantic,
            instance=instance,
            instance_ids=inst_ids,
            instance_classes=inst_cls,
            meta=dict(ref.meta),
            load_image=self.image_loader(image, semantic.shape, png),
        )


register(
    "coco_panoptic",
    reader=CocoPanopticReader,
    synthesize="harmonize.lookalike.coco_panoptic:synthesize",
    description="COCO panoptic 2017 (panoptic_{train,val}2017.json + RGB segment-id PNGs; 133)",
)
