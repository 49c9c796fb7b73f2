"""Export a nuclei store as HoVer-Net training patches, as its ``extract_patches.py`` writes them.

::

    OUT/<split>/<win>x<win>_<step>x<step>/<source>__<sample_id>_<NNN>.npy   (win, win, 5)
    OUT/type_info.json

Each patch is an ``int32`` array: RGB (3) + instance map (1) +
type map (1), the concatenation ``extract_patches.py`` saves. Patch positions follow HoVer-Net's
``PatchExtractor``: ``valid`` slides a ``win`` window by ``step`` and adds a last row/column flush
with the border; ``mirror`` (HoVer-Net's default) first reflect-pads by ``(win - step) / 2`` so the
central ``step x step`` crops cover the whole sample. In ``valid`` mode a sample smaller than
``win`` yields no patch (counted in the summary's ``skipped_samples``).

Types: 0 = background ("nolabe"), 1..K = the ontology's non-special classes other than background
in id order, from the semantic map; ignore-like pixels get type 0. ``type_info.json`` is HoVer-Net's
``{"0": ["nolabe", [0, 0, 0]], "1": [name, [r, g, b]], ...}``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.errors import StoreError

__all__ = ["export_hovernet", "patch_origins", "type_table"]


def type_table(onto) -> tuple[np.ndarray, dict]:
    """Ontology id -> HoVer-Net type id (int32) and the ``type_info.json`` content."""
    keep = sorted(int(c["id"]) for c in onto.classes if not c.get("role"))
    top = max(int(c["id"]) for c in onto.classes)
    lut = np.zeros(top + 1, np.int32)
    info = {"0": ["nolabe", [0, 0, 0]]}
    for t, cid in enumerate(keep, 1):
        lut[cid] = t
        col = onto.by_id[cid].get("color")
        col = [int(x) for x in col[:3]] if isinstance(col, (list, tuple)) else [0, 0, 0]
        info[str(t)] = [onto.by_id[cid]["name"], col]
    return lut, info


def patch_origins(h: int, w: int, win: int, step: int) -> list[tuple[int, int]]:
    """Top-left corners of HoVer-Net's ``PatchExtractor.__extract_valid``, in its order."""

    def infos(length):
        flag = (length - win) % step != 0
        last = (math.floor((length - win) / step) + 1) * step
        return flag, last

    if h < win or w < win:
        return []
    h_flag, h_last = infos(h)
    w_flag, w_last = infos(w)
    out = [(r, c) for r in range(0, h_last, step) for c in range(0, w_last, step)]
    if h_flag:
        out += [(h - win, c) for c in range(0, w_last, step)]
    if w_flag:
        out += [(r, w - win) for r in range(0, h_last, step)]
    if h_flag and w_flag:
        out.append((h - win, w - win))
    return out


def export_hovernet(
    store, out: str | Path, *, patch_size: int = 540, step: int = 164, mode: str = "mirror"
) -> dict:
    """Write HoVer-Net ``.npy`` patches under ``out``; returns a summary."""
    if mode not in ("mirror", "valid"):
        raise ValueError(f"mode must be 'mirror' or 'valid', not {mode!r}")
    if not 0 < step <= patch_size:
        raise ValueError("need 0 < step <= patch_size")
    out = Path(out)
    lut, info = type_table(store.ontology)
    out.mkdir(parents=True, exist_ok=True)
    (out / "type_info.json").write_text(json.dumps(info, indent=1) + "\n", "utf-8")
    summary: dict[str, Any] = {"patches": 0, "skipped_samples": 0, "dirs": set()}
    for s in store:
        if s.instance is None or s.image is None:
            raise StoreError(f"{s.source}: HoVer-Net needs images and instances", path=store.url)
        sem = s.semantic.astype(np.int64)
        typ = np.where(sem < len(lut), lut[np.minimum(sem, len(lut) - 1)], 0)
        x = np.concatenate(
            [s.image.astype(np.int32), s.instance.astype(np.int32)[..., None], typ[..., None]],
            axis=-1,
        )
        if mode == "mirror":
            diff = patch_size - step
            t = diff // 2
            x = np.pad(x, ((t, diff - t), (t, diff - t), (0, 0)), mode="reflect")
        origins = patch_origins(x.shape[0], x.shape[1], patch_size, step)
        if not origins:
            summary["skipped_samples"] += 1
            continue
        d = out / s.split / f"{patch_size}x{patch_size}_{step}x{step}"
        d.mkdir(parents=True, exist_ok=True)
        summary["dirs"].add(str(d))
        for i, (r, c) in enumerate(origins):
            np.save(
                d / f"{s.source}__{s.sample_id}_{i:03d}.npy",
                x[r : r + patch_size, c : c + patch_size],
            )
        summary["patches"] += len(origins)
    summary["dirs"] = sorted(summary["dirs"])
    return summary
