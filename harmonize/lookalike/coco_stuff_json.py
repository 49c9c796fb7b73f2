"""COCO-Stuff stuff-only JSON look-alike: ``annotations/stuff_{train2017,val2017}.json`` (COCO
format, compressed RLE) and ``images/{split}/{012d}.jpg``.

The format and its reader: :mod:`harmonize.datasets.coco_stuff_json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.coco_stuff import COCO_STUFF_NAMES
from harmonize.datasets.coco_stuff_json import ANN_BASE, OTHER, STUFF_IDS
from harmonize.lookalike._draw import scene_image, write_rgb

__all__ = ["synthesize"]


def _ids(names: str) -> list[int]:
    return [COCO_STUFF_NAMES.index(x) for x in names.split("|")]


#: The stuff classes the generator draws, by role, and their supercategories (labels.md).
_SKY, _GROUND, _BLOBS = (
    _ids("sky-other|clouds"),
    _ids("road|grass|sand|gravel"),
    _ids("bush|tree|flower|building-other|water-other"),
)
(_POLYGON,) = _ids("stone")
_SUPER = dict(
    zip(
        _SKY + _GROUND + _BLOBS + [_POLYGON],
        "sky sky ground plant ground ground plant plant plant building water solid".split(),
        strict=True,
    )
)


def _categories() -> list[dict[str, Any]]:
    """The 92 category entries (92..182 stuff, 183 other). Supercategories of the classes the
    generator never draws are written as ``stuff`` [look-alike only; the reader ignores them]."""
    out = [
        {"supercategory": _SUPER.get(cid, "stuff"), "id": cid, "name": COCO_STUFF_NAMES[cid]}
        for cid in STUFF_IDS
    ]
    out.append({"supercategory": "other", "id": OTHER, "name": "other"})
    return out


def _label_map(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A stuff label map: sky over a horizon, ground below, plant/building/water blobs, things as
    'other' boxes, and a band on the left nobody labelled (no annotation covers it)."""
    lab = np.zeros((h, w), np.uint8)
    horizon = int(h * rng.uniform(0.3, 0.5))
    lab[:horizon] = rng.choice(_SKY)
    lab[horizon:] = rng.choice(_GROUND)
    yy, xx = np.mgrid[:h, :w]
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(0.08, 0.2) * min(h, w)
        lab[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.choice(_BLOBS)
    for _ in range(int(rng.integers(1, 3))):  # things, merged into 'other'
        y0, x0 = int(rng.integers(0, h - 6)), int(rng.integers(0, w - 6))
        lab[y0 : y0 + int(rng.integers(4, h // 3)), x0 : x0 + int(rng.integers(4, w // 3))] = OTHER
    lab[:, : int(rng.integers(0, 3))] = 0
    return lab


def _annotation(ann_id: int, image_id: int, cat: int, mask: np.ndarray) -> dict[str, Any]:
    from pycocotools import mask as cocomask

    # an (H, W, 1) mask encodes to a list of one RLE; the stubs only know the 2-D form
    rle = cocomask.encode(np.asfortranarray(mask[..., None].astype(np.uint8)))[0]  # type: ignore[literal-required]
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": cat,
        "segmentation": {"size": [int(x) for x in rle["size"]], "counts": rle["counts"].decode()},
        "area": float(cocomask.area(rle)),
        "bbox": [float(x) for x in cocomask.toBbox(rle)],
        "iscrowd": 0,
    }


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (48, 64),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a COCO-Stuff stuff-only JSON look-alike under ``out``.

    Writes ``annotations/stuff_{train2017,val2017}.json`` (COCO dicts with ``info``, ``licenses``,
    ``images`` with ``id``/``file_name``/``height``/``width``, the 92 ``categories`` and one
    compressed-RLE annotation per (image, class present), ids from 1e7 / 2e7, ``other`` = 183 for
    thing pixels, no annotation for unlabeled pixels) and ``images/{split}/{012d}.jpg``.

    Parameters
    ----------
    out : path-like
        Dataset root to create.
    n : int
        Images in train2017 (val2017 gets ``ceil(n / 2)``).
    seed : int
        Output bytes are identical for a seed.
    size : (int, int)
        Typical ``(H, W)``; sizes vary per image (COCO images do).
    edge_cases : bool
        Add quirks: an image without any annotation (all unlabeled), an image with odd height
        and width, one annotation written as uncompressed RLE (a list of counts) and one as
        polygons (both read by ``pycocotools`` as ``COCO.annToMask`` does).

    Returns
    -------
    SynthResult
        Truth ``semantic`` in native values (0, 92..183).
    """
    root = Path(out)
    rng = np.random.default_rng(seed)
    counts = {"train2017": n, "val2017": -(-n // 2)}
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    image_id = 100
    for split, count in counts.items():
        images, annotations = [], []
        ann_id = ANN_BASE[split]
        kinds = ["plain"] * count
        if edge_cases and split == "train2017":
            kinds += ["empty", "odd", "uncompressed", "polygon"]
        for kind in kinds:
            image_id += int(rng.integers(1, 50))
            h = int(size[0] + rng.integers(-size[0] // 4, size[0] // 4 + 1))
            w = int(size[1] + rng.integers(-size[1] // 4, size[1] // 4 + 1))
            if kind == "odd":
                h, w = h | 1, w | 1
            lab = np.zeros((h, w), np.uint8) if kind == "empty" else _label_map(rng, h, w)
            if kind == "polygon":  # a stone region on top, written as a polygon below
                lab[_polygon_mask(h, w)] = _POLYGON
            name = f"{image_id:012d}.jpg"
            write_rgb(root / "images" / split / name, scene_image(rng, lab, _COLOURS))
            images.append(
                {
                    "license": 1,
                    "file_name": name,
                    "coco_url": "",
                    "height": h,
                    "width": w,
                    "date_captured": "2013-11-14 17:02:52",
                    "flickr_url": "",
                    "id": image_id,
                }
            )
            for cat in sorted(set(np.unique(lab).tolist()) - {0}):
                ann_id += 1
                a = _annotation(ann_id, image_id, cat, lab == cat)
                if kind == "uncompressed" and cat == int(lab[h // 2, w // 2]):
                    a["segmentation"] = _uncompressed(lab == cat)
                if kind == "polygon" and cat == _POLYGON:
                    a["segmentation"] = [list(_POLYGON_XY)]
                annotations.append(a)
            stem = name[:-4]
            samples[stem] = SynthTruth(
                sample_id=stem,
                split=split,
                semantic=lab,
                image_shape=(h, w),
                meta={"image_id": image_id},
            )
            if kind != "plain":
                quirks.setdefault(kind, []).append(str(root / "images" / split / name))
        doc = {
            "info": {
                "description": "COCO 2017 Stuff Dataset (look-alike written by harmonize)",
                "url": "http://cocodataset.org",
                "version": "1.0",
                "year": 2017,
                "contributor": "COCO Consortium",
                "date_created": "2017-08-31 00:00:00",
            },
            "licenses": [{"url": "", "id": 1, "name": "Attribution License"}],
            "images": images,
            "annotations": annotations,
            "categories": _categories(),
        }
        p = root / "annotations" / f"stuff_{split}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(doc), encoding="utf-8")
    return SynthResult("coco_stuff_json", root, samples, quirks=quirks)


#: A quadrilateral (x0, y0, x1, y1, ...) for the polygon quirk, in pixels.
_POLYGON_XY = (3.0, 2.0, 17.5, 4.0, 14.0, 12.0, 4.0, 10.5)


def _polygon_mask(h: int, w: int) -> np.ndarray:
    """The pixels ``pycocotools`` gives :data:`_POLYGON_XY` (what a COCO polygon means is its
    rasterization by ``frPyObjects``; the truth of the quirk is defined by it)."""
    from pycocotools import mask as cocomask

    polygons = [list(_POLYGON_XY)]  # float coordinates: the stubs wrongly ask for int
    return cocomask.decode(cocomask.merge(cocomask.frPyObjects(polygons, h, w))) > 0  # type: ignore[arg-type]


def _uncompressed(mask: np.ndarray) -> dict[str, Any]:
    """Uncompressed RLE of ``mask`` (column-major run lengths, starting with a 0-run)."""
    flat = mask.T.reshape(-1).astype(np.uint8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    if flat[0]:
        runs = [0, *runs]
    return {"size": list(mask.shape), "counts": [int(r) for r in runs]}


_COLOURS = np.full((256, 3), 128, np.uint8)
_COLOURS[_SKY] = (120, 170, 230)
_COLOURS[_GROUND] = (150, 130, 110)
_COLOURS[_BLOBS] = (60, 140, 50)
_COLOURS[OTHER] = (200, 40, 40)
