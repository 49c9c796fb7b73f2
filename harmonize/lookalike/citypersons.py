"""CityPersons look-alike: a Cityscapes look-alike plus ``gtBboxCityPersons`` box files.

The format and its reader: :mod:`harmonize.datasets.citypersons`. The Cityscapes part is written by
the Cityscapes generator (:func:`harmonize.lookalike.cityscapes.write_lookalike`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets.base import SynthResult
from harmonize.datasets.citypersons import BOX_FOLDER, BOX_LABELS, CityPersonsReader
from harmonize.datasets.cityscapes import draw_plan
from harmonize.lookalike.cityscapes import SynthFrame, write_lookalike
from harmonize.types import BOX_DTYPE

__all__ = ["synthesize"]


def _extent(mask: np.ndarray) -> list[int]:
    """``[x, y, w, h]`` of the pixels of ``mask`` (inclusive extent, in pixels)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]


def _alone(points: list, h: int, w: int) -> np.ndarray:
    """Mask of one polygon drawn alone (its full, unoccluded extent)."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (w, h), 0)
    ImageDraw.Draw(canvas).polygon(points, fill=1)
    return np.asarray(canvas) > 0


def _frame_boxes(
    frame: SynthFrame, rng: np.random.Generator, edge_cases: bool
) -> tuple[list[dict[str, Any]], np.ndarray]:
    h, w = frame.instance_ids.shape
    doc = {"imgHeight": h, "imgWidth": w, "objects": frame.objects}
    objs: list[dict[str, Any]] = []
    for _, points, value in draw_plan(doc, frame.json_path):
        cls = value // 1000 if value >= 1000 else value
        if cls not in (24, 25):
            continue
        own = _alone(points, h, w)
        visible = own & (frame.instance_ids == value)
        if not visible.any():  # fully occluded: no box, as boxes come from the masks
            continue
        vis = _extent(visible)
        if value < 1000:  # a persongroup polygon
            label, iid, full = "person group", 0, vis
        elif cls == 25:
            label, iid, full = "rider", value, _extent(own)
        else:
            occluded = bool((own & ~visible).any())
            choices = ["pedestrian", "pedestrian", "sitting person", "person (other)"]
            label = "pedestrian" if occluded else str(rng.choice(choices))
            iid = value
            # full-body box for pedestrians and riders; the visible box otherwise (§1.8)
            full = _extent(own) if label == "pedestrian" else vis
        objs.append({"bbox": full, "bboxVis": vis, "instanceId": int(iid), "label": label})
    if edge_cases:
        # an ignore region (people on a poster, a reflection...): full box = visible box
        region = [int(w // 10), 2, 4, max(3, h // 10)]
        objs.append({"bbox": region, "bboxVis": region, "instanceId": 0, "label": "ignore"})
    table = np.zeros(len(objs), dtype=BOX_DTYPE)
    for i, o in enumerate(objs):
        table[i] = (o["instanceId"], BOX_LABELS[o["label"]], *o["bbox"], *o["bboxVis"])
    return objs, table


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (64, 128),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a Cityscapes look-alike with CityPersons box files under ``out``.

    The Cityscapes part is :func:`harmonize.lookalike.cityscapes.write_lookalike` (splits cycle
    train / val / test); box files are written for the train and val frames only, so the test
    frames are Cityscapes-only. One box per visible person / rider instance: ``bboxVis`` is the
    extent of its visible pixels in the instanceIds map, ``bbox`` the extent of its polygon drawn
    alone (full body) for pedestrians and riders and the visible box for sitting / other persons;
    ``instanceId`` is the Cityscapes instance value.

    Parameters
    ----------
    out, n, seed, size
        As for the Cityscapes generator.
    edge_cases : bool
        Also the Cityscapes quirks, a ``person group`` box (from a ``persongroup`` polygon,
        instanceId 0) and an ``ignore`` region (label 0, instanceId 0).

    Returns
    -------
    SynthResult
        Truth includes ``boxes`` (:data:`~harmonize.types.BOX_DTYPE`) per sample.
    """
    import json

    base, frames = write_lookalike(out, n=n, seed=seed, size=size, edge_cases=edge_cases)
    rng = np.random.default_rng([seed, 8])
    samples = {}
    quirks: dict[str, list[str]] = dict(base.quirks)
    for frame in frames:
        if frame.split not in CityPersonsReader.split_names:
            continue
        objs, table = _frame_boxes(frame, rng, edge_cases)
        h, w = frame.instance_ids.shape
        path = Path(base.root) / BOX_FOLDER / frame.split / frame.city
        path = path / f"{frame.stem}_{BOX_FOLDER}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"imgHeight": h, "imgWidth": w, "objects": objs}
        path.write_text(json.dumps(doc, sort_keys=True, indent=4), encoding="utf-8")
        for label, quirk in (("ignore", "ignore_region"), ("person group", "person_group")):
            if any(o["label"] == label for o in objs):
                quirks.setdefault(quirk, []).append(str(path))
        truth = dataclasses.replace(base.samples[frame.stem], boxes=table)
        samples[frame.stem] = truth
    return SynthResult("citypersons", Path(base.root), samples, quirks=quirks)
