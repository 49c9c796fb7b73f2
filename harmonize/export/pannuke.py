"""Export a nuclei store as PanNuke folds (read by CellViT, PanNuke-metrics, harmonize's reader).

::

    OUT/Fold k/images/foldk/images.npy   (N, P, P, 3) float64, RGB 0..255
    OUT/Fold k/images/foldk/types.npy    (N,) unicode tissue names ("Unknown": stores keep none)
    OUT/Fold k/masks/foldk/masks.npy     (N, P, P, 6) float64
    OUT/folds.json                       fold -> split, tile -> (source, sample_id, y, x)

Splits become folds in the order train, val, test, then the others sorted (``Fold 1`` = train,
the default fold order of harmonize's PanNuke reader; it reads Fold 1..3 only). Mask channels 0..4 = Neoplastic,
Inflammatory, Connective, Dead, Epithelial hold instance ids (1..n per tile, unique across the
tile's channels); channel 5 is 1 where no nucleus is, 0 elsewhere.

Classes: ontology ids are mapped to PanNuke's with ``evaluation_mapping(ontology, "pannuke")``.
An instance whose class maps to no PanNuke class (background, void, ignore-likes) is **dropped**
(its pixels become background) and counted in the summary's ``dropped_instances``.

Tiling: samples are cut into a grid of ``patch`` x ``patch`` tiles from the top-left. Border tiles
that would stick out are **padded** (image 0, background channel 1) by default; ``pad=False``
drops them instead (a sample smaller than ``patch`` then yields nothing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.errors import StoreError

__all__ = ["export_pannuke"]

_ORDER = ("train", "val", "test")


def _fold_order(splits: set[str]) -> list[str]:
    return [s for s in _ORDER if s in splits] + sorted(s for s in splits if s not in _ORDER)


def _tiles(h: int, w: int, patch: int, pad: bool):
    for y in range(0, h, patch):
        for x in range(0, w, patch):
            if not pad and (y + patch > h or x + patch > w):
                continue
            yield y, x


def export_pannuke(store, out: str | Path, *, patch: int = 256, pad: bool = True) -> dict:
    """Write the store as PanNuke folds under ``out``; returns a summary."""
    from harmonize.taxonomy.reverse import evaluation_mapping

    lut = np.asarray(evaluation_mapping(store.ontology.name, "pannuke").lut)
    out = Path(out)
    by_split: dict[str, list] = {}
    for s in store:
        if s.instance is None or s.image is None:
            raise StoreError(f"{s.source}: PanNuke needs images and instances", path=store.url)
        by_split.setdefault(s.split, []).append(s)
    summary: dict[str, Any] = {"folds": {}, "tiles": 0, "dropped_instances": 0, "tiles_index": {}}
    for k, split in enumerate(_fold_order(set(by_split)), 1):
        imgs, masks, types, index = [], [], [], []
        for s in by_split[split]:
            classes = np.asarray(s.instance_classes, np.int64)
            pn = np.where(classes < len(lut), lut[np.minimum(classes, len(lut) - 1)], 255)
            ok = (pn >= 1) & (pn <= 5)
            summary["dropped_instances"] += int((~ok).sum())
            inst = s.instance.astype(np.int64)
            h, w = inst.shape
            for y, x in _tiles(h, w, patch, pad):
                t_inst = np.zeros((patch, patch), np.int64)
                img = np.zeros((patch, patch, 3), np.float64)
                ys, xs = min(patch, h - y), min(patch, w - x)
                t_inst[:ys, :xs] = inst[y : y + ys, x : x + xs]
                img[:ys, :xs] = s.image[y : y + ys, x : x + xs]
                m = np.zeros((patch, patch, 6), np.float64)
                ids = [int(i) for i in np.unique(t_inst) if i > 0 and ok[i - 1]]
                for new, i in enumerate(ids, 1):
                    m[..., int(pn[i - 1]) - 1][t_inst == i] = new
                m[..., 5] = (m[..., :5].sum(-1) == 0).astype(np.float64)
                imgs.append(img)
                masks.append(m)
                types.append("Unknown")
                index.append([s.source, s.sample_id, y, x])
        d = out / f"Fold {k}"
        (d / "images" / f"fold{k}").mkdir(parents=True, exist_ok=True)
        (d / "masks" / f"fold{k}").mkdir(parents=True, exist_ok=True)
        shape = (0, patch, patch)
        np.save(
            d / "images" / f"fold{k}" / "images.npy",
            np.stack(imgs) if imgs else np.zeros((*shape, 3)),
        )
        np.save(
            d / "masks" / f"fold{k}" / "masks.npy",
            np.stack(masks) if masks else np.zeros((*shape, 6)),
        )
        np.save(d / "images" / f"fold{k}" / "types.npy", np.asarray(types, dtype="<U13"))
        summary["folds"][f"fold{k}"] = split
        summary["tiles_index"][f"fold{k}"] = index
        summary["tiles"] += len(imgs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "folds.json").write_text(
        json.dumps({"folds": summary["folds"], "tiles": summary["tiles_index"]}) + "\n", "utf-8"
    )
    return summary
