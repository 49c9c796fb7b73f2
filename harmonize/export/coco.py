"""Export a store's instances as COCO instance-segmentation JSON (detectron2, mmdet, YOLO tools).

::

    OUT/annotations/instances_<source>_<split>.json
    OUT/images/<source>_<split>/<sample_id>.png        (images="png", default)

``images``: ``"png"`` writes the store's RGB image; ``"link"`` symlinks the original source file
(``Sample.paths[0]`` when it is a PNG/JPEG/TIFF image; PNG otherwise); ``"none"`` writes no image
(``file_name`` is still set). Categories are every non-special ontology node: ``id`` = ontology id,
``name`` = node name, ``supercategory`` = parent name (the node's own name at the root).
Annotations: one per instance k of ``Sample.instance``, class from ``Sample.instance_classes``,
RLE segmentation (``counts`` as str), ``area`` and ``bbox`` from ``pycocotools.mask``,
``iscrowd`` 0. Instances whose class is special (ignore/unlabeled) are skipped and counted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.errors import StoreError

__all__ = ["coco_categories", "export_coco"]

_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def coco_categories(onto) -> list[dict]:
    """COCO ``categories`` of a store's ontology record: its classes, special values left out."""
    out = []
    for c in sorted(onto.classes, key=lambda c: int(c["id"])):
        if c.get("role"):
            continue
        parent = c.get("parent")
        out.append({"id": int(c["id"]), "name": c["name"], "supercategory": parent or c["name"]})
    return out


def export_coco(store, out: str | Path, *, images: str = "png") -> dict:
    """Write one COCO JSON per (source, split); returns a summary (files, images, annotations)."""
    from PIL import Image
    from pycocotools import mask as mask_utils

    if images not in ("png", "link", "none"):
        raise ValueError(f"images must be 'png', 'link' or 'none', not {images!r}")
    out = Path(out)
    cats = coco_categories(store.ontology)
    cat_ids = {c["id"] for c in cats}
    docs: dict[tuple[str, str], dict] = {}
    summary: dict[str, Any] = {"files": [], "images": 0, "annotations": 0, "skipped_instances": 0}
    ann_id = 0
    for s in store:
        if s.instance is None:
            raise StoreError(f"{s.source}: the store has no instance layer", path=store.url)
        key = (s.source, s.split)
        doc = docs.setdefault(key, {"images": [], "annotations": [], "categories": cats})
        folder = f"{s.source}_{s.split}"
        img_id = len(doc["images"]) + 1
        src = Path(s.paths[0]) if s.paths else None
        linked = (
            src
            if images == "link"
            and src is not None
            and src.suffix.lower() in _IMAGE_EXT
            and src.is_file()
            else None
        )
        file_name = f"{s.sample_id}{linked.suffix.lower() if linked is not None else '.png'}"
        dest = out / "images" / folder / file_name
        if images != "none":
            dest.parent.mkdir(parents=True, exist_ok=True)
        if linked is not None:
            if dest.is_symlink() or dest.exists():
                dest.unlink()
            os.symlink(linked.resolve(), dest)
        elif images != "none" and s.image is not None:
            Image.fromarray(s.image).save(dest)
        doc["images"].append(
            {"id": img_id, "file_name": file_name, "height": s.height, "width": s.width}
        )
        classes = np.asarray(s.instance_classes)
        inst = s.instance
        for k in range(1, len(classes) + 1):
            cid = int(classes[k - 1])
            m = np.asfortranarray((inst == k).astype(np.uint8))
            if cid not in cat_ids or not m.any():
                summary["skipped_instances"] += 1
                continue
            rle = mask_utils.encode(m)
            area, bbox = float(mask_utils.area(rle)), mask_utils.toBbox(rle)
            counts = rle["counts"]
            rle["counts"] = counts.decode("ascii") if isinstance(counts, bytes) else counts
            ann_id += 1
            doc["annotations"].append(
                {
                    "id": ann_id,
                    "image_id": img_id,
                    "category_id": cid,
                    "segmentation": rle,
                    "area": area,
                    "bbox": [float(x) for x in bbox],
                    "iscrowd": 0,
                }
            )
        summary["images"] += 1
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    for (src_name, split), doc in sorted(docs.items()):
        p = out / "annotations" / f"instances_{src_name}_{split}.json"
        p.write_text(json.dumps(doc) + "\n", encoding="utf-8")
        summary["files"].append(str(p))
        summary["annotations"] += len(doc["annotations"])
    return summary
