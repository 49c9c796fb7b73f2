"""IDD look-alike: ``leftImg8bit`` + ``gtFine`` polygons as the IDD segmentation release ships them.

The format and its reader: :mod:`harmonize.datasets.idd`. Objects are axis-aligned rectangles
(integer corners), whose PIL fill is known exactly (corners inclusive), so the ground truth is
painted here with numpy, independently of the reader's rasterizer, in the same painter's order and
with AutoNUE's instance counters (``id*1000+k``, ``k`` per level3Id).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.idd import BACKGROUND, LABELS, LEVEL3, NAME2LABEL
from harmonize.lookalike._draw import scene_image, write_rgb

__all__ = ["synthesize"]

#: City folders of the release are numbered (``gtFine/train/0/``) [U: which numbers per split].
CITIES = {"train": ("0", "1"), "val": ("2",)}
_COLORS = np.zeros((256, 3), np.uint8)
for _lab in LABELS:
    _COLORS[_lab.id] = _lab.color
_DRAWN = [lab.name for lab in LABELS if lab.name not in ("unlabeled",)]


def _rect(x0: int, y0: int, x1: int, y1: int) -> list[list[int]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def _objects(rng: np.random.Generator, h: int, w: int) -> list[dict[str, Any]]:
    objs = [{"label": "sky", "polygon": _rect(0, 0, w - 1, h // 3)}]
    objs.append({"label": "road", "polygon": _rect(0, h // 2, w - 1, h - 1)})
    for _ in range(int(rng.integers(3, 7))):
        name = _DRAWN[int(rng.integers(len(_DRAWN)))]
        x0, y0 = int(rng.integers(0, w - 2)), int(rng.integers(0, h - 2))
        x1 = int(rng.integers(x0 + 1, min(w, x0 + w // 2 + 2)))
        y1 = int(rng.integers(y0 + 1, min(h, y0 + h // 2 + 2)))
        objs.append({"label": name, "polygon": _rect(x0, y0, x1, y1)})
    return objs


def _edge_objects(h: int, w: int) -> list[dict[str, Any]]:
    """Every quirk in one frame: a group, a deleted object, a 2-point polygon (not drawn, but it
    advances its counter), a licence plate on a car, labels sharing one level-3 counter."""
    return [
        {"label": "road", "polygon": _rect(0, h // 2, w - 1, h - 1)},
        {"label": "trailer", "polygon": _rect(0, 0, 4, 4)},  # level3 12: k = 0
        {"label": "caravan", "polygon": [[6, 0], [9, 3]]},  # 2 points: skipped, k = 1 used
        {"label": "train", "polygon": _rect(6, 0, 10, 4)},  # level3 12: k = 2
        {"label": "car", "polygon": _rect(12, h // 2, 20, h // 2 + 6)},
        {"label": "license plate", "polygon": _rect(14, h // 2 + 3, 17, h // 2 + 5)},
        {"label": "cargroup", "polygon": _rect(22, h // 2, 30, h // 2 + 6)},  # plain id 12
        {"label": "person", "polygon": _rect(32, 2, 36, 12), "deleted": 1},
        {"label": "person", "polygon": _rect(38, 2, 42, 12)},
    ]


def _paint(objs: list[dict[str, Any]], h: int, w: int) -> np.ndarray:
    """The instance-encoded map of rectangle objects, painted with numpy (see the module doc)."""
    enc = np.full((h, w), BACKGROUND, np.int64)
    counters: dict[int, int] = {}
    for obj in objs:
        if obj.get("deleted", 0):
            continue
        name, group = obj["label"], False
        if name not in NAME2LABEL and name.endswith("group"):
            name, group = name[: -len("group")], True
        lab = NAME2LABEL[name]
        value = lab.id
        if lab.has_instances and not group:
            k = counters.get(LEVEL3[name], 0)
            counters[LEVEL3[name]] = k + 1
            value = lab.id * 1000 + k
        pts = obj["polygon"]
        if len(pts) < 3:
            continue
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        enc[min(ys) : max(ys) + 1, min(xs) : max(xs) + 1] = value
    return enc


def synthesize(
    out: str | Path,
    *,
    n: int = 4,
    seed: int = 0,
    size: tuple[int, int] = (48, 64),
    edge_cases: bool = False,
) -> SynthResult:
    """Write an IDD-like ``gtFine`` + ``leftImg8bit`` tree under ``out``.

    Parameters
    ----------
    out : path-like
        The dataset root.
    n : int
        Frames, dealt round-robin over train and val (and their city folders).
    seed : int
        Random seed; the bytes depend only on the arguments.
    size : (H, W)
        Frame size (at least 16 x 48 with ``edge_cases``).
    edge_cases : bool
        Add a frame holding every quirk (see :func:`_edge_objects`), a frame with no objects
        (all ``unlabeled``) and a 3x5 frame.

    Returns
    -------
    SynthResult
    """
    rng = np.random.default_rng(seed)
    root = Path(out)
    h, w = int(size[0]), int(size[1])
    frames: list[tuple[str, list[dict[str, Any]], int, int]] = [
        ("", _objects(rng, h, w), h, w) for _ in range(n)
    ]
    quirks: dict[str, list[str]] = {}
    if edge_cases:
        frames += [("every_quirk", _edge_objects(h, w), h, w), ("no_objects", [], h, w)]
        frames.append(("tiny_image", [{"label": "car", "polygon": _rect(1, 1, 3, 2)}], 3, 5))
    pairs = [(s, c) for s in CITIES for c in CITIES[s]]
    samples: dict[str, SynthTruth] = {}
    for i, (quirk, objs, fh, fw) in enumerate(frames):
        split, city = pairs[i % len(pairs)]
        stem = f"{(seed % 1000) * 1000 + i:06d}"
        json_p = root / "gtFine" / split / city / f"{stem}_gtFine_polygons.json"
        json_p.parent.mkdir(parents=True, exist_ok=True)
        doc = {"imgHeight": fh, "imgWidth": fw, "objects": objs}
        json_p.write_text(json.dumps(doc, indent=4), encoding="utf-8")
        enc = _paint(objs, fh, fw)
        sem = np.where(enc < 1000, enc, enc // 1000).astype(np.uint8)
        inst = np.where(enc >= 1000, enc, 0).astype(np.uint16)
        img_p = root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
        write_rgb(img_p, scene_image(rng, sem, _COLORS))
        sid = f"{city}_{stem}"
        samples[sid] = SynthTruth(
            sample_id=sid,
            split=split,
            semantic=sem,
            instance=inst,
            instance_classes={int(v): int(v) // 1000 for v in np.unique(inst) if v},
            image_shape=(fh, fw),
            meta={"city": city, "frame": stem},
        )
        if quirk:
            quirks.setdefault(quirk, []).append(str(json_p))
    return SynthResult("idd", root, samples, {}, quirks)
