"""Cityscapes look-alike: ``leftImg8bit`` + ``gtFine`` / ``gtCoarse`` as cityscapesScripts writes them.

The format and its reader: :mod:`harmonize.datasets.cityscapes`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets._io import (
    write_png,
)
from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.cityscapes import (
    ANNOTATIONS,
    COLORS,
    SPLITS_BY_ANNOTATION,
    rasterize_polygons,
)
from harmonize.lookalike._draw import scene_image

__all__ = ["CITIES", "SynthFrame", "synthesize", "write_lookalike"]

#: Real city names per split (§1.1). The test cities and train_extra cities are [U] (from memory).
CITIES: dict[str, tuple[str, ...]] = {
    "train": ("aachen", "bochum", "bremen"),
    "val": ("frankfurt", "lindau", "munster"),
    "test": ("berlin", "bielefeld", "bonn"),
    "train_extra": ("augsburg", "bamberg", "dortmund"),
}

Obj = dict[str, Any]


@dataclass
class SynthFrame:
    """One generated frame: where it lives and the polygons it was drawn from."""

    split: str
    city: str
    stem: str
    annotations: str
    objects: list[Obj]
    #: instanceIds map (json2instanceImg encoding) rasterized from ``objects``.
    instance_ids: np.ndarray
    json_path: Path
    pngs_written: bool = True
    meta: dict[str, Any] = field(default_factory=dict)


def _poly(points: Sequence[tuple[float, float]], h: int, w: int) -> list[list[int]]:
    """Integer vertices clipped to the image."""
    return [
        [int(np.clip(round(float(x)), 0, w - 1)), int(np.clip(round(float(y)), 0, h - 1))]
        for x, y in points
    ]


def _rect(x0: float, y0: float, x1: float, y1: float, h: int, w: int) -> list[list[int]]:
    return _poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], h, w)


def _car(rng: np.random.Generator, h: int, w: int, horizon: int) -> list[list[int]]:
    yb = int(rng.integers(horizon + max(3, (h - horizon) // 4), h - max(3, h // 12)))
    ch = 3 + 0.35 * (yb - horizon)
    cw = 1.9 * ch
    x = float(rng.uniform(0, w - cw))
    return _poly(
        [
            (x, yb),
            (x + cw, yb),
            (x + cw, yb - 0.55 * ch),
            (x + 0.8 * cw, yb - ch),
            (x + 0.2 * cw, yb - ch),
            (x, yb - 0.55 * ch),
        ],
        h,
        w,
    )


def _person(
    rng: np.random.Generator, h: int, w: int, horizon: int, x: float | None = None
) -> list[list[int]]:
    yb = int(rng.integers(horizon + max(2, (h - horizon) // 5), h - max(3, h // 10)))
    ph = 4 + 0.6 * (yb - horizon)
    pw = max(2.0, 0.38 * ph)
    if x is None:
        x = float(rng.uniform(0, w - pw))
    return _poly(
        [
            (x + 0.35 * pw, yb - ph),
            (x + 0.65 * pw, yb - ph),
            (x + pw, yb - 0.7 * ph),
            (x + 0.8 * pw, yb),
            (x + 0.2 * pw, yb),
            (x, yb - 0.7 * ph),
        ],
        h,
        w,
    )


def _blob(
    rng: np.random.Generator, cx: float, cy: float, r: float, h: int, w: int
) -> list[list[int]]:
    t = np.linspace(0, 2 * np.pi, 9, endpoint=False)
    rr = r * rng.uniform(0.75, 1.15, size=t.size)
    return _poly(list(zip(cx + rr * np.cos(t), cy + rr * np.sin(t), strict=True)), h, w)


def _scene(rng: np.random.Generator, h: int, w: int) -> list[Obj]:
    """Polygons of a street scene in annotation (z-) order: stuff first, objects on top."""
    horizon = int(h * rng.uniform(0.35, 0.5))
    mid = int(horizon + 0.6 * (h - horizon))
    objs: list[Obj] = [{"label": "sky", "polygon": _rect(0, 0, w - 1, horizon, h, w)}]
    edges = np.sort(rng.choice(np.arange(4, w - 4), size=2, replace=False))
    for x0, x1 in zip([0, *edges.tolist()], [*edges.tolist(), w - 1], strict=True):
        top = int(rng.integers(1, max(2, horizon - 3)))
        objs.append({"label": "building", "polygon": _rect(x0, top, x1, horizon + 2, h, w)})
    r = float(rng.uniform(0.08, 0.16) * h)
    objs.append(
        {
            "label": "vegetation",
            "polygon": _blob(rng, rng.uniform(r, w - r), horizon - r / 2, r, h, w),
        }
    )
    objs.append(
        {
            "label": "road",
            "polygon": _poly(
                [
                    (0, h - 1),
                    (w - 1, h - 1),
                    (w - 1, mid),
                    (0.6 * w, horizon),
                    (0.4 * w, horizon),
                    (0, mid),
                ],
                h,
                w,
            ),
        }
    )
    objs.append(
        {
            "label": "sidewalk",
            "polygon": _poly([(w - 1, horizon), (0.62 * w, horizon), (w - 1, mid)], h, w),
        }
    )
    px = float(rng.uniform(0.7, 0.9) * w)
    objs.append({"label": "pole", "polygon": _rect(px, horizon - 0.2 * h, px + 1, mid - 2, h, w)})
    objs.append(
        {
            "label": "traffic sign",
            "polygon": _rect(px - 2, horizon - 0.28 * h, px + 3, horizon - 0.2 * h, h, w),
        }
    )
    for _ in range(int(rng.integers(1, 4))):
        objs.append({"label": "car", "polygon": _car(rng, h, w, horizon)})
    for _ in range(int(rng.integers(1, 3))):
        objs.append({"label": "person", "polygon": _person(rng, h, w, horizon)})
    if rng.random() < 0.5:  # a cyclist: bicycle, then its rider on top
        bike = _car(rng, h, w, horizon)
        xs = [p[0] for p in bike]
        objs.append({"label": "bicycle", "polygon": bike})
        objs.append({"label": "rider", "polygon": _person(rng, h, w, horizon, x=float(min(xs)))})
    e = max(2, h // 16)
    objs.append(
        {
            "label": "ego vehicle",
            "polygon": _poly(
                [
                    (0, h - 1),
                    (w - 1, h - 1),
                    (w - 1, h - 1 - e),
                    (0.7 * w, h - 3 - e),
                    (0.3 * w, h - 3 - e),
                    (0, h - 1 - e),
                ],
                h,
                w,
            ),
        }
    )
    return objs


def _border(h: int, w: int) -> list[Obj]:
    """Test-split annotation: only ego vehicle and rectification border (§1.1)."""
    return [
        {"label": "rectification border", "polygon": _rect(0, 0, 1, h - 1, h, w)},
        {"label": "rectification border", "polygon": _rect(w - 2, 0, w - 1, h - 1, h, w)},
    ]


def _coarse(rng: np.random.Generator, scene: list[Obj]) -> list[Obj]:
    """gtCoarse-style annotation: a few shrunken polygons of the scene, most pixels unlabeled."""
    keep = [o for o in scene if o["label"] in ("road", "building", "vegetation", "sky", "car")]
    out: list[Obj] = []
    for o in keep:
        if o["label"] == "building" and rng.random() < 0.5:
            continue
        pts = np.asarray(o["polygon"], float)
        c = pts.mean(axis=0)
        shrunk = c + (pts - c) * rng.uniform(0.45, 0.65)
        out.append(
            {"label": o["label"], "polygon": [[round(x), round(y)] for x, y in shrunk.tolist()]}
        )
    return out


def _edge_objects(objs: list[Obj], h: int, w: int, which: Sequence[str]) -> list[Obj]:
    """Insert the Cityscapes quirks named in ``which`` into a scene's object list."""
    objs = list(objs)
    horizon = min(p[1] for o in objs if o["label"] == "road" for p in o["polygon"])
    first_car = next(i for i, o in enumerate(objs) if o["label"] == "car")
    if "overdrawn_instance" in which:
        # car k=0 entirely inside car k=1: 26000 never reaches the instanceIds map (a gap in k)
        cy = int(horizon + 0.7 * (h - horizon))
        inner = _rect(0.1 * w, cy - 3, 0.1 * w + 5, cy, h, w)
        outer = _rect(0.1 * w - 3, cy - 6, 0.1 * w + 9, cy + 2, h, w)
        objs[first_car:first_car] = [
            {"label": "car", "polygon": inner},
            {"label": "car", "polygon": outer},
        ]
        first_car += 2
    if "cargroup" in which:
        objs.insert(
            first_car,
            {"label": "cargroup", "polygon": _rect(0.3 * w, horizon, 0.55 * w, horizon + 4, h, w)},
        )
        first_car += 1
    if "polegroup" in which:
        objs.insert(
            first_car,
            {
                "label": "polegroup",
                "polygon": _rect(0.05 * w, horizon - 8, 0.05 * w + 3, horizon + 3, h, w),
            },
        )
        first_car += 1
    if "persongroup" in which:
        objs.insert(
            first_car,
            {
                "label": "persongroup",
                "polygon": _rect(0.66 * w, horizon + 1, 0.66 * w + 8, horizon + 6, h, w),
            },
        )
        first_car += 1
    if "license_plate" in which:
        car_xy = np.asarray(objs[first_car]["polygon"])
        x0, x1 = car_xy[:, 0].min(), car_xy[:, 0].max()
        yb = car_xy[:, 1].max()
        cx = (x0 + x1) / 2
        plate = {"label": "license plate", "polygon": _rect(cx - 1, yb - 2, cx + 1, yb - 1, h, w)}
        objs.insert(first_car + 1, plate)
    if "occluded_person" in which:
        # a pedestrian whose legs are hidden by a car drawn after it (CityPersons: bbox != bboxVis)
        x0, top = 0.45 * w, horizon + 2
        person = _poly(
            [
                (x0 + 2, top),
                (x0 + 4, top),
                (x0 + 6, top + 5),
                (x0 + 5, top + 16),
                (x0 + 1, top + 16),
                (x0, top + 5),
            ],
            h,
            w,
        )
        car = _rect(x0 - 4, top + 9, x0 + 12, top + 18, h, w)
        ego = next(i for i, o in enumerate(objs) if o["label"] == "ego vehicle")
        objs[ego:ego] = [{"label": "person", "polygon": person}, {"label": "car", "polygon": car}]
    if "deleted_object" in which:
        objs.append(
            {
                "deleted": 1,
                "label": "sky",
                "polygon": _rect(0, h // 2, w - 1, h - 1, h, w),
            }
        )
    return objs


def _dump_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # as cityscapesScripts' Annotation.toJson: sorted keys, indent 4, no trailing newline
    path.write_text(json.dumps(doc, sort_keys=True, indent=4), encoding="utf-8")


def _write_frame(
    root: Path,
    ann: str,
    split: str,
    city: str,
    stem: str,
    objects: list[Obj],
    h: int,
    w: int,
    *,
    pngs: bool = True,
) -> SynthFrame:
    folder = root / ann / split / city
    json_path = folder / f"{stem}_{ann}_polygons.json"
    doc = {"imgHeight": h, "imgWidth": w, "objects": objects}
    _dump_json(json_path, doc)
    lab, inst = rasterize_polygons(doc, json_path)
    if pngs:
        write_png(folder / f"{stem}_{ann}_labelIds.png", lab)
        write_png(folder / f"{stem}_{ann}_instanceIds.png", inst)
        rgba = np.concatenate([COLORS[lab], np.full((h, w, 1), 255, np.uint8)], axis=2)
        write_png(folder / f"{stem}_{ann}_color.png", rgba)
    return SynthFrame(split, city, stem, ann, objects, inst, json_path, pngs)


def _truth(frame: SynthFrame, h: int, w: int) -> SynthTruth:
    inst = frame.instance_ids.astype(np.int64)
    semantic = np.where(inst < 1000, inst, inst // 1000).astype(np.uint8)
    instance = np.where(inst >= 1000, inst, 0)
    ids = np.unique(instance)
    return SynthTruth(
        sample_id=frame.stem,
        split=frame.split,
        semantic=semantic,
        instance=instance,
        instance_classes={int(i): int(i) // 1000 for i in ids if i > 0},
        image_shape=(h, w),
        meta={"city": frame.city},
    )


def write_lookalike(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (64, 128),
    edge_cases: bool = False,
    annotations: str = "gtFine",
) -> tuple[SynthResult, list[SynthFrame]]:
    """Write a Cityscapes look-alike and return it with the frames drawn (used by CityPersons).

    See :func:`synthesize` for the parameters.
    """
    if annotations not in ANNOTATIONS:
        raise ValueError(f"annotations must be one of {list(ANNOTATIONS)}, not {annotations!r}")
    h, w = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if h < 32 or w < 32:
        raise ValueError(f"size must be at least 32x32 (H x W), got {h}x{w}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    splits = SPLITS_BY_ANNOTATION[annotations]
    quirk_at = {
        "cargroup": 0,
        "polegroup": 0,
        "persongroup": 0,
        "license_plate": 0,
        "deleted_object": 0,
        "occluded_person": 0,
        "overdrawn_instance": min(1, n - 1),
        "polygons_only": min(1, n - 1),
    }
    # quirks go on annotated (non-test) frames: frames 0 and 1 are train and val
    frames: list[SynthFrame] = []
    quirks: dict[str, list[str]] = {}
    coarse_extra: list[tuple[str, str, str, list[Obj]]] = []
    for i in range(n):
        split = splits[i % len(splits)]
        city = CITIES[split][(i // len(splits)) % len(CITIES[split])]
        stem = f"{city}_{i:06d}_000019"
        scene = _scene(rng, h, w)
        here = [q for q, at in quirk_at.items() if at == i] if edge_cases else []
        if split == "test":
            objects = _border(h, w)
        elif annotations == "gtCoarse":
            objects = _coarse(rng, scene)
            here = [q for q in here if q in ("cargroup", "deleted_object", "polygons_only")]
            if "cargroup" in here:
                objects.append({"label": "cargroup", "polygon": _rect(2, h - 8, 12, h - 3, h, w)})
            if "deleted_object" in here:
                objects.append(
                    {"deleted": 1, "label": "sky", "polygon": _rect(0, 0, w - 1, h - 1, h, w)}
                )
        else:
            objects = _edge_objects(scene, h, w, here)
            if edge_cases and split in ("train", "val"):
                coarse_extra.append((split, city, stem, _coarse(rng, scene)))
        # the image shows the whole scene (with the fine polygons where there are some),
        # whatever the annotation covers
        shown = objects if annotations == "gtFine" and split != "test" else scene
        scene_lab, _ = rasterize_polygons(
            {"imgHeight": h, "imgWidth": w, "objects": shown}, "<scene>"
        )
        rgb = scene_image(rng, scene_lab, COLORS)
        write_png(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", rgb)
        pngs = "polygons_only" not in here
        frame = _write_frame(root, annotations, split, city, stem, objects, h, w, pngs=pngs)
        frame.meta["quirks"] = here
        frames.append(frame)
        for q in here:
            quirks.setdefault(q, []).append(str(frame.json_path))
    if edge_cases and annotations == "gtFine":
        # the coarse annotations that ship next to gtFine: train/val frames plus train_extra
        split, city = "train_extra", CITIES["train_extra"][0]
        stem = f"{city}_{n:06d}_000019"
        scene = _scene(rng, h, w)
        scene_lab, _ = rasterize_polygons(
            {"imgHeight": h, "imgWidth": w, "objects": scene}, "<scene>"
        )
        write_png(
            root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png",
            scene_image(rng, scene_lab, COLORS),
        )
        coarse_extra.append((split, city, stem, _coarse(rng, scene)))
        for split, city, stem, objs in coarse_extra:
            f = _write_frame(root, "gtCoarse", split, city, stem, objs, h, w)
            quirks.setdefault("gtcoarse_mostly_unlabeled", []).append(str(f.json_path))
    samples = {f.stem: _truth(f, h, w) for f in frames}
    options = {} if annotations == "gtFine" else {"annotations": annotations}
    result = SynthResult("cityscapes", root, samples, reader_options=options, quirks=quirks)
    return result, frames


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (64, 128),
    edge_cases: bool = False,
    annotations: str = "gtFine",
) -> SynthResult:
    """Write a miniature Cityscapes look-alike under ``out``.

    Frames are street scenes drawn as polygons of real classes (sky, buildings, vegetation, road,
    sidewalk, pole, traffic sign, cars, persons, cyclists, ego vehicle), written as
    ``_polygons.json`` (only ``label`` and ``polygon`` keys, integer vertices, sorted keys, indent
    4) plus the labelIds / instanceIds / color PNGs rasterized from those same polygons, and a
    ``leftImg8bit`` RGB image. Splits cycle train / val / test (gtFine) or train / val /
    train_extra (gtCoarse) over real city names; test frames carry only the ego-vehicle and
    rectification-border annotation, as the released test split does.

    Parameters
    ----------
    out : path-like
        Dataset root to create.
    n : int
        Number of frames.
    seed : int
        Random seed; the output is byte-identical for a seed.
    size : (int, int)
        ``(H, W)`` in pixels (at least 32 x 32).
    edge_cases : bool
        Add the format's quirks: a ``cargroup``, a ``polegroup`` and a ``persongroup`` polygon, a
        license plate (never drawn), a ``deleted`` object, a car fully overdrawn by a later car (a
        gap in ``k``), a person partly hidden by a later car, a frame whose PNGs are removed
        (polygons only) and, next to gtFine, a gtCoarse tree (train, val, train_extra) that leaves
        most pixels unlabeled.
    annotations : {"gtFine", "gtCoarse"}
        Which annotation type the samples are written (and read back) as.

    Returns
    -------
    SynthResult
    """
    return write_lookalike(
        out, n=n, seed=seed, size=size, edge_cases=edge_cases, annotations=annotations
    )[0]
