"""COCO-Stuff stuff-only JSON annotations (COCO format, RLE): reader and look-alike generator.

Layout (reference: scene_datasets.md §3.1, §3.5)::

    annotations/stuff_train2017.json            stuff_trainval2017.zip (or at the root itself)
    annotations/stuff_val2017.json
    images/{train2017,val2017}/000000xxxxxx.jpg  COCO 2017 images (or {root}/{train2017,val2017})

Each JSON file is a COCO dict (``info``, ``licenses``, ``images``, ``categories``,
``annotations``). ``categories`` are the 91 stuff classes 92..182 plus 183 ``other`` (supercategory
``other``). There is one annotation per (image, class present): ``{"id", "image_id",
"category_id", "segmentation": {"size": [h, w], "counts": "<compressed RLE>"}, "area", "bbox",
"iscrowd": 0}``, annotation ids from 1e7 (train) and 2e7 (val); ``other`` covers every pixel of a
COCO thing annotation (things merged, ``cocostuffhelper``); pixels no annotation covers are
unlabeled and get no annotation.

The reader gives, per image (sample id = the file stem, split ``train2017`` / ``val2017``):

* ``semantic`` (uint8) = the ``category_id`` of the annotation covering each pixel (92..183), 0
  where none does, decoded with ``pycocotools.mask`` (compressed RLE, uncompressed RLE and
  polygons, as ``COCO.annToMask``). The values are read through the taxonomy encoding
  ``stuff_json`` of the ``coco_stuff`` taxonomy: ids as they are, and 183 ``other`` as unlabeled
  (the thing's class is not given; the stuff-only files say only that the pixel is no stuff).
* no instances (the stuff-only files carry none).

Checks (each a typed error naming the JSON file and the image or annotation id): an image entry
without ``id`` / ``file_name`` / ``height`` / ``width`` or with an unsafe file name; an annotation
whose ``image_id`` is no image of the file, whose ``category_id`` is not in the file's
``categories`` (or not 92..183), whose RLE ``size`` is not the image's ``[height, width]``, whose
RLE does not decode, or whose pixels overlap another annotation of the same image (the files are
made from one label map per image: an overlap means a broken file, and refusing beats guessing
which class wins).

The look-alike generator is :mod:`harmonize.lookalike.coco_stuff_json`. The JSON is parsed once,
when listing; each :class:`~harmonize.types.SampleRef` carries its image's
annotations (``key``), so reading a sample (in any worker) never parses the file again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets import register
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
    "ANN_BASE",
    "OTHER",
    "SPLITS",
    "STUFF_IDS",
    "CocoStuffJsonReader",
    "decode_annotations",
    "rle_runs",
]

#: The stuff category ids (92..182) and 183 ``other`` (all things merged), as in the JSON files.
STUFF_IDS: tuple[int, ...] = tuple(range(92, 183))
OTHER = 183
_VALID = frozenset((*STUFF_IDS, OTHER))
SPLITS: tuple[str, ...] = ("train2017", "val2017")
#: First annotation id per split (§3.5: 1e7 train2017, 2e7 val2017).
ANN_BASE = {"train2017": 10_000_000, "val2017": 20_000_000}


def _json_path(root: Path, split: str) -> Path | None:
    for d in (root / "annotations", root):
        p = d / f"stuff_{split}.json"
        if p.is_file():
            return p
    return None


def _image_dir(root: Path, split: str) -> Path:
    for d in (root / "images" / split, root / split):
        if d.is_dir():
            return d
    return root / "images" / split


def rle_runs(counts: bytes) -> list[int]:
    """Run lengths of a compressed COCO RLE ``counts`` string.

    The format of pycocotools' ``rleToString``: each run is a signed number in 5-bit groups (0x20 =
    more groups follow, 0x10 in the last group = negative), offset by 48 to printable ASCII; from
    the third run on, the stored number is the difference to the run two before. pycocotools has no
    call that returns the runs without decoding the mask, which is what this checks first.

    >>> rle_runs(b"42102")  # a 3x4 mask, column by column: 4 zeros, 2 ones, 1 zero, 2 ones, 3 zeros
    [4, 2, 1, 2, 3]
    """
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x = k = 0
        more = True
        while more:
            if p >= len(counts):
                raise ValueError("RLE counts end inside a run")
            c = counts[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def decode_annotations(
    anns: tuple[tuple[int, int, Any], ...], shape: tuple[int, int], path: str | Path, image: str
) -> np.ndarray:
    """Paint one image's annotations into a ``category_id`` map (uint8, 0 = no annotation).

    Parameters
    ----------
    anns : tuple of (annotation id, category_id, segmentation)
        The image's annotations in file order.
    shape : (H, W)
        The image entry's ``height`` and ``width``.
    path : path-like
        The JSON file (named in errors).
    image : str
        The image's file name (named in errors).

    Returns
    -------
    ndarray, shape (H, W), uint8
    """
    from pycocotools import mask as cocomask

    p = Path(path)
    h, w = shape
    out = np.zeros(shape, np.uint8)
    for ann_id, cat, seg in anns:
        what = f"annotation {ann_id} (image {image})"
        try:
            if isinstance(seg, list):  # polygons
                rle = cocomask.merge(cocomask.frPyObjects(seg, h, w))
            elif isinstance(seg, Mapping) and "counts" in seg and "size" in seg:
                size = seg["size"]
                if not isinstance(size, list) or [int(x) for x in size] != [h, w]:
                    raise SizeMismatchError(
                        f"{what}: RLE size {size} is not the image's [height, width] {[h, w]}",
                        path=p,
                    )
                counts = seg["counts"]
                if isinstance(counts, list):  # uncompressed RLE
                    runs = [int(c) for c in counts]
                    # an uncompressed RLE (list counts) is valid input; the stubs miss it
                    rle = cocomask.frPyObjects(dict(seg), h, w)  # type: ignore[call-overload]
                elif isinstance(counts, str):
                    runs = rle_runs(counts.encode("ascii"))
                    rle = {"size": [h, w], "counts": counts.encode("ascii")}
                else:
                    raise CorruptFileError(f"{what}: RLE counts must be a string or list", path=p)
                # pycocotools decodes runs that cover fewer pixels than h*w into a buffer whose
                # rest it leaves uninitialised: refuse such an RLE before decoding it
                if any(r < 0 for r in runs) or sum(runs) != h * w:
                    raise CorruptFileError(
                        f"{what}: RLE runs cover {sum(runs)} pixels, not the image's {h}x{w} = "
                        f"{h * w}",
                        path=p,
                    )
            else:
                raise CorruptFileError(
                    f"{what}: segmentation must be an RLE {{size, counts}} or polygons", path=p
                )
            m = cocomask.decode(rle)
        except (SizeMismatchError, CorruptFileError):
            raise
        except Exception as exc:  # pycocotools raises plain exceptions on bad RLE / polygons
            raise CorruptFileError(f"{what}: segmentation does not decode ({exc})", path=p) from exc
        if m.ndim == 3:
            m = m[..., 0]
        if m.shape != (h, w):
            raise SizeMismatchError(
                f"{what}: mask is {m.shape} (H, W) but the image is {(h, w)}", path=p
            )
        mask = m.astype(bool)
        clash = mask & (out != 0)
        if clash.any():
            other = int(np.bincount(out[clash]).argmax())
            raise CorruptFileError(
                f"{what}: {int(clash.sum())} pixels of category {cat} are also covered by "
                f"category {other}; stuff annotations of an image must not overlap",
                path=p,
            )
        out[mask] = cat
    return out


class CocoStuffJsonReader(Reader):
    """Read COCO-Stuff's stuff-only JSON annotations (see the module docstring)."""

    name = "coco_stuff_json"
    split_names = SPLITS
    layout_hint = (
        "expected annotations/stuff_{train2017,val2017}.json and images/{train2017,val2017}/*.jpg"
    )
    encoding = "stuff_json"

    def _list(self) -> Iterator[SampleRef]:
        for split in self.split_names:
            if self.splits is not None and split not in self.splits:
                continue
            path = _json_path(self.root, split)
            if path is None:
                continue
            yield from self._list_file(split, path)

    def _list_file(self, split: str, path: Path) -> Iterator[SampleRef]:
        doc = read_coco_json(path)
        cats = set()
        for i, c in enumerate(doc["categories"]):
            if not isinstance(c, Mapping):
                raise CorruptFileError(f"categories[{i}] is not a JSON object", path=path)
            cid = json_int(c, "id", path, f"categories[{i}]")
            if cid not in _VALID:
                raise ClassIdError(
                    f"categories[{i}]: id {cid} ({c.get('name')!r}) is no stuff-only category "
                    "(92..182 stuff, 183 other)",
                    path=path,
                )
            cats.add(cid)
        images: dict[int, tuple[str, int, int]] = {}
        stems: dict[str, int] = {}
        for iid, name, h, w in coco_images(doc, path):
            stem = Path(name).stem
            if stem in stems:
                raise DuplicateSampleError(
                    f"images {iid} and {stems[stem]} share the file stem {stem!r}", path=path
                )
            images[iid], stems[stem] = (name, h, w), iid
        anns: dict[int, list[tuple[int, int, Any]]] = {iid: [] for iid in images}
        for i, a in enumerate(doc["annotations"]):
            if not isinstance(a, Mapping):
                raise CorruptFileError(f"annotations[{i}] is not a JSON object", path=path)
            aid = json_int(a, "id", path, f"annotations[{i}]")
            what = f"annotation {aid}"
            iid = json_int(a, "image_id", path, what)
            cat = json_int(a, "category_id", path, what)
            if iid not in images:
                raise CorruptFileError(f"{what}: image_id {iid} is no image of the file", path=path)
            if cat not in cats:
                raise ClassIdError(
                    f"{what}: category_id {cat} is not in the file's categories", path=path
                )
            if "segmentation" not in a:
                raise MissingKeyError(f"{what} has no 'segmentation'", path=path)
            anns[iid].append((aid, cat, a["segmentation"]))
        folder = _image_dir(self.root, split)
        for iid in sorted(images, key=lambda k: images[k][0]):
            name, h, w = images[iid]
            yield SampleRef(
                dataset=self.name,
                sample_id=Path(name).stem,
                split=split,
                paths=(str(folder / name), str(path)),
                key=(h, w, tuple(anns[iid])),
                meta={"image_id": iid, "file_name": name},
            )

    def peek_shape(self, ref: SampleRef) -> tuple[int, int]:
        """``(height, width)`` of the image entry (no decoding)."""
        return int(ref.key[0]), int(ref.key[1])

    def read(self, ref: SampleRef) -> RawSample:
        h, w, anns = ref.key
        image, path = ref.paths[0], ref.paths[1]
        semantic = decode_annotations(anns, (h, w), path, ref.meta["file_name"])
        return RawSample(
            ref=ref,
            semantic=semantic,
            meta=dict(ref.meta),
            load_image=self.image_loader(image, semantic.shape, path),
        )


register(
    "coco_stuff_json",
    reader=CocoStuffJsonReader,
    synthesize="harmonize.lookalike.coco_stuff_json:synthesize",
    description="COCO-Stuff stuff-only JSON (stuff_{train,val}2017.json, RLE; 92..182 + 183 other)",
    taxonomy="coco_stuff",
)
