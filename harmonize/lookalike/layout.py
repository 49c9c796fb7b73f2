"""The generic look-alike of a dataset declared by a ``layout:`` block.

The format and its reader: :mod:`harmonize.datasets.layout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets import _io
from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.layout import fill_template
from harmonize.lookalike._draw import scene_image, write_rgb

__all__ = ["synthesize"]


def _colour_table(values: list[dict[str, Any]], rng: np.random.Generator) -> np.ndarray:
    """RGB per file value for the photos and palettes: the class colour, else a fixed random one."""
    top = max(v["value"] for v in values)
    cols = rng.integers(40, 220, size=(top + 1, 3)).astype(np.uint8)
    for v in values:
        if v["color"] is not None:
            cols[v["value"]] = v["color"]
    return cols


def _shape_mask(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    from skimage.draw import ellipse

    h, w = shape
    r = rng.uniform(0.12, 0.3) * min(h, w)
    m = np.zeros(shape, bool)
    if rng.random() < 0.5:
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        rr, cc = ellipse(cy, cx, r + 1, r * rng.uniform(0.5, 1.2) + 1, shape=shape)
        m[rr, cc] = True
    else:
        r0, c0 = int(rng.integers(0, max(h - 1, 1))), int(rng.integers(0, max(w - 1, 1)))
        m[r0 : r0 + int(2 * r) + 1, c0 : c0 + int(2 * r) + 1] = True
    return m


def synthesize(
    data: Mapping[str, Any],
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (64, 96),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a look-alike of the declared dataset ``data`` under ``out``, as its layout says.

    Parameters
    ----------
    data : mapping
        The registry's plain data of the dataset (``layout``, ``values``, ``name``).
    out : path-like
        The reader's root; files go under the first of ``layout.roots``.
    n : int
        Samples, dealt round-robin over the splits.
    seed : int
        Random seed; the bytes written depend only on the arguments.
    size : (H, W)
        Image size.
    edge_cases : bool
        Add a background-only sample, a 3x5 sample, a sample holding every declared value (void
        included; every colour for ``rgb``) and, with instances, two touching objects of one class.

    Returns
    -------
    SynthResult
        Truth in file values (as the reader returns them); instance ids as written.
    """
    lay, values = data["layout"], list(data["values"])
    rng = np.random.default_rng(seed)
    shape = (int(size[0]), int(size[1]))
    root = Path(out)
    base = root / lay["roots"][0] if lay["roots"][0] != "." else root
    sem_l, inst_l = lay["semantic"], lay["instance"]
    enc = sem_l["encoding"]
    has_inst = inst_l is not None or enc in ("instance16", "packed16")
    if inst_l is not None and 0 not in inst_l["none"]:
        raise ValueError(f"{data['name']}: the generator writes 0 for 'no instance'; add 0 to none")
    classes = [v for v in values if v["role"] == "class"]
    if not classes:
        raise ValueError(f"{data['name']}: the taxonomy declares no class to draw")
    things = [v for v in classes if v["instances"]] if has_inst else []
    stuff = classes
    fill = next((v for v in values if v["role"] == "background"), None)
    colours = _colour_table(values, np.random.default_rng(len(values)))
    out_dtype = (
        np.dtype(sem_l["dtype"])
        if enc != "rgb"
        else (np.dtype(np.uint8) if max(v["value"] for v in values) <= 255 else np.dtype(np.uint16))
    )
    names = lay["splits"]["names"]

    # scenes: (quirk, shape, semantic values, instance map, instance -> class value)
    scenes: list[tuple[str, np.ndarray, np.ndarray, dict[int, int]]] = []

    def draw(shp: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
        bg = fill["value"] if fill is not None else stuff[int(rng.integers(len(stuff)))]["value"]
        sem = np.full(shp, bg, np.int64)
        inst = np.zeros(shp, np.int64)
        for _ in range(int(rng.integers(1, 5))):
            m = _shape_mask(rng, shp)
            pool = things if things and rng.random() < 0.7 else stuff
            v = pool[int(rng.integers(len(pool)))]
            sem[m] = v["value"]
            inst[m] = 0
            if v in things:
                inst[m] = int(inst.max()) + 1
        return sem, inst, {}

    for _ in range(n):
        scenes.append(("", *draw(shape)))
    if edge_cases:
        bg = fill["value"] if fill is not None else stuff[0]["value"]
        scenes.append(
            ("background_only", np.full(shape, bg, np.int64), np.zeros(shape, np.int64), {})
        )
        scenes.append(("tiny_image", *draw((3, 5))))
        every = np.array([v["value"] for v in values], np.int64)
        h, w = shape
        stripes = every[(np.arange(h * w) * len(every)) // (h * w)].reshape(shape)
        scenes.append(("every_value", stripes, np.zeros(shape, np.int64), {}))
        if things:
            h, w = shape
            sem = np.full(shape, bg, np.int64)
            inst = np.zeros(shape, np.int64)
            t = things[0]["value"]
            sem[h // 4 : 3 * h // 4, w // 8 : 7 * w // 8] = t
            inst[h // 4 : 3 * h // 4, w // 8 : w // 2] = 1
            inst[h // 4 : 3 * h // 4, w // 2 : 7 * w // 8] = 2
            scenes.append(("touching_same_class", sem, inst, {}))

    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    lists: dict[str, list[str]] = {s: [] for s in names}
    for i, (quirk, sem, inst, _) in enumerate(scenes):
        split = names[i % len(names)]
        stem = f"{int(seed) % 1000:03d}{i:05d}"
        # renumber visible objects 1..K, in order of first appearance; class = the value under it
        obj = np.zeros(sem.shape, np.int64)
        inst_classes: dict[int, int] = {}
        for k in [int(x) for x in np.unique(inst) if x != 0]:
            here = inst == k
            new = len(inst_classes) + 1
            obj[here] = new
            inst_classes[new] = int(sem[here][0])
        image_p = base / fill_template(lay["image"][0], split, stem)
        write_rgb(image_p, scene_image(rng, sem, colours))
        sem_p = base / fill_template(sem_l["path"][0], split, stem)
        truth_inst: np.ndarray | None = None
        if enc == "rgb":
            _io.write_png(sem_p, colours[sem])
        elif enc == "instance16":
            k = int(sem_l["divisor"])
            per_class: dict[int, int] = {}
            raw = sem.copy()
            for j, cls in inst_classes.items():
                local = per_class.get(cls, 0)
                per_class[cls] = local + 1
                raw[obj == j] = cls * k + local
            if raw.max(initial=0) > 65535:
                raise ValueError(f"{data['name']}: class * divisor does not fit uint16")
            _io.write_png(sem_p, raw.astype(np.uint16))
            truth_inst = np.where(obj > 0, raw, 0).astype(np.uint16)
            inst_classes = {int(raw[obj == j][0]): c for j, c in inst_classes.items()}
        elif enc == "packed16":
            raw, truth_inst, inst_classes = _packed16(sem, obj, inst_classes, values, sem_l)
            _io.write_png(sem_p, raw)
        else:
            pal = colours[:256] if enc == "palette" else None
            _io.write_png(sem_p, sem.astype(out_dtype), palette=pal)
        if inst_l is not None:
            inst_p = base / fill_template(inst_l["path"][0], split, stem)
            _io.write_png(inst_p, obj.astype(np.dtype(inst_l["dtype"])))
            truth_inst = obj.astype(np.dtype(inst_l["dtype"]))
        lists[split].append(stem)
        samples[stem] = SynthTruth(
            sample_id=stem,
            split=split,
            semantic=sem.astype(out_dtype),
            instance=truth_inst if has_inst else None,
            instance_classes=inst_classes if has_inst else {},
            image_shape=sem.shape,
            meta=dict(lay["meta"]),
        )
        if quirk:
            quirks.setdefault(quirk, []).append(str(sem_p))
    if lay["splits"]["list"]:
        for split, stems in lists.items():
            p = base / fill_template(lay["splits"]["list"], split, "")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("".join(f"{s}\n" for s in sorted(stems)), encoding="utf-8")
    return SynthResult(data["name"], root, samples, {}, quirks)


def _packed16(
    sem: np.ndarray,
    obj: np.ndarray,
    obj_classes: dict[int, int],
    values: list[dict[str, Any]],
    sem_l: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """A ``packed16`` label map (``class * k + i`` on every pixel) of a drawn scene.

    Objects get ``i`` = 0, 1, ... per class in order; the pixels of a class with instances
    that no object covers are one more object of that class (the encoding has no "no object"
    value for such a class); other classes get ``i`` = 0.

    Returns
    -------
    raw : ndarray, uint16
        The label map to write.
    instance : ndarray, uint16
        The instance map the reader returns (``raw + 1`` on instance pixels, 0 elsewhere).
    classes : dict
        Instance value -> class value.
    """
    k = int(sem_l["divisor"])
    things = {v["value"] for v in values if v["instances"] and v["role"] == "class"}
    if (int(sem.max(initial=0)) + 1) * k > 65536:
        raise ValueError("class * divisor does not fit uint16")
    raw = sem * k
    per_class: dict[int, int] = {}
    for j, cls in obj_classes.items():
        local = per_class.get(cls, 0)
        per_class[cls] = local + 1
        raw[obj == j] = cls * k + local
    for cls in sorted(things):
        rest = (sem == cls) & (obj == 0)
        if rest.any():
            local = per_class.get(cls, 0)
            per_class[cls] = local + 1
            raw[rest] = cls * k + local
    if max(per_class.values(), default=0) > k:
        raise ValueError(f"more than {k} objects of one class do not fit class * {k} + i")
    is_thing = np.isin(sem, sorted(things))
    inst = np.where(is_thing, raw + 1, 0).astype(np.uint16)
    classes = {int(v): int(v - 1) // k for v in np.unique(inst) if v != 0}
    return raw.astype(np.uint16), inst, classes
