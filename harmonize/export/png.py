"""Export a store to the folder layout of mmsegmentation / Ultralytics-style tools.

::

    OUT/images/<split>/<source>__<sample_id>.png        RGB
    OUT/annotations/<split>/<source>__<sample_id>.png   8-bit label map, 255 = ignore
    OUT/instances/<split>/<source>__<sample_id>.png     16-bit instance ids (``--instances``)
    OUT/classes.json                                    label value -> ontology class
    OUT/mmseg_dataset.py                                mmseg dataset config (``_base_``-includable)

Label values (``ids``):

- ``"train"`` (default): contiguous train ids 0..C-1 over the ontology's real classes plus
  background when the ontology has one, in ontology id order. mmseg needs exactly this: a class
  tuple of C entries, not one of 255 with holes.
- ``"raw"``: ontology ids unchanged; fails when an id to keep is >= 255.
- ``"present"``: contiguous train ids over only the classes with pixels in this store (same
  order). For ontologies with more than 255 classes, such as ``scene``, whose stores hold fewer:
  the numbering then depends on the store, and ``classes.json`` / ``mmseg_dataset.py`` say which.

Every special value other than background (ignore, unlabeled, ambiguous) is written as 255, which
``mmseg_dataset.py`` declares as ``ignore_index``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harmonize.errors import StoreError

__all__ = ["IDS", "export_png", "export_table", "mmseg_config"]

#: The label numberings of :func:`export_table`.
IDS = ("train", "raw", "present")


def _kept(onto) -> list[int]:
    return sorted(
        int(c["id"]) for c in onto.classes if not c.get("role") or c.get("role") == "background"
    )


def export_table(store, ids: str = "train") -> tuple[np.ndarray, list[dict]]:
    """The ontology id -> PNG value table (uint8, 255 for ignore-like values) and its description."""
    if ids not in IDS:
        raise ValueError(f"ids must be one of {IDS}, not {ids!r}")
    onto = store.ontology
    keep = _kept(onto)
    if ids == "present":
        counts = store.counts()
        held = {int(c) for c, n in zip(counts["class_ids"], counts["pixels"], strict=True) if n}
        keep = [c for c in keep if c in held]
    top = max(int(c["id"]) for c in onto.classes)
    table = np.full(top + 1, 255, np.uint8)
    if ids == "raw":
        if keep and max(keep) >= 255:
            big = [i for i in keep if i >= 255]
            raise StoreError(
                f"--ids raw: ontology ids {big[:5]} do not fit an 8-bit PNG below 255 (ignore); "
                "use the default contiguous train ids",
                path=store.url,
            )
        values = keep
    elif len(keep) <= 255:
        values = list(range(len(keep)))
    elif ids == "present":
        raise StoreError(
            f"the store holds {len(keep)} classes, which do not fit an 8-bit PNG with 255 as "
            "ignore; run the config onto an ontology with fewer classes (e.g. mseg-194)",
            path=store.url,
        )
    else:
        raise StoreError(
            f"{len(keep)} classes do not fit an 8-bit PNG with 255 as ignore; `--ids present` "
            "numbers only the classes this store holds",
            path=store.url,
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


def _rgb(color, i: int) -> list[int]:
    if isinstance(color, str) and color.startswith("#") and len(color) == 7:
        return [int(color[k : k + 2], 16) for k in (1, 3, 5)]
    if isinstance(color, (list, tuple)) and len(color) >= 3:
        return [int(x) for x in color[:3]]
    rng = np.random.default_rng(i)  # stable fallback colour for nodes without one
    return [int(x) for x in rng.integers(0, 256, 3)]


def mmseg_config(rows: list[dict], splits: list[str], ids: str = "train") -> str:
    """The text of ``mmseg_dataset.py``: metainfo and one dataset dict per split."""
    named = {r["value"]: r for r in rows if "id" in r}
    n = max(named) + 1 if named else 0
    classes, palette = [], []
    for v in range(n):  # raw ids leave holes: name them so classes[v] is always the value v
        r = named.get(v)
        classes.append(r["name"] if r else f"unused_{v}")
        palette.append(_rgb(r["color"], v) if r else [0, 0, 0])
    lines = [
        '"""mmsegmentation dataset settings written by ``harmonize export png``.',
        "",
        "Include with ``_base_ = ['mmseg_dataset.py']`` and use ``train_dataset`` /",
        "``<split>_dataset`` (set ``data_root`` to this folder), or copy ``metainfo``.",
        '"""',
        "",
    ]
    lines += [
        f"label_ids = {ids!r}",
        f"metainfo = dict(classes={tuple(classes)!r}, palette={palette!r})",
        "ignore_index = 255",
        "reduce_zero_label = False",
        "",
    ]
    for sp in splits:
        ident = "".join(ch if ch.isalnum() else "_" for ch in sp)
        lines.append(
            f"{ident}_dataset = dict(type='BaseSegDataset', metainfo=metainfo, "
            f"img_suffix='.png', seg_map_suffix='.png', reduce_zero_label=False, "
            f"ignore_index=255, data_prefix=dict(img_path='images/{sp}', "
            f"seg_map_path='annotations/{sp}'))"
        )
    return "\n".join(lines) + "\n"


def export_png(store, out: str | Path, *, instances: bool = False, ids: str = "train") -> int:
    """Write every sample of ``store`` under ``out``; returns the number of samples written."""
    from PIL import Image

    if not all("semantic" in lay.layers for lay in store.layouts):
        raise StoreError("the store has no semantic layer to export as label PNGs", path=store.url)

    out = Path(out)
    table, rows = export_table(store, ids)
    out.mkdir(parents=True, exist_ok=True)
    (out / "classes.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    n = 0
    splits: set[str] = set()
    for s in store:
        stem = f"{s.source}__{s.sample_id}"
        splits.add(s.split)
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
    (out / "mmseg_dataset.py").write_text(mmseg_config(rows, sorted(splits), ids), "utf-8")
    return n
