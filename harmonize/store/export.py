"""Export a store to the folder layout of mmsegmentation / Ultralytics-style tools.

::

    OUT/images/<split>/<source>__<sample_id>.png        RGB
    OUT/annotations/<split>/<source>__<sample_id>.png   8-bit label map, 255 = ignore
    OUT/instances/<split>/<source>__<sample_id>.png     16-bit instance ids (``--instances``)
    OUT/classes.json                                    label value -> ontology class

Label values: when the ontology's background and class ids all fit below 255 they are written
unchanged; otherwise they are renumbered 0..K-1 in id order (K <= 255) and ``classes.json`` says
how. Every special value other than background (ignore, unlabeled, ambiguous) is written as 255.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harmonize.errors import StoreError

__all__ = ["export_png", "export_table"]


def export_table(store) -> tuple[np.ndarray, list[dict]]:
    """The output id -> PNG value table (uint8, 255 for ignore-like values) and its description."""
    onto = store.ontology
    keep = sorted(
        int(c["id"]) for c in onto.classes if not c.get("role") or c.get("role") == "background"
    )
    top = max(int(c["id"]) for c in onto.classes)
    table = np.full(top + 1, 255, np.uint8)
    if keep and max(keep) < 255:
        values = keep
    elif len(keep) <= 255:
        values = list(range(len(keep)))
    else:
        raise StoreError(
            f"{len(keep)} classes do not fit an 8-bit PNG with 255 as ignore", path=store.url
        )
    rows = []
    for cid, v in zip(keep, values, strict=True):
        table[cid] = v
        c = onto.by_id[cid]
        rows.append({"value": v, "id": cid, "name": c["name"], "color": c.get("color")})
    rows.append(
        {
            "value": 255,
            "name": "ignore",
            "ids": [
                int(c["id"])
                for c in onto.classes
                if c.get("role") and c.get("role") != "background"
            ],
        }
    )
    return table, rows


def export_png(store, out: str | Path, *, instances: bool = False) -> int:
    """Write every sample of ``store`` under ``out``; returns the number of samples written."""
    from PIL import Image

    if not all("semantic" in lay.layers for lay in store.layouts):
        raise StoreError("the store has no semantic layer to export as label PNGs", path=store.url)

    out = Path(out)
    table, rows = export_table(store)
    out.mkdir(parents=True, exist_ok=True)
    (out / "classes.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    n = 0
    for s in store:
        stem = f"{s.source}__{s.sample_id}"
        for sub in ("images", "annotations") + (("instances",) if instances else ()):
            (out / sub / s.split).mkdir(parents=True, exist_ok=True)
        if s.image is not None:
            Image.fromarray(s.image).save(out / "images" / s.split / f"{stem}.png")
        Image.fromarray(table[s.semantic]).save(out / "annotations" / s.split / f"{stem}.png")
        if instances and s.instance is not None:
            if s.instance.max(initial=0) > 65535:
                raise StoreError(
                    f"{stem}: more than 65535 instances do not fit a 16-bit PNG", path=store.url
                )
            Image.fromarray(s.instance.astype(np.uint16)).save(
                out / "instances" / s.split / f"{stem}.png"
            )
        n += 1
    return n
